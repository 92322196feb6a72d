package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/labels"
	"github.com/airbytehq/ci-secrets/migrate"
)

type migrateOptions struct {
	script         string
	workflows      string
	output         string
	failOnLeftover bool
	createMissing  bool
	rewrite        bool
	githubRepo     string
	dryRun         bool
}

func newMigrateCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &migrateOptions{}
	cmd := &cobra.Command{
		Use:   "migrate [--script PATH] [--workflows DIR] [--output table|json|markdown]",
		Short: "Audit and finish the move from the legacy ci_credentials.sh script to Secret Manager",
		Long: `Read the legacy credentials script (all three historical shapes: raw echo
writes, write_standard_creds helper calls, read_secrets registrations) with a
real shell parser and tell, for every registration (connector, file, GitHub
secret), whether a Secret Manager secret already serves it with an enabled
version: one ListSecrets request, then a version check (GetSecretVersion of
latest, ListSecretVersions only when that is not enabled) per serving secret,
no secret value read; the COST line counts the requests.

The report lists every registration (verbatim, templated or derived, served
or leftover), every variable (safe-to-delete when all its registrations are
served and nothing else reads its GitHub secret; else leftover, marked
"still referenced" when only other readers keep it), commented-out registrations,
duplicates, literal writes (a missing "$") and every statement that touches a
secret-like variable in a way the reader does not understand. With
--workflows (by default .github/workflows when the current directory has
it), env: entries map the script's variable names to GitHub secret names,
and every other reference to a secret in a workflow is listed, so "safe to
delete" means safe; without workflows the delete lines are headed "as far as
the script goes". A served registration that --rewrite cannot remove (inside
&&, sharing its line, the only statement of an if body) is reported as
needing a manual edit, and its variable stays leftover until it is done. When $GITHUB_STEP_SUMMARY is set, the report is
also appended to it as Markdown.

Finishing the move, each with --dry-run and each safe to run again:
  --create-missing  create a SECRET_<CONNECTOR>[_<FILE>]__CREDS secret, labelled
                    connector= and filename=, for each leftover verbatim
                    registration, from GITHUB_PROVIDED_SECRETS_JSON
                    (${{ toJson(secrets) }}); templated and derived values
                    are reported, not created; a provided value that is not
                    JSON, or whose file name cannot be a filename label
                    (my.config.json, ABC.json, notes.txt), fails the run
  --rewrite         replace the served registrations' lines with marker
                    comments, atomically, every other byte unchanged (dry run:
                    a diff); the markers keep the list of secrets to delete
                    the same on the next run
  --github-repo     check the secrets safe to delete against the repository's
                    Actions secrets (needs GITHUB_TOKEN; GITHUB_API_URL for
                    GitHub Enterprise): still there, already gone, unreferenced;
                    then only the secrets still there keep a delete line
The report always ends with the ready "gh secret delete" commands. After
--rewrite, with --workflows, it also lists the unused GitHub secrets: those the
workflows still pass to the script's step under env names it no longer reads,
which nothing else references (JSON: unused_github_secrets).

Exit status: 0 done; 1 --fail-on-leftover with leftover registrations, or an
action failed in full or in part (the report names each failure); 2 bad flags,
an unreadable or unparsable script or workflow, or missing configuration.`,
		Example: `  # Where does the migration stand?
  ci-secrets migrate --script tools/bin/ci_credentials.sh --workflows .github/workflows

  # A CI gate: fail while anything is leftover (Markdown goes to the step summary).
  ci-secrets migrate --fail-on-leftover

  # Try it against the local emulator with the bundled example:
  ci-secrets emulator --seed examples/migrate/seed.json -- \
    ci-secrets migrate --script examples/migrate/ci_credentials.sh --workflows examples/migrate/workflows

  # Finish the move: preview, then do it.
  GITHUB_PROVIDED_SECRETS_JSON='...' ci-secrets migrate --create-missing --rewrite --dry-run
  GITHUB_PROVIDED_SECRETS_JSON='...' ci-secrets migrate --create-missing --rewrite

  # Which GitHub secrets can go, checked against the repository:
  GITHUB_TOKEN=... ci-secrets migrate --workflows .github/workflows --github-repo airbytehq/airbyte`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, g, s) },
	}
	f := cmd.Flags()
	f.StringVar(&o.script, "script", "tools/bin/ci_credentials.sh", "the legacy credentials script")
	f.StringVar(&o.workflows, "workflows", "", "GitHub workflows folder: maps env names to secret names, finds other references (default .github/workflows when it exists; '' skips them)")
	f.StringVarP(&o.output, "output", "o", migrate.FormatTable, "report format: "+strings.Join(migrate.Formats, ", "))
	f.BoolVar(&o.failOnLeftover, "fail-on-leftover", false, "exit 1 while any registration is not served by Secret Manager")
	f.BoolVar(&o.createMissing, "create-missing", false, "create the missing secrets from GITHUB_PROVIDED_SECRETS_JSON")
	f.BoolVar(&o.rewrite, "rewrite", false, "remove the served registrations from the script")
	f.StringVar(&o.githubRepo, "github-repo", "", "OWNER/NAME: check the deletable secrets against the repository (needs GITHUB_TOKEN)")
	f.BoolVar(&o.dryRun, "dry-run", false, "with --create-missing or --rewrite: show what would change, change nothing")
	return cmd
}

