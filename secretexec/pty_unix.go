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
	"golang.org/x/term"
)

// startPTY starts cmd on a new pseudo-terminal the size of c.Terminal: its
// stdout (and stdin and stderr when those are terminals too) is the pty,
// whose output goes to stdout. The returned wait also drains the pty and
// puts this process's terminal back in the mode it had.
func startPTY(cmd *exec.Cmd, c Command, stdout, stderr io.Writer) (func() error, error) {
	restore := rawStdin(c)
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
		restore()
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
		restore()
		if werr != nil {
			return werr
		}
		return cerr
	}, nil
}

// rawStdin puts the terminal that is this process's stdin in raw mode
// while the command runs, and returns what puts it back. The command's
// pseudo-terminal does the echoing and line editing, and turns a typed
// Ctrl-C into the command's SIGINT; the outer terminal doing so too would
// show every typed line twice. Set before the command starts, so nothing
// it reads is echoed by both.
func rawStdin(c Command) (restore func()) {
	f, ok := c.Stdin.(*os.File)
	if !c.StdinTerminal || !ok {
		return func() {}
	}
	fd := int(f.Fd())
	old, err := term.MakeRaw(fd)
	if err != nil {
		return func() {} // not fatal: input is then echoed twice
	}
	return func() { _ = term.Restore(fd, old) }
}
