package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

type emulatorOptions struct {
	seed      string
	listen    string
	latency   time.Duration
	jitter    time.Duration
	errorRate float64
	errorCode string
	dump      string
	rngSeed   int64
	faults    []string

	quotaRead   int
	quotaAccess int
	quotaWrite  int
	quotaScale  float64

	iam string
}

// ignoredGlobals are the global flags that configure a client of Secret
// Manager; the emulator is the server, so it refuses them rather than
// silently ignore them (--log-level and --log-format apply as everywhere).
var ignoredGlobals = []string{"project", "location", "credentials-file", "endpoint", "timeout"}

// refuseClientFlags reports a client-side global flag given to the emulator.
func refuseClientFlags(cmd *cobra.Command) error {
	for _, name := range ignoredGlobals {
		if f := cmd.Flag(name); f != nil && f.Changed {
			return usageErrorf("--%s configures a client of Secret Manager; the emulator is the server and ignores it: drop it, or put it on the command after --, e.g. ci-secrets emulator --seed seed.json -- ci-secrets list --%s ...", name, name)
		}
	}
	return nil
}

func newEmulatorCmd(s *streams) *cobra.Command {
	o := &emulatorOptions{}
	cmd := &cobra.Command{
		Use:   "emulator --seed FILE [--listen ADDR] [-- COMMAND ARGS...]",
		Short: "Serve a local Secret Manager (real gRPC and REST API) seeded from a JSON file",
		Long: `Serve an in-memory Google Secret Manager speaking the real API, for trying
ci-secrets and testing pipelines without a GCP account. One port answers gRPC
(HTTP/2 without TLS) and the REST/JSON mapping (HTTP/1.1 or HTTP/2), so the
official clients of every language, gcloud and curl can use it; the README's
emulator section shows how to point each at it, and the seed file format.

Without a command it serves until interrupted; the first line on stdout is
"listening on HOST:PORT". With -- COMMAND ARGS... it starts the server, runs
the command with SECRET_MANAGER_EMULATOR_HOST and GCP_PROJECT_ID set (the
listening line then goes to stderr, so the command's stdout stays its own),
stops, and exits with the command's status.

--quota-read, --quota-access and --quota-write enforce GSM's per-project
quotas (600, 90000 and 600 requests per minute in production): requests
beyond them in a minute are answered RESOURCE_EXHAUSTED. --quota-scale
shortens that minute, so a run can meet its quota in seconds.

--iam enforce checks every call on a secret that has an IAM policy (seeded,
or set with SetIamPolicy) against the caller named in the x-emulator-caller
request header, e.g. "user:alice@example.com"; secrets without a policy
serve everyone. --dump may name a pipe, a FIFO or /dev/null.`,
		Example: `  ci-secrets emulator --seed examples/seed.json -- ci-secrets sync --all --root /tmp/demo
  ci-secrets emulator --seed examples/seed.json --listen 127.0.0.1:8085 &
  SECRET_MANAGER_EMULATOR_HOST=127.0.0.1:8085 GCP_PROJECT_ID=demo-project ci-secrets list
  ci-secrets emulator --seed seed.json --latency 20ms --error-rate 0.1 --dump state.json -- ci-secrets sync --all
  ci-secrets emulator --seed seed.json --quota-read 600 --quota-access 90000 --quota-scale 60 -- ci-secrets sync --all
  curl -s http://127.0.0.1:8085/v1/projects/demo-project/secrets`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dash := cmd.ArgsLenAtDash(); dash > 0 {
				return usageErrorf("unexpected arguments %q before --: put the command to run after --", args[:dash])
			} else if dash < 0 && len(args) > 0 {
				return usageErrorf("unexpected arguments %q: put the command to run after --", args)
			} else if dash == 0 && len(args) == 0 {
				return usageErrorf("nothing after --: name the command to run against the emulator, or drop -- to serve until interrupted")
			}
			if err := refuseClientFlags(cmd); err != nil {
				return err
			}
			return o.run(cmd.Context(), s, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.seed, "seed", "", "seed file (JSON, format in the README's emulator section; a --dump loads as a seed); required")
	f.StringVar(&o.listen, "listen", "127.0.0.1:0", "address to listen on")
	f.DurationVar(&o.latency, "latency", 0, "latency added to every call, e.g. 20ms")
	f.DurationVar(&o.jitter, "jitter", 0, "extra random latency of up to this much per call")
	f.Float64Var(&o.errorRate, "error-rate", 0, "fraction of calls (0-1) answered with --error-code")
	f.StringVar(&o.errorCode, "error-code", "UNAVAILABLE", "gRPC code for injected errors, e.g. UNAVAILABLE, RESOURCE_EXHAUSTED")
	f.StringVar(&o.dump, "dump", "", "on exit, write the final state and per-method call counts to this file")
	f.StringArrayVar(&o.faults, "fault", nil, "METHOD[:SECRET]=CODE[@RATE][/after]: answer that method's calls (for one secret) with CODE, always or at RATE; /after runs the call first and loses its answer; repeatable, e.g. DisableSecretVersion=UNAVAILABLE")
	f.Int64Var(&o.rngSeed, "fault-seed", 0, "seed for fault and jitter randomness (0: random)")
	f.IntVar(&o.quotaRead, "quota-read", 0, "read requests (lists, gets) served per minute before RESOURCE_EXHAUSTED (0: unlimited)")
	f.IntVar(&o.quotaAccess, "quota-access", 0, "access requests (payload reads) served per minute before RESOURCE_EXHAUSTED (0: unlimited)")
	f.IntVar(&o.quotaWrite, "quota-write", 0, "write requests (creates, new versions, state changes) served per minute before RESOURCE_EXHAUSTED (0: unlimited)")
	f.Float64Var(&o.quotaScale, "quota-scale", 1, "speed up the quota clock, e.g. 60: a quota minute lasts one second")
	f.StringVar(&o.iam, "iam", "off", "off, or enforce: check calls on secrets with an IAM policy against the caller in the x-emulator-caller header")
	_ = cmd.MarkFlagRequired("seed")
	return cmd
}

// parseFaults reads --fault rules: METHOD[:SECRET]=CODE[@RATE][/after], where
// METHOD is a Secret Manager method name such as AccessSecretVersion or *,
// and /after lets the call take effect before its answer is replaced.
func parseFaults(specs []string) ([]emulator.Fault, error) {
	var out []emulator.Fault
	for _, spec := range specs {
		bad := func(why string) error {
			return usageErrorf("--fault %q %s: write METHOD[:SECRET]=CODE[@RATE][/after], e.g. DisableSecretVersion=UNAVAILABLE or AccessSecretVersion:SECRET_A_CREDS=PERMISSION_DENIED@0.5", spec, why)
		}
		target, action, ok := strings.Cut(spec, "=")
		if !ok || target == "" || action == "" {
			return nil, bad("is incomplete")
		}
		method, secret, _ := strings.Cut(target, ":")
		if method == "*" {
			method = ""
		} else if !isMethodName(method) {
			return nil, bad("does not name a method")
		}
		action, after := strings.CutSuffix(action, "/after")
		codeText, rateText, hasRate := strings.Cut(action, "@")
		code, err := parseCode(codeText)
		if err != nil {
			return nil, bad("has no gRPC code such as UNAVAILABLE")
		}
		rate := 1.0
		if hasRate {
			rate, err = strconv.ParseFloat(rateText, 64)
			if err != nil || !(rate > 0 && rate <= 1) {
				return nil, bad("has a rate that is not a fraction in (0, 1]")
			}
		}
		out = append(out, emulator.Fault{Method: method, Secret: secret, Rate: rate, Code: code, After: after})
	}
	return out, nil
}

func isMethodName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

func parseCode(s string) (codes.Code, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n <= 16 {
		return codes.Code(n), nil
	}
	var c codes.Code
	if err := c.UnmarshalJSON([]byte(strconv.Quote(strings.ToUpper(s)))); err != nil || c == codes.OK {
		return 0, usageErrorf("--error-code %q is not a gRPC code such as UNAVAILABLE or RESOURCE_EXHAUSTED", s)
	}
	return c, nil
}

func (o *emulatorOptions) run(ctx context.Context, s *streams, command []string) error {
	log := zerolog.Ctx(ctx)
	if o.errorRate < 0 || o.errorRate > 1 {
		return usageErrorf("--error-rate %v is not a fraction between 0 and 1", o.errorRate)
	}
	if o.latency < 0 || o.jitter < 0 {
		return usageErrorf("--latency and --jitter cannot be negative")
	}
	code, err := parseCode(o.errorCode)
	if err != nil {
		return err
	}
	quota, err := o.quota()
	if err != nil {
		return err
	}
	faults, err := parseFaults(o.faults)
	if err != nil {
		return err
	}
	if o.iam != "off" && o.iam != "enforce" {
		return usageErrorf("--iam %q is not off or enforce", o.iam)
	}
	seed, err := emulator.LoadSeed(o.seed)
	if err != nil {
		return &usageError{err}
	}
	srv, err := emulator.New(seed, emulator.Options{
		Latency: o.latency, Jitter: o.jitter, ErrorRate: o.errorRate, ErrorCode: code, Seed: o.rngSeed,
		Quota: quota, Faults: faults, IAMEnforce: o.iam == "enforce",
	})
	if err != nil {
		return &usageError{err}
	}
	// A --dump that cannot be written is found before the command runs,
	// not after it has succeeded.
	var dump *os.File
	if o.dump != "" {
		if dump, err = openPrivate("--dump", o.dump, false); err != nil {
			return err
		}
		defer dump.Close()
	}
	lis, err := net.Listen("tcp", o.listen)
	if err != nil {
		return usageErrorf("cannot listen on --listen %s: %w", o.listen, err)
	}
	addr := lis.Addr().String()

	// In exec mode the server outlives an interrupt until the command has
	// exited: a push interrupted between its add and its disable must still
	// reach the server to finish.
	parent := ctx
	if len(command) > 0 {
		parent = context.WithoutCancel(ctx)
	}
	serveCtx, stopServe := context.WithCancel(parent)
	defer stopServe()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveCtx, lis) }()

	var result error
	if len(command) == 0 {
		fmt.Fprintf(s.stdout, "listening on %s\n", addr)
		log.Info().Str("address", addr).Str("project", srv.Project()).Msg("emulator serving; press Ctrl-C to stop")
		select {
		case <-ctx.Done():
		case err := <-served:
			result = err
		}
	} else {
		fmt.Fprintf(s.stderr, "listening on %s\n", addr)
		result = execWith(ctx, s, command, addr, srv.Project())
	}
	stopServe()
	srv.Stop()
	if dump != nil {
		if err := writeDump(srv, dump); err != nil && result == nil {
			result = err
		}
	}
	if result == nil && ctx.Err() != nil && len(command) == 0 {
		return nil // interrupted while serving is the normal way to stop
	}
	return result
}

