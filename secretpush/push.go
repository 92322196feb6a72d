// Package secretpush runs a push, the way back from CI to Secret Manager:
// connector tests that refresh credentials (OAuth tokens) leave updated
// configs in <secrets folder>/updated_configurations/<file stem>|<number>.json;
// a push takes the newest one per original file, finds the one secret that
// serves that (connector, file) exactly as a sync would (labels.PlanFor),
// and, when its content differs as JSON from the secret's current enabled
// version, adds it as a new version and disables the version it replaced.
//
// It owns the safety rules (only regular files named by the convention, read
// through no link, valid JSON objects within 64 KiB; never a new secret; never
// two different values for one secret in one run), the per-secret write
// limits, masking and error aggregation: one failing file never stops the
// others. It never logs, formats or returns payload bytes, never writes a
// file, and deletes one only when asked to (Options.Clean).
package secretpush

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/labels"
	"github.com/airbytehq/ci-secrets/writer"
)

// DefaultConcurrency is the number of secrets pushed at once: pushes are few
// and each costs three requests, two of them against the project's 600 writes
// per minute shared by every CI job; MaxConcurrency bounds what a flag may ask.
const (
	DefaultConcurrency = 4
	MaxConcurrency     = 32
)

// criticalTimeout bounds an add and the disable that goes with it, which run
// to completion even when the run is interrupted: stopping between them would
// leave two enabled versions behind a message that says nothing happened.
const criticalTimeout = 2 * time.Minute

// Errors callers may branch on with errors.Is.
var (
	ErrNotJSON    = errors.New("not a valid JSON object")
	ErrTooLarge   = errors.New("larger than GSM's 64 KiB payload limit")
	ErrSymlink    = errors.New("ci-secrets refuses to read through links")
	ErrNotRegular = errors.New("ci-secrets reads only regular files")
	ErrNoSecret   = errors.New("no secret serves this file")
	ErrConflict   = errors.New("conflicting updates")
)

// Store is the part of *gsm.Client a push uses.
type Store interface {
	// ListSecrets lists the project's secrets once (metadata only).
	ListSecrets(ctx context.Context) ([]gsm.Secret, error)
	// Access reads a secret's newest enabled version.
	Access(ctx context.Context, secretID string) (*gsm.Payload, error)
	// AddVersion adds data as the newest version and returns its number; it
	// never blindly repeats an add whose outcome is unknown.
	AddVersion(ctx context.Context, secretID string, data []byte) (string, error)
	// DisableVersion disables one version.
	DisableVersion(ctx context.Context, secretID, version string) error
	// ListVersions lists a secret's versions (metadata only), newest
	// first, filtered (e.g. "state:ENABLED"), at most max of them: one read
	// request when max is small.
	ListVersions(ctx context.Context, secretID, filter string, max int) ([]gsm.Version, error)
}

// Options is one push request.
type Options struct {
	Connectors []string // normalised connector names
	// All pushes every connector whose secrets folder has an
	// updated_configurations folder (under Layout.Root).
	All bool
	// DryRun reads and compares but writes nothing: it says which secrets
	// would get a new version and which version that would replace.
	DryRun bool
	// Clean removes the updated configurations of each (connector, file)
	// that ended pushed or unchanged: the newest and the ones it superseded.
	Clean       bool
	Concurrency int
	// Mask receives every payload read (file or secret version) before
	// anything could print it; nil disables masking.
	Mask func(payload []byte) error
	// Project and Location only word the gcloud command in the message of a
	// disable that failed.
	Project, Location string
	// Progress, when set, is told how many of the secrets to push are done:
	// once with done 0, then after each secret. Calls may come from several
	// goroutines.
	Progress func(done, total int)
}

// File is an updated configuration and the (connector, file) it updates.
type File struct {
	Connector string `json:"connector"`
	File      string `json:"file"` // the original file, e.g. config.json
	Path      string `json:"path"` // the updated configuration read
}

