package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/airbytehq/ci-secrets/ghactions"
	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/labels"
)

// Exit codes (cli.md).
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// streams are the process's I/O and environment, injected so tests can run a
// command with buffers and a fake environment.
type streams struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	stdinIsTTY     bool
	getenv         func(string) string
	lookupEnv      func(string) (string, bool)
	environ        func() []string
	stdoutIsTTY    bool
	stderrIsTTY    bool
}

func stdio() *streams {
	return &streams{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		getenv: os.Getenv, lookupEnv: os.LookupEnv, environ: os.Environ,
		stdinIsTTY:  isatty.IsTerminal(os.Stdin.Fd()),
		stdoutIsTTY: isatty.IsTerminal(os.Stdout.Fd()),
		stderrIsTTY: isatty.IsTerminal(os.Stderr.Fd()),
	}
}

// usageError is a bad flag, argument or configuration: exit 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// failedError is an operation that failed in full or in part after its
// summary was printed: exit 1 with a one-line reason.
type failedError struct{ err error }

func (e *failedError) Error() string { return e.err.Error() }
func (e *failedError) Unwrap() error { return e.err }

// exitCoder lets a command (the emulator's exec mode) pass a child's exit status through.
type exitCoder struct{ code int }

func (e *exitCoder) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// globalOptions are the flags every command shares.
type globalOptions struct {
	project         string
	location        string
	credentialsFile string
	endpoint        string
	logLevel        string
	logFormat       string
	timeout         time.Duration
}

// run is the single place that turns an error into a message and an exit code.
func run(args []string, s *streams) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// cobra returns its own flag, argument and unknown-command errors as plain
	// errors before any command runs; a command that never started is
	// therefore a usage error, whatever cobra's wording.
	started := false
	root := newRootCmd(s, func() { started = true })
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ec *exitCoder
	if errors.As(err, &ec) {
		return ec.code
	}
	code := exitFailed
	var ue *usageError
	switch {
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		code = exitInterrupted
		err = errors.New("interrupted: nothing partial was left behind; run the command again")
	case errors.As(err, &ue), errors.Is(err, gsm.ErrConfig), !started:
		code = exitUsage
	}
	if f := root.PersistentFlags().Lookup("log-format"); f != nil && f.Value.String() == "json" {
		// Under --log-format json every stderr line is a JSON object, the
		// final verdict too, so a log pipeline never meets a stray text line.
		final := zerolog.New(s.stderr).With().Timestamp().Logger()
		ev := final.Error().Int("exit_code", code)
		if !started {
			ev = ev.Str("hint", "run 'ci-secrets --help' for usage")
		}
		ev.Msg(sanitizeLines(err.Error()))
		return code
	}
	// The message may quote a server (its error text, a name it sent).
	fmt.Fprintf(s.stderr, "ci-secrets: %s\n", sanitizeLines(err.Error()))
	if !started {
		fmt.Fprintln(s.stderr, "Run 'ci-secrets --help' for usage.")
	}
	return code
}

func newRootCmd(s *streams, onStart func()) *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "ci-secrets",
		Short: "Put CI test credentials from Google Secret Manager where connector tests expect them",
		Long: `ci-secrets lists, syncs and pushes the CI test credentials of a connector
monorepo kept in Google Secret Manager as SECRET_<CONNECTOR>_CREDS secrets
labelled connector=<name>[_<name>...] and optionally filename=<stem>.

It also audits the migration off the legacy ci_credentials.sh script and ships
a local emulator of the Secret Manager API for trying it without a GCP account.`,
		Example: `  # Try it without GCP: an emulator seeded with example secrets runs a sync.
  ci-secrets emulator --seed examples/seed.json -- ci-secrets sync --all --root /tmp/demo

  # In CI, before a connector's tests:
  ci-secrets sync source-s3`,
		Version:       readBuildInfo().Version,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(s, g.logLevel, g.logFormat)
			if err != nil {
				return err
			}
			if g.timeout <= 0 {
				return usageErrorf("--timeout %s is not a positive duration such as 2m or 30s", g.timeout)
			}
			cmd.SetContext(logger.WithContext(cmd.Context()))
			return nil
		},
	}
	root.SetVersionTemplate(versionTemplate())
	root.SetOut(s.stdout)
	root.SetErr(s.stderr)
	root.SetFlagErrorFunc(flagError)
	root.SuggestionsMinimumDistance = 2
	pf := root.PersistentFlags()
	pf.StringVar(&g.project, "project", "", "GCP project holding the secrets (env GCP_PROJECT_ID, GOOGLE_CLOUD_PROJECT, or the key's project_id)")
	pf.StringVar(&g.location, "location", "", "location of regional secrets, e.g. us-central1 (empty: global secrets)")
	pf.StringVar(&g.credentialsFile, "credentials-file", "", "service-account key file (env GCP_GSM_CREDENTIALS holds the key's JSON text; neither: Application Default Credentials)")
	pf.StringVar(&g.endpoint, "endpoint", "", "plaintext emulator address HOST:PORT, no credentials (env SECRET_MANAGER_EMULATOR_HOST)")
	pf.StringVar(&g.logLevel, "log-level", "info", "debug, info, warn or error (logs go to stderr and never hold a secret value)")
	pf.StringVar(&g.logFormat, "log-format", "console", "console or json")
	pf.DurationVar(&g.timeout, "timeout", gsm.DefaultTimeout, "bound on the whole run's Secret Manager calls, retries included (e.g. 30s, 5m); secrets not read by then fail")

	root.AddCommand(
		newListCmd(g, s),
		newSyncCmd(g, s),
		newMigrateCmd(g, s),
		newPushCmd(g, s),
		newDoctorCmd(g, s),
		newEmulatorCmd(s),
		newExecCmd(g, s), newCleanCmd(g, s),
		newVersionCmd(s),
	)
	// cobra checks required flags after the persistent pre-run, so "started"
	// means the command's own RunE was reached.
	for _, c := range root.Commands() {
		if run := c.RunE; run != nil {
			c.RunE = func(cmd *cobra.Command, args []string) error {
				onStart()
				return run(cmd, args)
			}
		}
	}
	return root
}

