package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/airbytehq/ci-secrets/redact"
	"github.com/airbytehq/ci-secrets/secretexec"
	"github.com/airbytehq/ci-secrets/secretsync"
	"github.com/airbytehq/ci-secrets/writer"
)

type execOptions struct {
	syncOptions
	allowPartial bool
	redact       bool
	keepCredsEnv bool
}

func newExecCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &execOptions{}
	cmd := &cobra.Command{
		Use:   "exec CONNECTOR... | --all [sync flags] -- COMMAND [ARGS...]",
		Short: "Sync secrets, run a command with its output redacted, then remove the secrets",
		Long: `Sync the connectors' secrets exactly as sync does (same checks, files and
masks), run COMMAND, and afterwards remove every file written and every
folder and .gitignore created; a file that was there before is moved aside
first and put back byte for byte, with its mode. Before the first file is
written, a manifest (0600) under --root/.ci-secrets/ records all of it, so
that a run killed on the way is cleaned up by the next exec or sync in the
tree, or by 'ci-secrets clean'.

COMMAND runs only when every secret was written (unless --allow-partial).
It gets stdin; SIGINT, SIGTERM and SIGHUP are passed on to it, and exec
waits for it. Its stdout and stderr are redacted: every value a mask would
hide (each line of a multi-line value, its JSON-escaped and base64 forms
too) becomes ***, as the output flows (--redact=false turns it off). When
exec's stdout is a terminal the command gets a pseudo-terminal, so colours
and progress bars still work (a terminal stdin is raw meanwhile, so typed
input shows once). exec's own report goes to stderr.

The command does not get GCP_GSM_CREDENTIALS, the key that read the
secrets (--keep-credentials-env passes it on), and the key material of the
credentials around (that variable, --credentials-file, and the files
GOOGLE_APPLICATION_CREDENTIALS and its gcloud and GitHub Actions siblings
name: private_key, private_key_id, client_secret, refresh_token) is
redacted from its output like a secret value. --timeout bounds the Secret
Manager calls only, never the command's run time.

Exit status: COMMAND's (128+N when signal N ended it); 1 a secret failed
(COMMAND not run) or the clean-up failed; 2 bad flags or configuration;
126/127 COMMAND not executable / not found; 130 interrupted before COMMAND.`,
		Example: `  # In CI: the credentials exist only while the tests run.
  ci-secrets exec source-s3 -- ./gradlew :airbyte-integrations:connectors:source-s3:integrationTest

  # Keep plain words such as the database name readable in the log:
  ci-secrets exec source-postgres --mask-except-key database --mask-except-key schema -- pytest`,
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, g, s, args) },
	}
	f := cmd.Flags()
	o.addFlags(f)
	f.BoolVar(&o.allowPartial, "allow-partial", false, "run the command even when a secret could not be written")
	f.BoolVar(&o.redact, "redact", true, "replace secret values in the command's output with ***")
	f.BoolVar(&o.keepCredsEnv, "keep-credentials-env", false, "pass "+secretexec.CredentialsEnv+" (the key that reads the secrets) on to the command")
	// Shared with sync, refused here with a pointer to sync --dry-run.
	_ = f.MarkHidden("dry-run")
	return cmd
}