func (o *migrateOptions) validate() error {
	if o.output == outputText {
		// text and table name one format in every command.
		o.output = migrate.FormatTable
	}
	valid := false
	for _, f := range migrate.Formats {
		valid = valid || o.output == f
	}
	if !valid {
		return usageErrorf("--output %q is not one of %s (text and table are the same)", o.output, strings.Join(migrate.Formats, ", "))
	}
	if o.dryRun && !o.createMissing && !o.rewrite {
		return usageErrorf("--dry-run goes with --create-missing or --rewrite (the report alone changes nothing)")
	}
	if o.script == "" {
		return usageErrorf("--script is empty: give the legacy script, e.g. tools/bin/ci_credentials.sh")
	}
	if o.githubRepo != "" {
		if _, _, err := migrate.SplitRepo(o.githubRepo); err != nil {
			return &usageError{err}
		}
	}
	return nil
}

// badInput makes the migrate package's input errors usage errors (exit 2).
func badInput(err error) error {
	if errors.Is(err, migrate.ErrBadInput) {
		return &usageError{err}
	}
	return err
}

func (o *migrateOptions) run(cmd *cobra.Command, g *globalOptions, s *streams) error {
	if err := o.validate(); err != nil {
		return err
	}
	ctx := cmd.Context()
	log := zerolog.Ctx(ctx)

	// Everything that can be refused locally is checked before any request.
	var provided migrate.ProvidedSecrets
	if o.createMissing {
		raw := s.getenv("GITHUB_PROVIDED_SECRETS_JSON")
		if raw == "" {
			return usageErrorf("--create-missing reads the values from GITHUB_PROVIDED_SECRETS_JSON, which is not set: pass GITHUB_PROVIDED_SECRETS_JSON: ${{ toJson(secrets) }} in the step's env")
		}
		p, err := migrate.ParseProvidedSecrets([]byte(raw))
		if err != nil {
			return badInput(err)
		}
		provided = p
	}
	token := s.getenv("GITHUB_TOKEN")
	if token == "" {
		token = s.getenv("GH_TOKEN")
	}
	if o.githubRepo != "" && token == "" {
		return usageErrorf("--github-repo needs a token in GITHUB_TOKEN (or GH_TOKEN) that may list the repository's Actions secrets")
	}

	log.Debug().Str("path", o.script).Msg("reading the script")
	parsed, err := migrate.ParseScriptFile(ctx, o.script)
	var script *migrate.Script
	if err == nil {
		log.Debug().Str("path", o.script).Msg("analysing the script")
		script, err = parsed.Analyze(ctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return badInput(err)
	}
	var wf *migrate.Workflows
	dir, byDefault := o.workflows, false
	if dir == "" && !cmd.Flags().Changed("workflows") {
		// Run from the repository root, the workflows are right there:
		// reading them is what makes "safe to delete" safe.
		if fi, err := os.Stat(migrate.DefaultWorkflows); err == nil && fi.IsDir() {
			dir, byDefault = migrate.DefaultWorkflows, true
		}
	}
	if dir != "" {
		if wf, err = migrate.ReadWorkflows(dir); err != nil {
			if byDefault {
				err = fmt.Errorf("%w (read by default as it is in the current directory; pass --workflows DIR for another folder, or --workflows '' to skip them)", err)
			}
			return badInput(err)
		}
		if byDefault {
			log.Debug().Str("path", dir).Msg("reading the workflows found in the current directory")
		}
		for _, w := range wf.Warnings {
			log.Warn().Str("path", dir).Msg(w)
		}
	}
	log.Debug().Str("path", o.script).Int("registrations", len(script.Registrations)).
		Int("unrecognized", len(script.Unrecognized)).Msg("read the script")

	client, err := g.client(ctx, s)
	if err != nil {
		return err
	}
	defer client.Close()
	entries, skipped, err := migrateInventory(ctx, client)
	if err != nil {
		return err
	}
	// Served means sync can serve it now: the serving secrets' versions are
	// checked from metadata, never a payload.
	enabled, err := migrate.CheckVersions(ctx, script, entries, enabledChecker{client}, migrate.DefaultVersionConcurrency)
	if err != nil {
		return err
	}
	opts := migrate.Options{Workflows: wf, WorkflowsDefault: byDefault, Repo: o.githubRepo, Enabled: enabled, Skipped: skipped}
	cost := func() *migrate.Cost {
		st := client.Stats()
		return &migrate.Cost{ReadRequests: st.ReadRequests, AccessRequests: st.AccessRequests, WriteRequests: st.WriteRequests, VersionChecks: enabled.Checked}
	}
	opts.Cost = cost()
	report := migrate.BuildReport(script, entries, opts)

	var actions migrate.Actions
	var failures []string
	if o.createMissing {
		res, err := migrate.CreateMissing(ctx, report, provided, client, o.dryRun)
		if err != nil {
			return err // interrupted: the log names what was created
		}
		actions.Create = res
		msg := "created secret"
		if o.dryRun {
			msg = "would create secret"
		}
		for _, c := range res.Created {
			log.Info().Str("secret", c.Secret).Str("connector", c.Labels["connector"]).Str("version", c.Version).Msg(msg)
		}
		for _, r := range res.Refused {
			failures = append(failures, r.Summary())
		}
		for _, f := range res.Failed {
			failures = append(failures, f.Secret)
		}
		if created := res.Entries(); len(created) > 0 {
			// The new secrets serve their registrations: report (and
			// rewrite) against the inventory as it now is.
			entries = append(entries, created...)
			for _, e := range created {
				enabled.Set(e.Secret) // created with its first version
			}
			opts.Cost = cost()
			report = migrate.BuildReport(script, entries, opts)
		}
	}
	// An interrupt that lands after the last request still stops the run
	// before the script is rewritten (once it is, the report says so).
	if err := ctx.Err(); err != nil {
		return err
	}
	if o.rewrite {
		res, err := migrate.Rewrite(report, o.dryRun)
		if err != nil {
			return badInput(err)
		}
		actions.Rewrite = res
		if res.Changed && !o.dryRun {
			log.Info().Str("path", res.Path).Int("removed", len(res.Removed)).Msg("rewrote the script")
		}
	}
	var ghErr error
	if o.githubRepo != "" {
		gh, err := migrate.NewGitHubClient(token, s.getenv("GITHUB_API_URL"))
		if err != nil {
			return badInput(err)
		}
		res, err := migrate.CheckGitHub(ctx, gh, o.githubRepo, report, wf)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			ghErr = badInput(err)
		}
		actions.GitHub = res
	}
	if actions != (migrate.Actions{}) {
		report.Actions = &actions
	}
	if actions.GitHub != nil {
		// Only the secrets still in the repository keep a delete line.
		report.ApplyGitHubCheck(actions.GitHub)
	}

	if err := writeMigrateReport(s.stdout, o.output, report); err != nil {
		return err
	}
	if path := s.getenv("GITHUB_STEP_SUMMARY"); path != "" {
		if err := appendStepSummary(path, report.WriteMarkdown); err != nil {
			log.Warn().Str("path", path).Err(err).Msg("could not write the step summary")
		}
	}

	switch {
	case ghErr != nil:
		return ghErr
	case len(failures) > 0:
		return &failedError{fmt.Errorf("--create-missing could not create every secret: %s", strings.Join(failures, ", "))}
	case o.failOnLeftover && report.Leftover():
		return &failedError{fmt.Errorf("%d %s not served by Secret Manager yet (lines %s)", report.Summary.Leftover,
			plural(report.Summary.Leftover, "registration is", "registrations are"), leftoverLines(report))}
	}
	return nil
}

