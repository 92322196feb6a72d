//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

// TestExecTimeoutDoesNotBoundTheCommand: --timeout bounds the Secret Manager
// calls only. A command still running after it has passed is neither killed
// nor failed: it finishes its work, with its secrets in place, and its
// status comes back. The command waits for the test's go-ahead, given only
// once exec's deadline (which starts after `started`) lies in the past.
func TestExecTimeoutDoesNotBoundTheCommand(t *testing.T) {
	seed := seedOf(t, 1, execSecret)
	addr, _ := emulator.StartForTest(t, seed, emulator.Options{})
	root := t.TempDir()
	const timeout = 3 * time.Second
	started := time.Now()
	cmd, stdout, stderr := startExec(t, addr, root, "ready", "exec", "source-s0", "--root", root, "--timeout", timeout.String(), "--", "sh", "-c",
		`touch ready; while [ ! -e go ]; do sleep 0.05; done; test -f `+targetOf(root, 0)+` && echo still-has-its-secret; exit 7`)
	// Not a speed claim: the wait only puts the go-ahead after the deadline.
	time.Sleep(time.Until(started.Add(timeout + 500*time.Millisecond)))
	if err := os.WriteFile(filepath.Join(root, "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := exitCode(t, cmd.Wait()); got != 7 {
		t.Fatalf("exit status %d, want the command's 7; stderr:\n%s", got, stderr.String())
	}
	if !strings.Contains(stdout.String(), "still-has-its-secret") {
		t.Errorf("the command did not finish its work after --timeout; stdout %q", stdout.String())
	}
	if strings.Contains(stderr.String(), "timeout") {
		t.Errorf("exec reported its --timeout about a command that ran past it:\n%s", stderr.String())
	}
	if _, err := os.Stat(targetOf(root, 0)); err == nil {
		t.Error("the secret file was left after the command")
	}
	assertNoLeak(t, seedValues(seed), stdout.String(), stderr.String())
}