// Push is one secret pushed, unchanged, or (dry run) that would be pushed.
type Push struct {
	Secret string `json:"secret"`
	Files  []File `json:"files"`
	// Version is the enabled version compared against: the one replaced, or
	// the one that already holds the content.
	Version         string `json:"version"`
	AddedVersion    string `json:"added_version,omitempty"`
	DisabledVersion string `json:"disabled_version,omitempty"`
	// AlsoEnabledVersion (unchanged secrets only) is the version just
	// before Version when it is still enabled, as an earlier push that
	// added Version but could not disable its predecessor leaves it; push
	// never disables it on that guess, Warning says how to.
	AlsoEnabledVersion string `json:"also_enabled_version,omitempty"`
	// AlsoDisabledVersions (pushed secrets only) are enabled versions
	// older than the one added, other than the one replaced, that push
	// disabled too: what a concurrent push of the same secret leaves.
	AlsoDisabledVersions []string `json:"also_disabled_versions,omitempty"`
	// NewerVersion (pushed secrets only) is an enabled version newer than
	// the one added: another writer's, which serves the secret now.
	NewerVersion string `json:"newer_version,omitempty"`
	Warning      string `json:"warning,omitempty"`
}

// Superseded is an older updated configuration, not used and left in place
// (removed with Clean when its newest sibling succeeds).
type Superseded struct {
	Connector string `json:"connector"`
	File      string `json:"file"`
	Path      string `json:"path"`
	By        string `json:"by"` // the newest, which was used instead
}

// Failure is one file, secret or folder that could not be pushed.
type Failure struct {
	Secret    string `json:"secret,omitempty"`
	Connector string `json:"connector,omitempty"`
	Path      string `json:"path,omitempty"`
	// AddedVersion and StillEnabledVersion are set when the new version was
	// added but the old one could not be disabled.
	AddedVersion        string `json:"added_version,omitempty"`
	StillEnabledVersion string `json:"still_enabled_version,omitempty"`
	Err                 error  `json:"-"`
}

// MarshalJSON renders the error as text; errors never hold payload bytes.
func (f Failure) MarshalJSON() ([]byte, error) {
	type plain Failure
	return json.Marshal(struct {
		plain
		Error string `json:"error"`
	}{plain(f), f.Err.Error()})
}

// Result is what a push did.
type Result struct {
	DryRun    bool   `json:"dry_run"`
	Pushed    []Push `json:"pushed"`
	Unchanged []Push `json:"unchanged"`
	// Planned is what a dry run would push.
	Planned    []Push       `json:"planned,omitempty"`
	Failed     []Failure    `json:"failed"`
	Superseded []Superseded `json:"superseded"`
	// Removed are the files Clean removed (a dry run: would remove).
	Removed []string `json:"removed,omitempty"`
	// NoUpdates are connectors asked for that have no updated configuration.
	NoUpdates []string `json:"no_updates"`
}

// OK reports whether everything asked for was pushed or already up to date.
func (r *Result) OK() bool { return len(r.Failed) == 0 }

// DisableError is a push that added the new version but could not disable
// the one it replaced: both are enabled, the new one serves.
type DisableError struct {
	Secret       string
	Added        string // the version added
	StillEnabled string // the version that should have been disabled
	Command      string // the gcloud command that finishes the job
	Err          error
}

func (e *DisableError) Error() string {
	if errors.Is(e.Err, gsm.ErrOutcomeUnknown) {
		return fmt.Sprintf("%s: version %s was added and serves the new content, but whether version %s was disabled is unknown: look, and if it is still enabled disable it with `%s` (%v)",
			e.Secret, e.Added, e.StillEnabled, e.Command, e.Err)
	}
	return fmt.Sprintf("%s: version %s was added and serves the new content, but version %s is still enabled: disable it with `%s` (%v)",
		e.Secret, e.Added, e.StillEnabled, e.Command, e.Err)
}

func (e *DisableError) Unwrap() error { return e.Err }

