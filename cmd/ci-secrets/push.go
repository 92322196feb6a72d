package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/airbytehq/ci-secrets/ghactions"
	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/labels"
	"github.com/airbytehq/ci-secrets/secretpush"
	"github.com/airbytehq/ci-secrets/writer"
)

type pushOptions struct {
	all         bool
	root        string
	out         string
	dryRun      bool
	clean       bool
	output      string
	concurrency int
	mask        string
	maskFile    string
	maskExcept  []string
}

func newPushCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &pushOptions{}
	cmd := &cobra.Command{
		Use:   "push CONNECTOR... | --all",
		Short: "Write refreshed credentials left by connector tests back to Secret Manager",
		Long: `Connector tests that refresh credentials (OAuth tokens) leave the new config in
<secrets folder>/updated_configurations/<file stem>|<number>.json. For each
original file, push takes the newest of them (highest number, then newest
modification time), finds the one secret that serves that connector and file
by its labels (exactly as sync does), and compares it as JSON with the
secret's current enabled version: key order and white space do not count.
When they differ it adds the update as a new version, then disables the
version it replaced; when they are equal it writes nothing (and warns, with
the gcloud command, when the version just before is still enabled, as a push
whose disable failed leaves it; it never disables that version on a guess).
--root and --out must be existing folders.

Push never creates a secret. It refuses a file that is a symlink or not a
regular file, a name outside the <stem>|<number>.json convention, content
that is not a JSON object or is over 64 KiB, a file no secret serves or that
several secrets claim, and different updates of one multi-connector secret.
Older updates are reported as superseded and left in place; --clean removes
the updates of every file that ended pushed or unchanged. In GitHub Actions
every value read is masked in the log first.

Exit status: 0 everything pushed or already up to date; 1 anything failed
(the others are still pushed; the summary names each failure, and a version
added whose predecessor could not be disabled comes with the gcloud command
that finishes the job; an add whose answer was lost is checked against the
secret before anything is said or repeated); 2 bad flags or configuration
(including a --root or --out that is missing or not a folder);
130 interrupted (an add already started is finished, with its disable, first).`,
		Example: `  # In CI, after the connector's tests:
  ci-secrets push source-hubspot

  # Every connector that has an updated_configurations folder:
  ci-secrets push --all

  # See what would change, writing nothing (names and versions only):
  ci-secrets push source-hubspot --dry-run

  # A maintainer in a connector's folder, removing the pushed updates:
  cd airbyte-integrations/connectors/source-hubspot && ci-secrets push source-hubspot --out secrets --clean`,
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, g, s, args) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.all, "all", false, "push every connector whose secrets folder has an updated_configurations folder")
	f.StringVar(&o.root, "root", ".", "monorepo root the airbyte-integrations/ paths are relative to")
	f.StringVar(&o.out, "out", "", "the secrets folder of the one connector named (e.g. secrets), instead of its place under --root")
	f.BoolVar(&o.dryRun, "dry-run", false, "compare and show what would be pushed (names and versions, never values); write nothing")
	f.BoolVar(&o.clean, "clean", false, "remove the updated configurations of each file that ended pushed or unchanged")
	f.StringVarP(&o.output, "output", "o", "text", "summary format: text (or table) or json")
	f.IntVar(&o.concurrency, "concurrency", secretpush.DefaultConcurrency, fmt.Sprintf("secrets pushed at once (1-%d)", secretpush.MaxConcurrency))
	f.StringVar(&o.mask, "mask", "auto", "print ::add-mask:: for secret values: auto (when GITHUB_ACTIONS=true), always, never")
	f.StringVar(&o.maskFile, "mask-file", "", "append the ::add-mask:: lines to this file instead of stdout")
	addMaskExceptFlag(f, &o.maskExcept)
	return cmd
}

