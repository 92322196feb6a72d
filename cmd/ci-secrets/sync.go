package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/airbytehq/ci-secrets/ghactions"
	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/internal/suggest"
	"github.com/airbytehq/ci-secrets/labels"
	"github.com/airbytehq/ci-secrets/secretexec"
	"github.com/airbytehq/ci-secrets/secretsync"
	"github.com/airbytehq/ci-secrets/writer"
)

type syncOptions struct {
	all         bool
	root        string
	out         string
	dryRun      bool
	require     bool
	output      string
	concurrency int
	mask        string
	maskFile    string
	maskExcept  []string

	// skip, set by the run from the checkout, names the connectors --all
	// leaves out because their folder is not in the checkout.
	skip func(connector string) bool
}

func newSyncCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &syncOptions{}
	cmd := &cobra.Command{
		Use:   "sync CONNECTOR... | --all",
		Short: "Write the CI secrets of connectors into their secrets folders",
		Long: `Fetch the newest enabled version of every secret whose connector label names
a connector, verify its checksum, and write it whole to
airbyte-integrations/connectors/<connector>/secrets/<filename>.json (or under
bases/ when that connector folder exists there), mode 0600 in a 0700 folder
with a .gitignore. In GitHub Actions every value is masked in the log first,
and a step summary, one error annotation per failure and the step outputs
paths, count and failed are written.

Mistakes are named: a --root without airbyte-integrations/ and a named
connector without a folder in the checkout are warned about; --all skips
connectors that are not in the checkout (one warning names them); a --root
inside a connector's folder is refused (pass --out secrets there).

Exit status: 0 all written; 1 any secret failed (the others are still
written, the summary names each failure); 2 bad flags or configuration;
130 interrupted (no partial file left behind).`,
		Example: `  # In CI, from the monorepo root:
  ci-secrets sync source-s3 destination-s3

  # A maintainer in a connector's folder:
  cd airbyte-integrations/connectors/source-s3 && ci-secrets sync source-s3 --out secrets

  # See what would be written, reading no secret value:
  ci-secrets sync --all --dry-run`,
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, g, s, args) },
	}
	o.addFlags(cmd.Flags())
	return cmd
}

// addFlags registers sync's flags (exec takes them too).
func (o *syncOptions) addFlags(f *pflag.FlagSet) {
	f.BoolVar(&o.all, "all", false, "sync every connector that has secrets")
	f.StringVar(&o.root, "root", ".", "monorepo root the airbyte-integrations/ paths are relative to")
	f.StringVar(&o.out, "out", "", "write the files of one connector straight into this folder (e.g. secrets)")
	f.BoolVar(&o.dryRun, "dry-run", false, "show what would be written where; read no secret value, write nothing")
	f.BoolVar(&o.require, "require", false, "fail when a named connector has no secret (default: warn)")
	f.StringVarP(&o.output, "output", "o", "text", "summary format: text (or table) or json")
	f.IntVar(&o.concurrency, "concurrency", secretsync.DefaultConcurrency, fmt.Sprintf("parallel secret reads (1-%d)", secretsync.MaxConcurrency))
	f.StringVar(&o.mask, "mask", "auto", "print ::add-mask:: for secret values: auto (when GITHUB_ACTIONS=true), always, never")
	f.StringVar(&o.maskFile, "mask-file", "", "append the ::add-mask:: lines to this file instead of stdout")
	addMaskExceptFlag(f, &o.maskExcept)
}

func (o *syncOptions) validate(args []string) ([]string, error) {
	conns, err := connectorArgs("sync", o.all, true, args)
	if err != nil {
		return nil, err
	}
	out, err := parseOutput(o.output)
	if err != nil {
		return nil, err
	}
	o.output = out
	if o.concurrency < 1 || o.concurrency > secretsync.MaxConcurrency {
		return nil, usageErrorf("--concurrency %d is out of range: use 1 to %d", o.concurrency, secretsync.MaxConcurrency)
	}
	if o.out != "" && (o.all || len(args) != 1) {
		return nil, usageErrorf("--out writes one connector's files into one folder: name exactly one connector")
	}
	// A folder that does not exist yet is created; anything else in its
	// place is a mistake in the command line, not a per-secret failure.
	if err := checkFolderFlag("--root", o.root, "the monorepo root (the folder holding airbyte-integrations)", false); err != nil {
		return nil, err
	}
	if err := checkFolderFlag("--out", o.out, "the connector's secrets folder, e.g. --out secrets", false); err != nil {
		return nil, err
	}
	if o.out != "" {
		if err := writer.CheckOutFolder(o.out); err != nil {
			return nil, &usageError{err}
		}
	}
	return conns, nil
}