// group is one secret and the updated configurations that all resolve to it
// (several when a multi-connector secret is updated by several connectors).
type group struct {
	secret  string
	members []*pending
}

func (g *group) files() []File {
	out := make([]File, len(g.members))
	for i, m := range g.members {
		out[i] = m.file()
	}
	return out
}

func (g *group) fail(err error) []Failure {
	out := make([]Failure, len(g.members))
	for i, m := range g.members {
		out[i] = Failure{Secret: g.secret, Connector: m.Connector, Path: m.path(), Err: err}
	}
	return out
}

// outcome is what happened to one group.
type outcome struct {
	pushed, unchanged, planned *Push
	failed                     []Failure
}

// Run pushes as opts asks. It returns an error only when the run as a whole
// could not proceed (the secret listing failed, the context was cancelled);
// per-file and per-secret problems are in Result.Failed. On cancellation the
// Result holds what was done so far: every secret is either untouched or has
// its new version added and the old one disabled (or a failure saying so).
func Run(ctx context.Context, store Store, layout writer.Layout, opts Options) (*Result, error) {
	log := zerolog.Ctx(ctx)
	res := &Result{DryRun: opts.DryRun, Pushed: []Push{}, Unchanged: []Push{}, Failed: []Failure{}, Superseded: []Superseded{}, NoUpdates: []string{}}
	conns := opts.Connectors
	if opts.All {
		var err error
		if conns, err = discover(ctx, layout); err != nil {
			return nil, err
		}
	}
	sc := scan(ctx, layout, conns, opts.Mask)
	defer sc.close()
	res.Failed = append(res.Failed, sc.failed...)
	res.Superseded = append(res.Superseded, sc.superseded...)
	res.NoUpdates = append(res.NoUpdates, sc.noUpdates...)
	for _, c := range sc.noUpdates {
		log.Debug().Str("connector", c).Msg("no " + labels.UpdatedDir + " folder: nothing to push")
	}

	ready := sc.pending
	if len(ready) == 0 || ctx.Err() != nil {
		sortResult(res)
		return res, ctx.Err()
	}

	secrets, err := store.ListSecrets(ctx)
	if err != nil {
		return nil, err
	}
	groups, failed := resolve(secrets, ready)
	res.Failed = append(res.Failed, failed...)

	r := &runner{store: store, opts: opts, limits: newLimiter()}
	done := r.pushAll(ctx, groups)
	for i, o := range done {
		switch {
		case o.pushed != nil:
			res.Pushed = append(res.Pushed, *o.pushed)
		case o.unchanged != nil:
			res.Unchanged = append(res.Unchanged, *o.unchanged)
		case o.planned != nil:
			res.Planned = append(res.Planned, *o.planned)
		}
		res.Failed = append(res.Failed, o.failed...)
		if opts.Clean && len(o.failed) == 0 && (o.pushed != nil || o.unchanged != nil || o.planned != nil) {
			removed, errs := clean(groups[i], opts.DryRun)
			res.Removed = append(res.Removed, removed...)
			for _, err := range errs {
				res.Failed = append(res.Failed, Failure{Secret: groups[i].secret, Err: fmt.Errorf("--clean: %w", err)})
			}
		}
	}
	sortResult(res)
	return res, ctx.Err()
}