// maxQuotaScale keeps a quota minute at least a millisecond long.
const maxQuotaScale = int64(time.Minute / time.Millisecond)

// quota checks the --quota-* flags; nil means no quota at all.
func (o *emulatorOptions) quota() (*emulator.Quota, error) {
	for _, q := range []struct {
		flag string
		n    int
	}{{"--quota-read", o.quotaRead}, {"--quota-access", o.quotaAccess}, {"--quota-write", o.quotaWrite}} {
		if q.n < 0 {
			return nil, usageErrorf("%s %d cannot be negative: give requests per minute, or 0 for unlimited", q.flag, q.n)
		}
	}
	if !(o.quotaScale > 0) { // NaN too
		return nil, usageErrorf("--quota-scale %v is not a positive number (60 makes a quota minute last one second)", o.quotaScale)
	}
	if o.quotaScale > float64(maxQuotaScale) {
		return nil, usageErrorf("--quota-scale %v would make a quota minute shorter than a millisecond: use at most %d", o.quotaScale, maxQuotaScale)
	}
	if o.quotaRead == 0 && o.quotaAccess == 0 && o.quotaWrite == 0 {
		if o.quotaScale != 1 {
			return nil, usageErrorf("--quota-scale %v has no quota to speed up: add --quota-read, --quota-access or --quota-write", o.quotaScale)
		}
		return nil, nil
	}
	return &emulator.Quota{
		ReadPerMinute: o.quotaRead, AccessPerMinute: o.quotaAccess, WritePerMinute: o.quotaWrite, Scale: o.quotaScale,
	}, nil
}

