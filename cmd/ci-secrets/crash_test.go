package main

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

// TestCrashKilledSyncLeavesNothingPartial kills a sync with SIGKILL (no
// handler, no clean-up) at random moments, many times. After each kill every
// target file is absent or whole and byte for byte its payload; anything else
// left is a temporary file of the writer's naming, and the next sync in that
// folder removes it and writes every file. The kill moments are drawn from a
// clean run's duration, and the test insists that enough of them landed while
// files were being written, since kills before the first write or after the
// last prove nothing.
func TestCrashKilledSyncLeavesNothingPartial(t *testing.T) {
	const n, iterations = 100, 40
	payloads := faultPayloads(t, n)
	seed := seedOf(t, n, func(i int) string { return payloads[i] })
	addr, _ := emulator.StartForTest(t, seed, emulator.Options{Latency: 5 * time.Millisecond, Jitter: 10 * time.Millisecond})
	// Race-built children sleep 1 s before exiting (the race runtime's
	// atexit_sleep_ms), which would make each clean-up run cost a second.
	t.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	args := func(root string) []string {
		return []string{"--log-level=debug", "sync", "--all", "--root", root, "--concurrency", "4"}
	}

	// A clean run tells when, from its start, files get written here (race
	// detector, machine load and all), so the kills can be spread over that.
	calib := t.TempDir()
	start := time.Now()
	if r := runChecked(t, addr, seed, args(calib)[1:]...); r.code != exitOK {
		t.Fatalf("clean sync exited %d; stderr tail:\n%s", r.code, tail(r.stderr, 10))
	}
	exited := time.Since(start)
	if tr := inspectTree(t, calib, payloads); len(tr.files) != n || len(tr.temps) != 0 {
		t.Fatalf("clean sync: %d of %d files, %d temporary files", len(tr.files), n, len(tr.temps))
	}
	var first, last time.Time
	for i := range n {
		fi, err := os.Stat(targetOf(calib, i))
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.ModTime(); first.IsZero() || m.Before(first) {
			first = m
		}
		if m := fi.ModTime(); m.After(last) {
			last = m
		}
	}
	// Kills are drawn from [0, window): up to a little past the last write.
	window := last.Sub(start) + last.Sub(first)/10
	t.Logf("a clean sync of %d secrets wrote its first file after %v, its last after %v, and exited after %v; kills drawn from [0, %v)",
		n, first.Sub(start).Round(time.Millisecond), last.Sub(start).Round(time.Millisecond), exited.Round(time.Millisecond), window.Round(time.Millisecond))
	if window <= 0 {
		t.Fatalf("files older than the run that wrote them (clock or mtime trouble)")
	}

	s1, s2 := rand.Uint64(), rand.Uint64()
	t.Logf("kill-delay seed: %d,%d", s1, s2)
	rng := rand.New(rand.NewPCG(s1, s2))
	var none, partial, whole, exitedFirst, withTemps, tempsLeft, cleaned int
	for it := range iterations {
		root := t.TempDir()
		cmd := program(t, addr, args(root)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		delay := time.Duration(rng.Int64N(int64(window)))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		killErr := cmd.Process.Kill() // SIGKILL
		err := cmd.Wait()
		assertNoLeak(t, seedValues(seed), stdout.String(), stderr.String())
		var ee *exec.ExitError
		switch {
		case killErr == nil && errors.As(err, &ee) && ee.ProcessState.String() == "signal: killed":
		case err == nil || errors.Is(killErr, os.ErrProcessDone):
			exitedFirst++ // finished before the kill: still checked below
		default:
			t.Fatalf("iteration %d: kill: %v, wait: %v", it, killErr, err)
		}

		tr := inspectTree(t, root, payloads)
		switch len(tr.files) {
		case 0:
			none++
		case n:
			whole++
		default:
			partial++
		}
		if len(tr.temps) == 0 {
			continue
		}
		withTemps++
		tempsLeft += len(tr.temps)
		t.Logf("iteration %d (killed after %v, %d files whole): left %v", it, delay.Round(time.Millisecond), len(tr.files), tr.temps)

		// The next sync in this folder removes them, says so, and writes all.
		r := runChecked(t, addr, seed, args(root)[1:]...)
		if r.code != exitOK {
			t.Fatalf("iteration %d: sync after the kill exited %d; stderr tail:\n%s", it, r.code, tail(r.stderr, 10))
		}
		for _, tmp := range tr.temps {
			if !strings.Contains(r.stderr, filepath.Join(root, tmp)) || !strings.Contains(r.stderr, "removed a temporary file left by an earlier run") {
				t.Errorf("iteration %d: the next sync does not report removing %s", it, tmp)
			}
		}
		after := inspectTree(t, root, payloads)
		if len(after.files) != n || len(after.temps) != 0 {
			t.Errorf("iteration %d: after the next sync %d of %d files, temporary files %v", it, len(after.files), n, after.temps)
		} else {
			cleaned += len(tr.temps)
		}
	}
	t.Logf("%d kills: %d before any file, %d mid-run (some files whole, others absent), %d after every file (%d had exited); "+
		"%d left temporary files (%d in all), %d of them removed by the next sync",
		iterations, none, partial, whole, exitedFirst, withTemps, tempsLeft, cleaned)
	// Kills that land before the first file or after the last cannot catch a
	// file half-written; demand that a fair share landed in between.
	if partial < iterations/10 {
		t.Errorf("only %d of %d kills landed while files were being written; the test proves too little", partial, iterations)
	}
}