func newLogger(s *streams, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" || !(lvl >= zerolog.DebugLevel && lvl <= zerolog.ErrorLevel) {
		return zerolog.Nop(), usageErrorf("--log-level %q is not one of debug, info, warn, error", level)
	}
	var w io.Writer
	switch format {
	case "console":
		w = zerolog.ConsoleWriter{Out: s.stderr, NoColor: !s.stderrIsTTY, TimeFormat: time.TimeOnly,
			// Messages and fields may quote a server: no line break of
			// theirs may start a line of the log (JSON escapes them).
			FormatPrepare: sanitizeLogEvent}
	case "json":
		w = sanitizingJSONWriter{s.stderr}
	default:
		return zerolog.Nop(), usageErrorf("--log-format %q is not one of console, json", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// client resolves the connection settings and connects.
func (g *globalOptions) client(ctx context.Context, s *streams) (*gsm.Client, error) {
	cfg, err := gsm.Resolve(gsm.Settings{
		Project: g.project, Location: g.location,
		CredentialsFile: g.credentialsFile, Endpoint: g.endpoint,
		Getenv: s.getenv,
	})
	if err != nil {
		return nil, err
	}
	if v := s.getenv("CI_SECRETS_RETRY_INITIAL"); v != "" {
		// Tests shorten backoff so injected faults do not cost seconds.
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, usageErrorf("CI_SECRETS_RETRY_INITIAL %q is not a duration such as 10ms", v)
		}
		cfg.Retry.Initial = d
	}
	if v := s.getenv("CI_SECRETS_RETRY_OVERALL"); v != "" {
		// Tests shorten the retry budget so a dead server fails a run in
		// seconds rather than minutes.
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, usageErrorf("CI_SECRETS_RETRY_OVERALL %q is not a positive duration such as 2s", v)
		}
		cfg.Retry.Overall = d
	}
	if v := s.getenv("CI_SECRETS_RETRY_CONNECT"); v != "" {
		// Tests shorten the wait for a server that cannot be reached.
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, usageErrorf("CI_SECRETS_RETRY_CONNECT %q is not a positive duration such as 1s", v)
		}
		cfg.Retry.Connect = d
	}
	cfg.Timeout = g.timeout
	zerolog.Ctx(ctx).Debug().Str("project", cfg.Project).Str("location", cfg.Location).
		Str("endpoint", cfg.Endpoint).Str("credentials", cfg.CredentialsSource).Msg("connecting to Secret Manager")
	return gsm.New(ctx, cfg)
}

// inventory lists the project's CI secrets once and interprets their labels.
func inventory(ctx context.Context, c *gsm.Client) ([]labels.Entry, error) {
	secrets, err := c.ListSecrets(ctx)
	if err != nil {
		return nil, err
	}
	entries := make([]labels.Entry, 0, len(secrets))
	for _, sec := range secrets {
		if e, ok := labels.Classify(sec.ID, sec.Labels); ok {
			entries = append(entries, e)
		} else if sec.Labels["connector"] != "" {
			// A labelled secret whose name misses the convention is most
			// likely a typo: say so, so "no secret for this connector" can
			// be traced. The name is whatever the server sent.
			zerolog.Ctx(ctx).Warn().Str("secret", ghactions.Sanitize(sec.ID)).
				Msg("secret has a connector label but its name does not match SECRET_<NAME>_CREDS, so it is ignored; rename it to sync it")
		}
	}
	return entries, nil
}