func writeDump(srv *emulator.Server, f *os.File) error {
	// Only a regular file has old content to drop: a pipe, a FIFO or
	// /dev/null cannot be truncated, and need not be.
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		if err := f.Truncate(0); err != nil {
			return fmt.Errorf("write --dump %s: %w", f.Name(), err)
		}
	}
	if err := srv.Dump(f); err != nil {
		return fmt.Errorf("write --dump %s: %w", f.Name(), err)
	}
	return f.Close()
}

// execWith runs the command against the emulator and passes its exit status
// through. A signal to ci-secrets is forwarded as SIGTERM so the child can
// clean up before the emulator stops.
func execWith(ctx context.Context, s *streams, command []string, addr, project string) error {
	c := exec.CommandContext(ctx, command[0], command[1:]...)
	c.Stdin, c.Stdout, c.Stderr = s.stdin, s.stdout, s.stderr
	c.Env = append(os.Environ(), "SECRET_MANAGER_EMULATOR_HOST="+addr, "GCP_PROJECT_ID="+project)
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
	c.WaitDelay = 30 * time.Second
	err := c.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		if code := ee.ExitCode(); code >= 0 {
			return &exitCoder{code: code}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// Killed by a signal: the shell's convention, 128 + the signal.
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return &exitCoder{code: 128 + int(ws.Signal())}
		}
		return &failedError{fmt.Errorf("%s: %w", command[0], err)}
	case errors.Is(err, exec.ErrNotFound):
		// As a shell says it: 127, command not found.
		fmt.Fprintf(s.stderr, "ci-secrets: cannot run %s: %v\n", command[0], err)
		return &exitCoder{code: 127}
	default:
		return usageErrorf("cannot run %s: %w", command[0], err)
	}
}
