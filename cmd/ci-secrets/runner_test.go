package main

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

// ran is what one run of the real program printed and how it ended.
type ran struct {
	stdout, stderr string
	code           int
}

// runChecked runs the real program (as program does) at debug log level to
// completion and enforces the global no-leak rule of the end-to-end suite
// on it: no value of any version in seed (nor any line of one) may appear in
// its stdout or stderr, except on ::add-mask:: lines. Go tests that run the
// program outside testscript use it so the leak check covers them too.
func runChecked(t *testing.T, addr string, seed *emulator.Seed, args ...string) ran {
	t.Helper()
	cmd := program(t, addr, append([]string{"--log-level=debug"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := ran{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run ci-secrets %s: %v", strings.Join(args, " "), err)
	}
	assertNoLeak(t, seedValues(seed), r.stdout, r.stderr)
	return r
}

// seedValues returns every maskable value of every version a seed holds.
func seedValues(seed *emulator.Seed) []string {
	if seed == nil {
		return nil
	}
	var out []string
	for _, s := range seed.Secrets {
		for _, v := range s.Versions {
			out = append(out, payloadValues(v.Data)...)
		}
	}
	return out
}

// assertNoLeak fails the test if any value appears in any output outside
// ::add-mask:: lines. It names the value's length, never the value.
func assertNoLeak(t *testing.T, values []string, outputs ...string) {
	t.Helper()
	for i, out := range outputs {
		var kept []string
		for _, line := range strings.Split(out, "\n") {
			if !strings.HasPrefix(line, "::add-mask::") {
				kept = append(kept, line)
			}
		}
		text := strings.Join(kept, "\n")
		for _, v := range values {
			if strings.Contains(text, v) {
				t.Fatalf("a secret value (%d bytes) leaked into output #%d of a ci-secrets run", len(v), i)
			}
		}
	}
}