func (o *syncOptions) run(cmd *cobra.Command, g *globalOptions, s *streams, args []string) error {
	conns, err := o.validate(args)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	policy, closeMask, err := o.maskPolicy(cmd, s, false)
	if err != nil {
		return err
	}
	defer closeMask()
	layout := writer.Layout{Root: o.root, Out: o.out}
	if o.skip, err = checkPlace(ctx, "sync", layout, conns, o.all); err != nil {
		return err
	}
	client, err := g.client(ctx, s)
	if err != nil {
		return err
	}
	defer client.Close()
	if !o.dryRun {
		// A killed exec's files are removed (and what it moved aside put
		// back) before this sync writes over them.
		if _, err := secretexec.Recover(ctx, o.root); err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Msg("could not finish the clean-up of an earlier exec run; run `ci-secrets clean` to see why")
		}
	}
	prog := newProgress(ctx, s, "secrets read", nil)
	res, runErr := o.syncWith(ctx, client, conns, o.dryRun, policy.hook(), prog.update)
	prog.finish()
	if runErr != nil {
		return runErr
	}
	sanitizeReport(res)
	stats := client.Stats()
	logSummary(zerolog.Ctx(ctx), res, stats)
	if err := printSyncResult(s.stdout, o.output, res, stats, policy.exemptedPaths()); err != nil {
		return err
	}
	reportToActions(ctx, s, syncSummary(res, syncTotals(res, stats)), syncOutputs(res))
	if err := appendSummary(s.getenv, exemptionsMarkdown("sync", policy.exemptedPaths())); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("the step summary was not written")
	}
	if !res.OK() {
		return &failedError{errors.New(failedSummary(res))}
	}
	return nil
}

// maskPolicy builds the masking of this run: ::add-mask:: lines when
// --mask asks for them (not in a dry run, which reads no value), the
// --mask-except-key exemptions, and with collect the values kept for exec's
// redactor. The returned func closes --mask-file.
func (o *syncOptions) maskPolicy(cmd *cobra.Command, s *streams, collect bool) (*maskPolicy, func(), error) {
	maskOn, err := ghactions.Enabled(o.mask, s.getenv)
	if err != nil {
		return nil, nil, &usageError{err}
	}
	var m *ghactions.Masker
	closeMask := func() {}
	if maskOn && !o.dryRun {
		w, c, err := maskWriter(s, o.maskFile)
		if err != nil {
			return nil, nil, err
		}
		m, closeMask = ghactions.NewMasker(w), c
	}
	if o.maskFile != "" && !maskOn {
		zerolog.Ctx(cmd.Context()).Warn().Str("mask", o.mask).
			Msg("--mask-file is ignored because masking is off (--mask auto masks only under GITHUB_ACTIONS=true); pass --mask always to write it")
	}
	p, err := newMaskPolicy(o.maskExcept, s.getenv, m, collect)
	if err != nil {
		closeMask()
		return nil, nil, err
	}
	return p, closeMask, nil
}

// syncWith lists the project's CI secrets and syncs conns.
func (o *syncOptions) syncWith(ctx context.Context, client *gsm.Client, conns []string, dryRun bool, mask func([]byte) error, progress func(done, total int)) (*secretsync.Result, error) {
	entries, err := o.entries(ctx, client)
	if err != nil {
		return nil, err
	}
	return o.syncEntries(ctx, client, entries, conns, dryRun, mask, progress)
}

// entries lists the project's CI secrets, warning when there are none.
func (o *syncOptions) entries(ctx context.Context, client *gsm.Client) ([]labels.Entry, error) {
	entries, err := inventory(ctx, client)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		// What a wrong --project, or credentials that see nothing, look like.
		msg := fmt.Sprintf("project %s has no SECRET_..._CREDS secret that these credentials can list; check --project (or GCP_PROJECT_ID) and the credentials", client.Project())
		if o.all && o.require {
			return nil, &failedError{fmt.Errorf("%s (--require)", msg)}
		}
		zerolog.Ctx(ctx).Warn().Msg(msg)
	}
	return entries, nil
}

