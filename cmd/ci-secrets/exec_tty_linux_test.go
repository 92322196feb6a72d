package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

// TestExecTerminalInputEchoedOnce: with a terminal as stdin, exec puts it
// in raw mode while the command runs on its pseudo-terminal, so a typed
// line is echoed once (by the command's terminal), not twice; afterwards
// the terminal is in the mode it had.
func TestExecTerminalInputEchoedOnce(t *testing.T) {
	seed := seedOf(t, 1, execSecret)
	addr, _ := emulator.StartForTest(t, seed, emulator.Options{})
	root := t.TempDir()
	master, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if before.Lflag&(unix.ECHO|unix.ICANON) != unix.ECHO|unix.ICANON {
		t.Fatalf("a new terminal does not echo, so the test proves nothing (lflag %#x)", before.Lflag)
	}
	cmd := program(t, addr, "exec", "source-s0", "--root", root, "--", "sh", "-c", `touch ready; read line; echo "got:$line"`)
	cmd.Dir = root
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	read := make(chan error, 1)
	go func() {
		_, err := io.Copy(&out, master)
		read <- err
	}()
	waitFor(t, filepath.Join(root, "ready"), cmd, &bytes.Buffer{})
	if _, err := master.Write([]byte("typed-once\r")); err != nil {
		t.Fatal(err)
	}
	code := exitCode(t, cmd.Wait())
	after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tty.Close() // the reader now ends, with EIO, after the last output
	if err := <-read; err != nil && !errors.Is(err, syscall.EIO) {
		t.Fatal(err)
	}
	text := out.String()
	if code != 0 {
		t.Fatalf("exit status %d; output %q", code, text)
	}
	// Once as echoed by the command's terminal, once in the command's answer.
	if n := strings.Count(text, "typed-once"); n != 2 || !strings.Contains(text, "got:typed-once") {
		t.Errorf("the typed line shows %d times, want 2 (one echo, one answer): %q", n, text)
	}
	if *after != *before {
		t.Errorf("the terminal was not put back: lflag %#x iflag %#x oflag %#x, was %#x %#x %#x",
			after.Lflag, after.Iflag, after.Oflag, before.Lflag, before.Iflag, before.Oflag)
	}
	assertNoLeak(t, seedValues(seed), text)
	if _, err := os.Stat(targetOf(root, 0)); err == nil {
		t.Error("the secret file was left")
	}
}
