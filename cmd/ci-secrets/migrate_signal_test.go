package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
	"github.com/airbytehq/ci-secrets/migrate"
)

// deepScript is a served registration (which --rewrite would remove)
// followed by depth nested if/case statements: the hostile shape whose
// analysis ignored Ctrl-C for tens of seconds. Close to MaxScriptSize, so
// that reading it takes long enough for a signal to land inside even on
// a fast machine.
func deepScript(depth int) []byte {
	var b bytes.Buffer
	b.WriteString("#!/usr/bin/env bash\nread_secrets source-a \"$A_CREDS\"\n")
	for i := range depth {
		if i%2 == 0 {
			b.WriteString("if [ -n \"$X\" ]; then\n")
		} else {
			b.WriteString("case \"$X\" in a)\n")
		}
	}
	b.WriteString("echo \"$B_CREDS\" > airbyte-integrations/connectors/source-b/secrets/config.json\n")
	for i := depth - 1; i >= 0; i-- {
		if i%2 == 0 {
			b.WriteString("fi\n")
		} else {
			b.WriteString(";; esac\n")
		}
	}
	return b.Bytes()
}

// TestMigrateInterruptDuringAnalysis runs the real binary on a hostile
// script, sends SIGINT once it has parsed it and started the analysis, and checks that it
// exits 130 having written nothing: no report, no step summary, the script
// untouched (--rewrite would remove its served line). An attempt proves the
// signal was honoured during the analysis when the analysis never finished
// (no "read the script" log line) and the emulator saw no request; a signal that lands later (a starved test process) still has to
// end in 130 with nothing written, and the attempt is repeated. No duration
// is asserted: the 60 s wait only turns a hung process into a failure.
func TestMigrateInterruptDuringAnalysis(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a 3.6 MB hostile script")
	}
	src := deepScript(150000)
	if len(src) > migrate.MaxScriptSize {
		t.Fatalf("the script is %d bytes, over the %d limit", len(src), migrate.MaxScriptSize)
	}
	seed, err := emulator.ParseSeed(strings.NewReader(`{"project": "test-project", "secrets": [
		{"name": "SECRET_SOURCE-A_CREDS", "labels": {"connector": "source-a"}, "versions": [{"data": "{\"k\": \"interrupt-a-value\"}"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	// A request that does get made hangs until the signal cancels it.
	addr, srv := emulator.StartForTest(t, seed, emulator.Options{Latency: time.Minute})
	duringAnalysis := false
	for attempt := 1; attempt <= 3 && !duringAnalysis; attempt++ {
		dir := t.TempDir()
		script := filepath.Join(dir, "ci_credentials.sh")
		if err := os.WriteFile(script, src, 0o644); err != nil {
			t.Fatal(err)
		}
		summary := filepath.Join(dir, "summary.md")
		srv.ResetCalls()
		cmd := program(t, addr, "--log-level=debug", "migrate", "--script", script, "--workflows", "", "--rewrite", "-o", "json")
		cmd.Env = append(cmd.Env, "GITHUB_STEP_SUMMARY="+summary)
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		pipe, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		var mu sync.Mutex
		reading := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(pipe)
			signalled := false
			for sc.Scan() {
				mu.Lock()
				stderr.WriteString(sc.Text() + "\n")
				mu.Unlock()
				if !signalled && strings.Contains(sc.Text(), "analysing the script") {
					signalled = true
					close(reading)
				}
			}
		}()
		select {
		case <-reading:
		case <-done:
			mu.Lock()
			t.Fatalf("the program ended before analysing the script; stderr:\n%s", stderr.String())
		}
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		waited := make(chan error, 1)
		go func() { <-done; waited <- cmd.Wait() }()
		select {
		case err = <-waited:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-waited
			t.Fatal("the program did not stop within 60 s of SIGINT (hung)")
		}
		mu.Lock()
		errText := stderr.String()
		mu.Unlock()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
			t.Fatalf("attempt %d: exit = %v, want status %d; stderr:\n%s", attempt, err, exitInterrupted, errText)
		}
		if !strings.Contains(errText, "interrupted") {
			t.Errorf("attempt %d: stderr does not say it was interrupted:\n%s", attempt, errText)
		}
		if stdout.Len() > 0 {
			t.Errorf("attempt %d: a report was printed (%d bytes)", attempt, stdout.Len())
		}
		if got, err := os.ReadFile(script); err != nil || !bytes.Equal(got, src) {
			t.Errorf("attempt %d: the script was changed (%v)", attempt, err)
		}
		if _, err := os.Stat(summary); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("attempt %d: the step summary was written (%v)", attempt, err)
		}
		calls := 0
		for _, n := range srv.Calls() {
			calls += n
		}
		// "read the script" is logged once the analysis is done.
		finished := strings.Contains(errText, " read the script ")
		duringAnalysis = calls == 0 && !finished
		if !duringAnalysis {
			t.Logf("attempt %d: the analysis finished before the signal took effect (%d requests made); trying again", attempt, calls)
		}
	}
	if !duringAnalysis {
		t.Error("in 3 attempts the signal never landed during the analysis")
	}
}
