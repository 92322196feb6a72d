//go:build unix

package secretexec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airbytehq/ci-secrets/redact"
)

func TestCommandRunRedactsAndKeepsStatus(t *testing.T) {
	var stdout, stderr bytes.Buffer
	c := Command{
		Args:  []string{"sh", "-c", `cat; echo "out secret-value-x"; echo "err secret-value-x" >&2; exit 4`},
		Stdin: strings.NewReader("from stdin\n"), Stdout: &stdout, Stderr: &stderr,
		Matcher: redact.NewMatcher([]string{"secret-value-x"}),
	}
	code, err := c.Run(testCtx(t))
	if err != nil || code != 4 {
		t.Fatalf("Run = %d, %v", code, err)
	}
	if stdout.String() != "from stdin\nout ***\n" || stderr.String() != "err ***\n" {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}

func TestCommandRunStartFailures(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"no-such-command-for-ci-secrets"}, ExitNotFound},
		{[]string{notExec}, ExitNotExecutable},
	} {
		code, err := Command{Args: c.args, Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}.Run(testCtx(t))
		var se *StartError
		if code != c.code || !errors.As(err, &se) || !errors.Is(err, ErrStart) {
			t.Errorf("%v: %d, %v; want %d", c.args, code, err, c.code)
		}
	}
	if _, err := (Command{}).Run(testCtx(t)); err == nil {
		t.Error("no command accepted")
	}
}

type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	f.n++
	return 0, errors.New("reader gone")
}

// A stdout that fails does not block the command: its output is dropped,
// it runs to its end, and the error is reported.
func TestCommandRunSurvivesAFailingStdout(t *testing.T) {
	fw := &failingWriter{}
	c := Command{
		Args:   []string{"sh", "-c", `i=0; while [ $i -lt 2000 ]; do echo "line $i of output that fills a pipe buffer quickly"; i=$((i+1)); done; exit 5`},
		Stdout: fw, Stderr: &bytes.Buffer{},
	}
	code, err := c.Run(testCtx(t))
	if code != 5 || err == nil || !strings.Contains(err.Error(), "reader gone") {
		t.Fatalf("Run = %d, %v", code, err)
	}
	if fw.n != 1 {
		t.Errorf("%d writes to the failed stdout, want 1", fw.n)
	}
}