func (o *execOptions) run(cmd *cobra.Command, g *globalOptions, s *streams, args []string) error {
	dash := cmd.ArgsLenAtDash()
	if dash < 0 || dash == len(args) {
		return usageErrorf("give the command to run after --, e.g. ci-secrets exec source-s3 -- ./gradlew test")
	}
	command := args[dash:]
	if o.dryRun {
		return usageErrorf("exec runs a command with the secrets in place; to see what would be written, use ci-secrets sync --dry-run")
	}
	conns, err := o.validate(args[:dash])
	if err != nil {
		return err
	}
	// SIGHUP (a closed terminal or a runner's) would kill exec without its
	// clean-up; before the command starts it interrupts like SIGINT.
	ctx, stopHUP := signal.NotifyContext(cmd.Context(), syscall.SIGHUP)
	defer stopHUP()
	log := zerolog.Ctx(ctx)
	policy, closeMask, err := o.maskPolicy(cmd, s, o.redact)
	if err != nil {
		return err
	}
	if o.skip, err = checkPlace(ctx, "exec", writer.Layout{Root: o.root, Out: o.out}, conns, o.all); err != nil {
		closeMask()
		return err
	}
	defer closeMask()
	client, err := g.client(ctx, s)
	if err != nil {
		return err
	}
	defer client.Close()

	entries, err := o.entries(ctx, client)
	if err != nil {
		return err
	}
	plan, err := o.syncEntries(ctx, client, entries, conns, true, nil, nil)
	if err != nil {
		return err
	}
	files := make([]string, 0, len(plan.Planned))
	for _, f := range plan.Planned {
		files = append(files, f.Path)
	}
	sess, undone, err := secretexec.Begin(ctx, secretexec.Plan{Root: o.root, Connectors: planConnectors(plan, conns), Files: files}, time.Now())
	logUndone(log, "finished the clean-up of earlier exec runs that did not end", undone)
	if err != nil {
		if errors.Is(err, secretexec.ErrInUse) {
			return &failedError{err}
		}
		return err
	}
	cleanup := func() (secretexec.Undone, error) { return sess.Finish(context.WithoutCancel(ctx)) }
	res, runErr := o.syncEntries(ctx, client, entries, conns, false, policy.hook(), nil)
	if res != nil {
		if err := sess.Track(writtenPaths(res)); err != nil {
			log.Warn().Err(err).Msg("could not record a file written after the plan; run `ci-secrets clean --untracked-secrets` after the command")
		}
		// Only after its paths were recorded: what is printed from here on
		// has server text escaped.
		sanitizeReport(res)
		logSummary(log, res, client.Stats())
		if err := printSyncResult(s.stderr, o.output, res, client.Stats(), policy.exemptedPaths()); err != nil {
			log.Warn().Err(err).Msg("could not print the sync summary")
		}
	}
	if runErr == nil && !res.OK() && !o.allowPartial {
		runErr = &failedError{fmt.Errorf("%s, so the command was not run (--allow-partial runs it anyway)", failedSummary(res))}
	}
	if runErr != nil {
		u, err := cleanup()
		if err != nil {
			runErr = errors.Join(runErr, err)
		}
		logUndone(log, "removed the files written", u)
		after := "The files written were removed."
		if err != nil {
			after = cleanupFailedMarkdown
		}
		md := fmt.Sprintf("### ci-secrets exec\n\nThe command was not run: %s. %s\n\n", notRunReason(res, runErr), after)
		if err := appendSummary(s.getenv, md); err != nil {
			log.Warn().Err(err).Msg("the step summary was not written")
		}
		return runErr
	}

	var matcher *redact.Matcher
	if o.redact {
		values := append(policy.collected(), secretexec.CredentialValues(ctx, s.getenv, g.credentialsFile)...)
		matcher = redact.NewMatcher(values)
	}
	env := s.environ()
	if !o.keepCredsEnv {
		env = secretexec.WithoutCredentials(env)
	}
	c := secretexec.Command{
		Args: command, Env: env, Stdin: s.stdin, Stdout: s.stdout, Stderr: s.stderr,
		StdinTerminal: s.stdinIsTTY, StderrTerminal: s.stderrIsTTY,
		Matcher: matcher,
	}
	if f, ok := s.stdout.(*os.File); ok && s.stdoutIsTTY {
		c.Terminal = f
	}
	code, cmdErr := c.Run(ctx)
	u, cleanErr := cleanup()
	logUndone(log, "removed the files written for the command", u)
	md := execSummary(command, res, u, code, cleanErr == nil) + exemptionsMarkdown("exec", policy.exemptedPaths())
	if err := appendSummary(s.getenv, md); err != nil {
		log.Warn().Err(err).Msg("the step summary was not written")
	}
	var se *secretexec.StartError
	switch {
	case errors.As(cmdErr, &se):
		fmt.Fprintf(s.stderr, "ci-secrets: %s\n", cmdErr)
		return &exitCoder{se.Code}
	case cmdErr != nil && code == 0:
		return &failedError{errors.Join(cmdErr, cleanErr)}
	case cmdErr != nil:
		// The command's own status says more than a lost stream does.
		log.Error().Err(errors.Join(cmdErr, cleanErr)).Msg("the command ran, but not everything went well around it")
	case cleanErr != nil && code == 0:
		return &failedError{cleanErr}
	case cleanErr != nil:
		log.Error().Err(cleanErr).Msg("the clean-up after the command failed")
	}
	if code != 0 {
		return &exitCoder{code}
	}
	return nil
}

// notRunReason says in a few words why the command did not run; secret
// names are GSM IDs, safe to print.
func notRunReason(res *secretsync.Result, err error) string {
	if res != nil && !res.OK() {
		return failedSummary(res)
	}
	if errors.Is(err, context.Canceled) {
		return "interrupted"
	}
	return "the sync did not finish"
}

// planConnectors names what the run syncs, for the manifest.
func planConnectors(r *secretsync.Result, asked []string) []string {
	if len(asked) > 0 {
		return asked
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range r.Planned {
		if !seen[f.Connector] {
			seen[f.Connector] = true
			out = append(out, f.Connector)
		}
	}
	return out
}

func writtenPaths(res *secretsync.Result) []string {
	out := make([]string, len(res.Written))
	for i, f := range res.Written {
		out[i] = f.Path
	}
	return out
}

func failedSummary(res *secretsync.Result) string {
	names := make([]string, 0, len(res.Failed))
	for _, f := range res.Failed {
		names = append(names, failureName(f))
	}
	names = dedupe(names)
	return fmt.Sprintf("%d %s failed: %s", len(names), plural(len(names), "secret", "secrets"), strings.Join(names, ", "))
}

func logUndone(log *zerolog.Logger, msg string, u secretexec.Undone) {
	if u.Runs == 0 && len(u.Live) == 0 {
		return
	}
	log.Info().Int("runs", u.Runs).Int("removed", len(u.Removed)).Int("restored", len(u.Restored)).
		Strs("kept", u.Kept).Int("live", len(u.Live)).Msg(msg)
}

const cleanupFailedMarkdown = "**The clean-up failed**: run `ci-secrets clean` in an `if: always()` step."

// execSummary is the step-summary note: what was written, that it is gone.
func execSummary(command []string, res *secretsync.Result, u secretexec.Undone, code int, cleaned bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### ci-secrets exec\n\n")
	// Only the program's name: its arguments may carry anything.
	fmt.Fprintf(&b, "Wrote %d secrets %s for `%s`, which exited with status %d. ",
		len(res.Written), plural(len(res.Written), "file", "files"), strings.ReplaceAll(filepath.Base(command[0]), "`", "'"), code)
	if cleaned {
		fmt.Fprintf(&b, "The files were removed afterwards (%d removed, %d that were there before put back).\n\n", len(u.Removed), len(u.Restored))
	} else {
		b.WriteString(cleanupFailedMarkdown + "\n\n")
	}
	return b.String()
}