func (o *pushOptions) validate(args []string) ([]string, error) {
	conns, err := connectorArgs("push", o.all, true, args)
	if err != nil {
		return nil, err
	}
	out, err := parseOutput(o.output)
	if err != nil {
		return nil, err
	}
	o.output = out
	if o.concurrency < 1 || o.concurrency > secretpush.MaxConcurrency {
		return nil, usageErrorf("--concurrency %d is out of range: use 1 to %d", o.concurrency, secretpush.MaxConcurrency)
	}
	if o.out != "" && (o.all || len(args) != 1) {
		return nil, usageErrorf("--out is one connector's secrets folder: name exactly one connector")
	}
	// Push reads existing folders only: a --out or --root that is missing
	// or is not a folder would otherwise read as "nothing to push" and lose
	// the refreshed credentials of an `if: always()` step without a word.
	if err := checkFolderFlag("--root", o.root, "the monorepo root (the folder holding airbyte-integrations)", true); err != nil {
		return nil, err
	}
	if err := checkFolderFlag("--out", o.out, "the connector's existing secrets folder, e.g. --out secrets from the connector's folder", true); err != nil {
		return nil, err
	}
	return conns, nil
}

func (o *pushOptions) run(cmd *cobra.Command, g *globalOptions, s *streams, args []string) error {
	conns, err := o.validate(args)
	if err != nil {
		return err
	}
	maskOn, err := ghactions.Enabled(o.mask, s.getenv)
	if err != nil {
		return &usageError{err}
	}
	ctx := cmd.Context()
	if _, err := checkPlace(ctx, "push", writer.Layout{Root: o.root, Out: o.out}, conns, false); err != nil {
		return err
	}
	client, err := g.client(ctx, s)
	if err != nil {
		return err
	}
	defer client.Close()

	// Unlike a sync, a dry run reads values too (the updates and the
	// versions they are compared with), so it masks them as well.
	var masker *ghactions.Masker
	if maskOn {
		w, closeMask, err := maskWriter(s, o.maskFile)
		if err != nil {
			return err
		}
		defer closeMask()
		masker = ghactions.NewMasker(w)
	}
	policy, err := newMaskPolicy(o.maskExcept, s.getenv, masker, false)
	if err != nil {
		return err
	}
	mask := policy.hook()

	prog := newProgress(ctx, s, "secrets pushed", nil)
	res, runErr := secretpush.Run(ctx, client, writer.Layout{Root: o.root, Out: o.out}, secretpush.Options{
		Connectors: conns, All: o.all, DryRun: o.dryRun, Clean: o.clean,
		Concurrency: o.concurrency, Mask: mask,
		Project: client.Project(), Location: g.location, Progress: prog.update,
	})
	prog.finish()
	if res == nil {
		return runErr
	}
	sanitizeReport(res)
	stats := client.Stats()
	logPushSummary(zerolog.Ctx(ctx), res, stats)
	if err := printPushResult(s.stdout, o.output, res, stats, policy.exemptedPaths()); err != nil {
		return err
	}
	reportToActions(ctx, s, pushSummary(res, pushTotals(res, stats)), nil)
	if err := appendSummary(s.getenv, exemptionsMarkdown("push", policy.exemptedPaths())); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("the step summary was not written")
	}
	if runErr != nil {
		return runErr
	}
	if !res.OK() {
		names := make([]string, 0, len(res.Failed))
		for _, f := range res.Failed {
			names = append(names, pushFailureName(f))
		}
		names = dedupe(names)
		return &failedError{fmt.Errorf("%d failed: %s", len(names), strings.Join(names, ", "))}
	}
	return nil
}

func pushFailureName(f secretpush.Failure) string {
	switch {
	case f.Path != "":
		return f.Path
	case f.Secret != "":
		return f.Secret
	}
	return "connector " + f.Connector
}