// enabledChecker answers migrate's version question with the gsm client.
type enabledChecker struct{ c *gsm.Client }

func (e enabledChecker) HasEnabledVersion(ctx context.Context, secretID string) (bool, error) {
	st, err := e.c.EnabledVersion(ctx, secretID)
	return st.Enabled, err
}

// migrateInventory is the project's CI secrets, plus those migrate reports
// as skipped: a connector label on a name sync ignores.
func migrateInventory(ctx context.Context, c *gsm.Client) ([]labels.Entry, []migrate.SkippedSecret, error) {
	secrets, err := c.ListSecrets(ctx)
	if err != nil {
		return nil, nil, err
	}
	var entries []labels.Entry
	var skipped []migrate.SkippedSecret
	for _, sec := range secrets {
		if e, ok := labels.Classify(sec.ID, sec.Labels); ok {
			entries = append(entries, e)
		} else if sec.Labels[labels.ConnectorKey] != "" {
			skipped = append(skipped, migrate.SkippedSecret{Secret: sec.ID, Labels: sec.Labels})
		}
	}
	return entries, skipped, nil
}

func leftoverLines(r *migrate.Report) string {
	var lines []string
	for _, reg := range r.Registrations {
		if reg.Status == migrate.StatusLeftover {
			lines = append(lines, strconv.Itoa(reg.Line))
		}
	}
	return strings.Join(lines, ", ")
}

// appendStepSummary appends a Markdown report to $GITHUB_STEP_SUMMARY,
// whole or not at all when rendering fails.
func appendStepSummary(path string, writeMarkdown func(io.Writer) error) error {
	var b bytes.Buffer
	if err := writeMarkdown(&b); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeMigrateReport adds the schema version every JSON output carries to
// the report's own JSON.
func writeMigrateReport(w io.Writer, format string, report *migrate.Report) error {
	if format != migrate.FormatJSON {
		return report.Write(w, format)
	}
	var b bytes.Buffer
	if err := report.WriteJSON(&b); err != nil {
		return err
	}
	return writeJSONBytes(w, b.Bytes())
}