// resolve maps every pending file to the secret serving its (connector,
// file), exactly as sync resolves them, and groups files by secret. Files no
// secret serves, files claimed by several secrets, and differing files that
// meet at one multi-connector secret fail.
func resolve(secrets []gsm.Secret, pend []*pending) ([]*group, []Failure) {
	entries := make([]labels.Entry, 0, len(secrets))
	for _, s := range secrets {
		if e, ok := labels.Classify(s.ID, s.Labels); ok {
			entries = append(entries, e)
		}
	}
	var conns []string
	seen := map[string]bool{}
	for _, p := range pend {
		if !seen[p.Connector] {
			seen[p.Connector] = true
			conns = append(conns, p.Connector)
		}
	}
	plan := labels.PlanFor(entries, conns, false)
	serving := make(map[labels.Target]string, len(plan.Writes))
	for _, w := range plan.Writes {
		serving[w.Target] = w.Secret
	}
	conflicts := make(map[labels.Target]labels.Conflict, len(plan.Conflicts))
	for _, c := range plan.Conflicts {
		conflicts[c.Target] = c
	}

	var failed []Failure
	bySecret := map[string]*group{}
	for _, p := range pend {
		if c, ok := conflicts[p.Target]; ok {
			failed = append(failed, Failure{Connector: p.Connector, Path: p.path(),
				Err: fmt.Errorf("%w: %w", ErrConflict, c)})
			continue
		}
		secret, ok := serving[p.Target]
		if !ok {
			failed = append(failed, Failure{Connector: p.Connector, Path: p.path(), Err: noSecretError(p, plan.Invalid)})
			continue
		}
		g := bySecret[secret]
		if g == nil {
			g = &group{secret: secret}
			bySecret[secret] = g
		}
		g.members = append(g.members, p)
	}

	names := make([]string, 0, len(bySecret))
	for s := range bySecret {
		names = append(names, s)
	}
	sort.Strings(names)
	groups := make([]*group, 0, len(names))
	for _, s := range names {
		g := bySecret[s]
		sort.Slice(g.members, func(i, j int) bool { return g.members[i].Connector < g.members[j].Connector })
		if err := divergence(g); err != nil {
			failed = append(failed, g.fail(err)...)
			continue
		}
		groups = append(groups, g)
	}
	return groups, failed
}

// divergence refuses a multi-connector secret updated by several connectors
// with different content in one run: pushing either would lose the other.
func divergence(g *group) error {
	for _, m := range g.members[1:] {
		if !JSONEqual(g.members[0].data, m.data) {
			paths := make([]string, len(g.members))
			for i, m := range g.members {
				paths[i] = m.Target.String() + " (" + m.path() + ")"
			}
			return fmt.Errorf("%w: %s serves several connectors and their updates differ: %s; nothing was pushed to it: remove the stale update and push again",
				ErrConflict, g.secret, strings.Join(paths, ", "))
		}
	}
	return nil
}

func noSecretError(p *pending, invalid []labels.Entry) error {
	want := "connector=" + p.Connector + " (or a connector label listing it)"
	if stem := strings.TrimSuffix(p.File, labels.FileExt); stem == labels.DefaultStem {
		want += " and no filename label"
	} else {
		want += " and filename=" + stem
	}
	msg := fmt.Sprintf("%v: no SECRET_..._CREDS secret is labelled %s; push never creates a secret: create it first (see ci-secrets migrate), then push again",
		ErrNoSecret, want)
	for _, e := range invalid {
		for _, c := range strings.Split(e.Labels[labels.ConnectorKey], "_") {
			if c == p.Connector {
				msg += fmt.Sprintf("; %s mentions %s but its labels cannot be used: %v", e.Secret, p.Connector, e.Problem)
				break
			}
		}
	}
	return &wrapped{msg: msg, err: ErrNoSecret}
}

// wrapped is an error with a composed message and a sentinel to branch on.
type wrapped struct {
	msg string
	err error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.err }

// runner pushes groups with bounded concurrency.
type runner struct {
	store  Store
	opts   Options
	limits *limiter
}

