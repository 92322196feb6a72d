//go:build unix

package secretexec

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/creack/pty"
)

// startPTY starts cmd on a new pseudo-terminal the size of c.Terminal: its
// stdout (and stdin and stderr when those are terminals too) is the pty,
// whose output goes to stdout. The returned wait also drains the pty.
func startPTY(cmd *exec.Cmd, c Command, stdout, stderr io.Writer) (func() error, error) {
	if !c.StdinTerminal {
		cmd.Stdin = c.Stdin
	}
	if !c.StderrTerminal {
		cmd.Stderr = stderr
	}
	size, err := pty.GetsizeFull(c.Terminal)
	if err != nil {
		size = nil // not fatal: the pty keeps its default size
	}
	master, err := pty.StartWithSize(cmd, size)
	if err != nil {
		return nil, err
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	go func() {
		for range winch {
			_ = pty.InheritSize(c.Terminal, master)
		}
	}()
	if c.StdinTerminal && c.Stdin != nil {
		go func() { _, _ = io.Copy(master, c.Stdin) }()
	}
	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(stdout, master)
		if errors.Is(err, syscall.EIO) {
			err = nil // Linux's word for "every slave end is closed"
		}
		copied <- err
	}()
	return func() error {
		werr := cmd.Wait()
		var cerr error
		select {
		case cerr = <-copied:
		case <-time.After(c.WaitDelay):
			// A child of the command still holds the terminal open.
		}
		signal.Stop(winch)
		close(winch)
		master.Close()
		if werr != nil {
			return werr
		}
		return cerr
	}, nil
}
