//go:build unix

package secretexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/airbytehq/ci-secrets/redact"
)

// forwarded are the signals passed on to the command.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// Run runs the command to its end and returns its exit status, 128+N when
// signal N ended it. SIGINT, SIGTERM and SIGHUP that reach this process
// meanwhile are passed on, and this process waits: cancelling ctx does not
// stop the command (the signal that cancelled it was forwarded).
func (c Command) Run(ctx context.Context) (int, error) {
	if len(c.Args) == 0 {
		return 0, errors.New("no command given after --")
	}
	path, err := exec.LookPath(c.Args[0])
	if err != nil {
		code := ExitNotFound
		if errors.Is(err, fs.ErrPermission) {
			code = ExitNotExecutable
		}
		return code, &StartError{Name: c.Args[0], Code: code, Err: err}
	}
	cmd := exec.Command(path, c.Args[1:]...)
	cmd.Args[0] = c.Args[0]
	cmd.Env = c.Env
	if c.WaitDelay <= 0 {
		c.WaitDelay = 5 * time.Second
	}
	cmd.WaitDelay = c.WaitDelay
	opts := redact.Options{Quiet: c.Quiet}
	outSink, errSink := &sink{w: c.Stdout}, &sink{w: c.Stderr}
	wrap := func(w io.Writer) *redact.Writer {
		m := c.Matcher
		if m == nil {
			m = redact.NewMatcher(nil)
		}
		return m.NewWriter(w, opts)
	}
	stdout, stderr := wrap(outSink), wrap(errSink)
	// A closed stdout (exec ... | head) must not kill this process before
	// its clean-up, as an unhandled SIGPIPE on fd 1 or 2 would.
	pipes := make(chan os.Signal, 1)
	signal.Notify(pipes, syscall.SIGPIPE)
	defer signal.Stop(pipes)

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)

	var wait func() error
	group := true // signals go to the command's process group
	if c.Terminal != nil {
		wait, err = startPTY(cmd, c, stdout, stderr)
	} else {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, stdout, stderr
		// Its own process group, so that only what this process forwards
		// reaches it (a runner's signal to ours would else arrive twice);
		// not when stdin is a terminal, which a background group cannot read.
		group = !c.StdinTerminal
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: group}
		err = cmd.Start()
		wait = cmd.Wait
	}
	if err != nil {
		code := ExitNotExecutable
		if errors.Is(err, fs.ErrNotExist) {
			code = ExitNotFound
		}
		return code, &StartError{Name: c.Args[0], Code: code, Err: err}
	}
	done := make(chan error, 1)
	go func() { done <- wait() }()
	pid := cmd.Process.Pid
	var werr error
loop:
	for {
		select {
		case sig := <-sigs:
			s := sig.(syscall.Signal)
			if !group && s == syscall.SIGINT && c.StdinTerminal {
				continue // the terminal sent it to the command's group too
			}
			// The whole group, as a terminal's Ctrl-C would reach it; the
			// command alone if it left its group.
			if !group || syscall.Kill(-pid, s) != nil {
				_ = syscall.Kill(pid, s)
			}
		case werr = <-done:
			break loop
		}
	}
	_ = ctx // the command outlives a cancelled context by design
	cerr := errors.Join(stdout.Close(), stderr.Close(), outSink.err, errSink.err)
	code, err := exitStatus(cmd.ProcessState, werr)
	if err != nil {
		return code, err
	}
	if cerr != nil && !errors.Is(cerr, syscall.EPIPE) {
		return code, fmt.Errorf("cannot write the command's output: %w", cerr)
	}
	return code, nil
}

// sink passes output on until the first write error, then drops the rest
// and keeps the error: the command must never block on a stream nobody
// reads any more, or exec would wait for it forever.
type sink struct {
	w   io.Writer
	err error
}

func (s *sink) Write(p []byte) (int, error) {
	if s.err == nil {
		if _, err := s.w.Write(p); err != nil {
			s.err = err
		}
	}
	return len(p), nil
}