// pushAll returns one outcome per group, in the groups' order; groups not
// started because the context was cancelled have an empty outcome.
func (r *runner) pushAll(ctx context.Context, groups []*group) []outcome {
	out := make([]outcome, len(groups))
	n := r.opts.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	n = min(n, MaxConcurrency, len(groups))
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	finished := 0
	if r.opts.Progress != nil {
		r.opts.Progress(0, len(groups))
	}
	for range n {
		wg.Go(func() {
			for i := range work {
				out[i] = r.pushOne(ctx, groups[i])
				if r.opts.Progress != nil {
					mu.Lock()
					finished++
					d := finished
					mu.Unlock()
					r.opts.Progress(d, len(groups))
				}
			}
		})
	}
feed:
	for i := range groups {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	return out
}

// pushOne compares one secret's current enabled version with the update and,
// when they differ, adds the update and disables the version it replaced.
func (r *runner) pushOne(ctx context.Context, g *group) outcome {
	log := zerolog.Ctx(ctx).With().Str("secret", g.secret).Logger()
	if ctx.Err() != nil {
		return outcome{}
	}
	data := g.members[0].data
	cur, err := r.store.Access(ctx, g.secret)
	if err != nil {
		if ctx.Err() != nil {
			return outcome{}
		}
		if errors.Is(err, gsm.ErrNoEnabledVersion) {
			err = fmt.Errorf("%w; push replaces an enabled version and never revives a secret whose versions were all disabled: enable one (or add one with gcloud) if the secret is still in use", err)
		}
		return outcome{failed: g.fail(fmt.Errorf("nothing was pushed: %w", err))}
	}
	if r.opts.Mask != nil {
		if err := r.opts.Mask(cur.Data()); err != nil {
			return outcome{failed: g.fail(fmt.Errorf("%s: could not emit log masks, so nothing was pushed: %w", g.secret, err))}
		}
	}
	p := &Push{Secret: g.secret, Files: g.files(), Version: cur.Version}
	if JSONEqual(cur.Data(), data) {
		log.Debug().Str("version", cur.Version).Msg("update equals the current version as JSON: nothing written")
		r.checkPredecessor(ctx, p)
		return outcome{unchanged: p}
	}
	if r.opts.DryRun {
		return outcome{planned: p}
	}

	// The add and the disable belong together: once started they run to
	// completion (bounded), even if the run is interrupted meanwhile.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), criticalTimeout)
	defer cancel()
	if err := r.limits.add(wctx, g.secret); err != nil {
		return outcome{failed: g.fail(fmt.Errorf("nothing was pushed to %s: %w", g.secret, err))}
	}
	added, err := r.store.AddVersion(wctx, g.secret, data)
	if err != nil && gsm.MayHaveTakenEffect(err) {
		// Nothing proves the add had no effect (its answer may have been
		// lost after the server committed it): the version may be in place
		// all the same. Look before saying what the secret serves.
		serving, ok, cerr := r.landed(wctx, g.secret, data, cur.Version)
		switch {
		case cerr != nil:
			return outcome{failed: g.fail(fmt.Errorf("%w; whether the new version was added is unknown (checking failed: %w): before pushing again, look with `%s` and keep one enabled version holding the update",
				err, cerr, r.gcloud("list", g.secret, "")))}
		case ok:
			log.Debug().Str("version", serving).Msg("the add went through although its answer was lost")
			added, err = serving, nil
		default:
			return outcome{failed: g.fail(fmt.Errorf("%w; %s serves version %s, not the update", err, g.secret, serving))}
		}
	}
	if err != nil {
		return outcome{failed: g.fail(fmt.Errorf("%w; %s still serves version %s", err, g.secret, cur.Version))}
	}
	log.Debug().Str("version", added).Msg("added version")
	p.AddedVersion = added
	if added == cur.Version {
		// Only a server answering an add with an existing version gets here;
		// disabling it would disable the new content.
		return outcome{failed: g.fail(fmt.Errorf("%s: the server reported the add as version %s, which is the version it replaces; nothing was disabled: check the secret's versions", g.secret, added))}
	}
	return r.retire(wctx, g, p, cur.Version, added)
}

// checkPredecessor warns, on an unchanged secret, when the version just
// before the current one is still enabled: that is what an earlier push
// leaves when it added the current version and could not disable the one it
// replaced (its answer lost, its disable refused), and a re-run must not call
// that "unchanged" in silence. It costs one read request (listing the two
// newest enabled versions, metadata only) and only on this path; a version 1
// has no predecessor and costs nothing. Two enabled versions may also be
// deliberate (a rotation in progress), and nothing here can tell which the
// older one is, so push never disables it: it says how to.
func (r *runner) checkPredecessor(ctx context.Context, p *Push) {
	n, err := strconv.ParseUint(p.Version, 10, 64)
	if err != nil || n < 2 || ctx.Err() != nil {
		return
	}
	log := zerolog.Ctx(ctx).With().Str("secret", p.Secret).Logger()
	prev := strconv.FormatUint(n-1, 10)
	vs, err := r.store.ListVersions(ctx, p.Secret, "state:ENABLED", 2)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn().Err(err).Msgf("could not check whether version %s, the one before the current version %s, is still enabled; look with `%s`",
				prev, p.Version, r.gcloud("list", p.Secret, ""))
		}
		return
	}
	if len(vs) < 2 || vs[0].Number != p.Version || vs[1].Number != prev {
		return
	}
	p.AlsoEnabledVersion = prev
	p.Warning = fmt.Sprintf("%s: version %s already holds the update, but version %s before it is still enabled, as when an earlier push added version %s and could not disable the version it replaced; push does not disable it on a guess: unless version %s is still needed, disable it with `%s`",
		p.Secret, p.Version, prev, p.Version, prev, r.disableCommand(p.Secret, prev))
}

