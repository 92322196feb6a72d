package doctor

import (
	"context"
	"path/filepath"
	"time"

	"github.com/airbytehq/ci-secrets/gsm"
)

// Store is the part of *gsm.Client a doctor run uses.
type Store interface {
	ListSecretsFiltered(ctx context.Context, filter string) ([]gsm.Secret, error)
	VersionLister
	Accessor
	Budget
}

// Options configure a run.
type Options struct {
	Scope Scope
	// Root is the monorepo root ("" is the current folder).
	Root string
	// Drift compares local files with Secret Manager (one access each).
	Drift bool
	// Concurrency bounds parallel requests (DefaultConcurrency when 0).
	Concurrency int
	// Pace spaces read requests (NewPacer(DefaultReadsPerMinute) when nil).
	Pace *Pacer
	// Project and Location word the gcloud commands of fixes.
	Project, Location string
	// TimeoutGiven is true when the user chose the run's bound (--timeout):
	// it is kept, and a bound too short for the paced reads is refused.
	// Otherwise the bound is extended by the pacing time.
	TimeoutGiven bool
	// Now reads the clock for what is left of the bound (time.Now when nil).
	Now func() time.Time
}

// Run gathers the inputs (one ListSecrets, the versions of the secrets in
// scope, a scan of the root, git's answers and, with Drift, one access per
// local file) and checks them. A store failure of the listing fails the
// run; a failure per secret becomes a problem.
func Run(ctx context.Context, store Store, opts Options) (Report, error) {
	root := opts.Root
	if root == "" {
		root = "."
	}
	conc := opts.Concurrency
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	pace := opts.Pace
	if pace == nil {
		pace = NewPacer(DefaultReadsPerMinute)
	}
	secrets, err := store.ListSecretsFiltered(ctx, ListFilter)
	if err != nil {
		return Report{}, err
	}
	inv := Inventory{Project: opts.Project, Location: opts.Location, Secrets: secrets}
	ids := VersionTargets(inv, opts.Scope)
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if err := fitBudget(ctx, store, len(ids), pace, opts.TimeoutGiven, now); err != nil {
		return Report{}, err
	}
	inv.Versions, inv.VersionErrors, err = FetchVersions(ctx, store, ids, conc, pace)
	if err != nil {
		return Report{}, err
	}
	repo, err := ScanRepo(ctx, root, opts.Scope)
	if err != nil {
		return Report{}, err
	}
	git, err := AskGit(ctx, filepath.Clean(root), repo.Probes())
	if err != nil {
		return Report{}, err
	}
	in := Input{Scope: opts.Scope, Inventory: inv, Repo: repo, Git: git}
	if opts.Drift {
		items := DriftItems(inv, repo, opts.Scope)
		in.Drift, err = ReadDrift(ctx, store, root, items, conc)
		if err != nil {
			return Report{}, err
		}
	}
	return Check(in), nil
}