// syncEntries syncs conns from listed entries (exec plans with dryRun,
// then syncs for real, from one listing). progress may be nil.
func (o *syncOptions) syncEntries(ctx context.Context, client *gsm.Client, entries []labels.Entry, conns []string, dryRun bool, mask func([]byte) error, progress func(done, total int)) (*secretsync.Result, error) {
	layout := writer.Layout{Root: o.root, Out: o.out}
	res, err := secretsync.Run(ctx, client, layout, entries, secretsync.Options{
		Connectors: conns, All: o.all, DryRun: dryRun, Require: o.require,
		Concurrency: o.concurrency, Mask: mask, Progress: progress, Skip: o.skip,
	})
	if res != nil && !dryRun {
		logSkipped(ctx, layout, res.Skipped)
	}
	return res, err
}

// maskWriter opens --mask-file for appending (0600: it holds secret values),
// or returns stdout.
func maskWriter(s *streams, path string) (io.Writer, func(), error) {
	if path == "" {
		return s.stdout, func() {}, nil
	}
	f, err := openPrivate("--mask-file", path, true)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

func failureName(f secretsync.Failure) string {
	if f.Secret != "" {
		return f.Secret
	}
	return "connector " + f.Connector
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	out := xs[:0:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// logSummary logs the totals; each failure is printed once, in the summary
// on stdout (and as an annotation under Actions), not also as a log line.
func logSummary(log *zerolog.Logger, res *secretsync.Result, st gsm.Stats) {
	log.Debug().Int("written", len(res.Written)).Int("failed", len(res.Failed)).
		Int64("read_requests", st.ReadRequests).Int64("access_requests", st.AccessRequests).
		Int64("fallbacks", st.Fallbacks).Int64("retries", st.Retries).Msg("sync finished")
}

type syncReport struct {
	*secretsync.Result
	Cost gsm.Stats `json:"cost"`
	// MaskExempt are the JSON paths --mask-except-key left unmasked.
	MaskExempt []string `json:"mask_exempt,omitempty"`
}

func printSyncResult(w io.Writer, output string, res *secretsync.Result, st gsm.Stats, exempt []string) error {
	if output == outputJSON {
		return writeJSON(w, syncReport{Result: res, Cost: st, MaskExempt: exempt})
	}
	var b strings.Builder
	for _, f := range res.Planned {
		fmt.Fprintf(&b, "would write %s (%s)\n", f.Path, f.Secret)
	}
	for _, f := range res.Written {
		status := f.Status
		if status == "" {
			status = writer.Wrote
		}
		fmt.Fprintf(&b, "%s %s (%s version %s)\n", status, f.Path, f.Secret, f.Version)
	}
	for _, m := range res.Missing {
		fmt.Fprintf(&b, "no secret for connector %s%s\n", m, suggest.DidYouMean(m, res.Suggestions[m]))
	}
	for _, f := range res.Failed {
		fmt.Fprintf(&b, "FAILED %s: %s\n", failureName(f), strings.ReplaceAll(f.Err.Error(), "\n", "; "))
	}
	if len(exempt) > 0 {
		fmt.Fprintf(&b, "not masked (--mask-except-key): %s\n", strings.Join(exempt, ", "))
	}
	b.WriteString(syncTotals(res, st) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// syncTotals is the summary's last line: counts and the run's cost.
func syncTotals(res *secretsync.Result, st gsm.Stats) string {
	counts := map[writer.Status]int{}
	for _, f := range res.Written {
		status := f.Status
		if status == "" {
			status = writer.Wrote
		}
		counts[status]++
	}
	verb, n, also := "wrote", counts[writer.Wrote]+counts[writer.Replaced], ""
	if res.DryRun {
		verb, n = "would write", len(res.Planned)
	}
	// Files found already in place, or hand edits overwritten, are named
	// only when there are some, so the usual line stays as it always was.
	if c := counts[writer.Replaced]; c > 0 {
		also += fmt.Sprintf(" (%d replaced)", c)
	}
	if c := counts[writer.Unchanged]; c > 0 {
		also += fmt.Sprintf(", %d unchanged", c)
	}
	return fmt.Sprintf("%s %d %s%s, %d failed; cost: %d read %s, %d access %s, %d %s, %d %s",
		verb, n, plural(n, "file", "files"), also, len(res.Failed),
		st.ReadRequests, plural(int(st.ReadRequests), "request", "requests"),
		st.AccessRequests, plural(int(st.AccessRequests), "request", "requests"),
		st.Fallbacks, plural(int(st.Fallbacks), "fallback", "fallbacks"),
		st.Retries, plural(int(st.Retries), "retry", "retries"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