// landed reads the secret's current enabled version after an add whose
// outcome is unknown and returns its number, with ok when it is a new
// version holding data (the add went through). What it reads is masked like
// every other value.
func (r *runner) landed(ctx context.Context, secret string, data []byte, replaced string) (version string, ok bool, err error) {
	p, err := r.store.Access(ctx, secret)
	if err != nil {
		return "", false, err
	}
	if r.opts.Mask != nil {
		if err := r.opts.Mask(p.Data()); err != nil {
			return "", false, fmt.Errorf("could not emit log masks for what it read: %w", err)
		}
	}
	return p.Version, p.Version != replaced && JSONEqual(p.Data(), data), nil
}

func (r *runner) disableCommand(secret, version string) string {
	return r.gcloud("disable", secret, version)
}

// gcloud words the gcloud command that lists a secret's versions or disables
// one, for messages that ask a human to finish or check a push.
func (r *runner) gcloud(verb, secret, version string) string {
	cmd := "gcloud secrets versions " + verb
	if version != "" {
		cmd += " " + version
	}
	cmd += " --secret=" + secret
	if r.opts.Location != "" {
		cmd += " --location=" + r.opts.Location
	}
	if r.opts.Project != "" {
		cmd += " --project=" + r.opts.Project
	}
	return cmd
}

// clean removes (or, in a dry run, lists) the updated configurations of a
// group that succeeded: the newest of each member and those it superseded.
func clean(g *group, dryRun bool) (removed []string, errs []error) {
	for _, m := range g.members {
		cs := append([]candidate{m.winner}, m.superseded...)
		if dryRun {
			for _, c := range cs {
				if c.info.Mode().IsRegular() {
					removed = append(removed, filepath.Join(m.folder.path, c.name))
				}
			}
			continue
		}
		r, e := m.folder.remove(cs)
		removed = append(removed, r...)
		errs = append(errs, e...)
	}
	return removed, errs
}

func sortResult(r *Result) {
	for _, ps := range [][]Push{r.Pushed, r.Unchanged, r.Planned} {
		sort.Slice(ps, func(i, j int) bool { return ps[i].Secret < ps[j].Secret })
	}
	sort.Slice(r.Superseded, func(i, j int) bool { return r.Superseded[i].Path < r.Superseded[j].Path })
	sort.Strings(r.Removed)
	sort.Strings(r.NoUpdates)
	sort.SliceStable(r.Failed, func(i, j int) bool {
		a, b := r.Failed[i], r.Failed[j]
		if a.Connector != b.Connector {
			return a.Connector < b.Connector
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Secret < b.Secret
	})
}