func logPushSummary(log *zerolog.Logger, res *secretpush.Result, st gsm.Stats) {
	for _, p := range append(res.Pushed[:len(res.Pushed):len(res.Pushed)], res.Unchanged...) {
		if p.Warning != "" {
			log.Warn().Str("secret", p.Secret).Msg(p.Warning)
		}
	}
	// Each failure is printed once, in the summary on stdout (and as an
	// annotation under Actions), not also as a log line.
	log.Debug().Int("pushed", len(res.Pushed)).Int("unchanged", len(res.Unchanged)).Int("failed", len(res.Failed)).
		Int64("read_requests", st.ReadRequests).Int64("access_requests", st.AccessRequests).
		Int64("write_requests", st.WriteRequests).Int64("retries", st.Retries).Msg("push finished")
}

type pushReport struct {
	*secretpush.Result
	Cost gsm.Stats `json:"cost"`
	// MaskExempt are the JSON paths --mask-except-key left unmasked.
	MaskExempt []string `json:"mask_exempt,omitempty"`
}

func printPushResult(w io.Writer, output string, res *secretpush.Result, st gsm.Stats, exempt []string) error {
	if output == outputJSON {
		return writeJSON(w, pushReport{Result: res, Cost: st, MaskExempt: exempt})
	}
	var b strings.Builder
	for _, p := range res.Planned {
		fmt.Fprintf(&b, "would push %s, replacing version %s (from %s)\n", p.Secret, p.Version, pushPaths(p))
	}
	for _, p := range res.Pushed {
		fmt.Fprintf(&b, "pushed %s version %s, disabled version %s (from %s)\n", p.Secret, p.AddedVersion, p.DisabledVersion, pushPaths(p))
		if len(p.AlsoDisabledVersions) > 0 {
			fmt.Fprintf(&b, "also disabled %s version %s, enabled and older than version %s\n", p.Secret, strings.Join(p.AlsoDisabledVersions, ", "), p.AddedVersion)
		}
		if p.Warning != "" {
			fmt.Fprintf(&b, "WARNING %s\n", p.Warning)
		}
	}
	for _, p := range res.Unchanged {
		fmt.Fprintf(&b, "unchanged %s version %s: nothing written (from %s)\n", p.Secret, p.Version, pushPaths(p))
		if p.Warning != "" {
			fmt.Fprintf(&b, "WARNING %s\n", p.Warning)
		}
	}
	for _, sp := range res.Superseded {
		fmt.Fprintf(&b, "superseded %s (by %s)\n", sp.Path, sp.By)
	}
	removed := "removed"
	if res.DryRun {
		removed = "would remove"
	}
	for _, p := range res.Removed {
		fmt.Fprintf(&b, "%s %s\n", removed, p)
	}
	for _, c := range res.NoUpdates {
		fmt.Fprintf(&b, "nothing to push for %s (no %s folder)\n", c, labels.UpdatedDir)
	}
	for _, f := range res.Failed {
		fmt.Fprintf(&b, "FAILED %s: %s\n", pushFailureName(f), strings.ReplaceAll(f.Err.Error(), "\n", "; "))
	}
	if len(exempt) > 0 {
		fmt.Fprintf(&b, "not masked (--mask-except-key): %s\n", strings.Join(exempt, ", "))
	}
	b.WriteString(pushTotals(res, st) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// pushTotals is the summary's last line: counts and the run's cost.
func pushTotals(res *secretpush.Result, st gsm.Stats) string {
	verb, n := "pushed", len(res.Pushed)
	if res.DryRun {
		verb, n = "would push", len(res.Planned)
	}
	return fmt.Sprintf("%s %d %s, %d unchanged, %d failed; cost: %d read %s, %d access %s, %d write %s, %d %s",
		verb, n, plural(n, "secret", "secrets"), len(res.Unchanged), len(res.Failed),
		st.ReadRequests, plural(int(st.ReadRequests), "request", "requests"),
		st.AccessRequests, plural(int(st.AccessRequests), "request", "requests"),
		st.WriteRequests, plural(int(st.WriteRequests), "request", "requests"),
		st.Retries, plural(int(st.Retries), "retry", "retries"))
}

func pushPaths(p secretpush.Push) string {
	paths := make([]string, len(p.Files))
	for i, f := range p.Files {
		paths[i] = f.Path
	}
	return strings.Join(paths, ", ")
}
