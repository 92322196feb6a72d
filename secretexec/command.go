package secretexec

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/airbytehq/ci-secrets/redact"
)

// Exit statuses of a command that could not be started, as shells and
// env(1) give them.
const (
	ExitNotFound      = 127
	ExitNotExecutable = 126
)

// ErrStart: the command could not be started.
var ErrStart = errors.New("the command could not be started")

// StartError is a command that could not be started, with the status a
// shell would give.
type StartError struct {
	Name string
	Code int
	Err  error
}

func (e *StartError) Error() string {
	return fmt.Sprintf("cannot run %s: %v; check the command after --", e.Name, e.Err)
}

func (e *StartError) Unwrap() error { return ErrStart }

// Command is the command an exec runs.
type Command struct {
	Args   []string
	Env    []string // nil: this process's environment
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Terminal, when set, is the terminal this process's stdout is: the
	// command then gets a pseudo-terminal of that size, so colours and
	// progress bars still work.
	Terminal *os.File
	// StdinTerminal: stdin is a terminal (typed Ctrl-C reaches the
	// command's process group on its own).
	StdinTerminal bool
	// StderrTerminal: stderr is a terminal too; with Terminal it shares
	// the pseudo-terminal.
	StderrTerminal bool
	// Matcher redacts stdout and stderr; nil passes them through.
	Matcher *redact.Matcher
	// Quiet is the redactor's quiet time (redact.DefaultQuiet when 0).
	Quiet time.Duration
	// WaitDelay bounds how long output is still read after the command
	// exited (its own children may hold the streams open).
	WaitDelay time.Duration
}

// exitStatus is the command's status as a shell reports it.
func exitStatus(ps *os.ProcessState, werr error) (int, error) {
	if ps == nil {
		return 1, fmt.Errorf("waiting for the command: %w", werr)
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) && !errors.Is(werr, exec.ErrWaitDelay) {
		return ps.ExitCode(), fmt.Errorf("reading the command's output: %w", werr)
	}
	return ps.ExitCode(), nil
}
