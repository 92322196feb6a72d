//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
	"github.com/airbytehq/ci-secrets/internal/swaptest"
)

// TestSyncThroughSwappedFolders runs the real program again and again while
// the folders on the way to a connector's secrets folder (connectors/, the
// connector's folder, secrets/) are swapped for symlinks, to decoys outside
// the tree and to another connector's folder inside it (issue 10 point 2:
// 5 escapes in 374 runs before every folder was opened through the handle
// of the one above it). Before each run the target is removed, so a run
// that reports a file must have put it there. After each run, with every
// folder real again: each reported path holds the secret, nothing exists
// outside the tree, and the other connector's folder is untouched. A run
// may fail (a swapped folder is refused); it may never lie.
func TestSyncThroughSwappedFolders(t *testing.T) {
	runs := 300
	switch {
	case testing.Short():
		runs = 30
	case raceEnabled:
		runs = 100
	}
	const xValue, zValue = `{"k": "swap-x-secret-value"}`, `{"k": "swap-z-secret-value"}`
	seed, err := emulator.ParseSeed(strings.NewReader(fmt.Sprintf(`{"project": "test-project", "secrets": [
		{"name": "SECRET_SOURCE-X_CREDS", "labels": {"connector": "source-x"}, "versions": [{"data": %q}]},
		{"name": "SECRET_SOURCE-Z_CREDS", "labels": {"connector": "source-z"}, "versions": [{"data": %q}]}]}`, xValue, zValue)))
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := emulator.StartForTest(t, seed, emulator.Options{})
	st := swaptest.NewTree(t)
	xTarget := filepath.Join(st.XSecrets, "config.json")
	zTarget := filepath.Join(st.Root, "airbyte-integrations", "connectors", "source-z", "secrets", "config.json")
	want := map[string]string{xTarget: xValue, zTarget: zValue}
	sw := swaptest.Start(t, st.Swaps)
	reported := regexp.MustCompile(`(?m)^(?:wrote|replaced|unchanged) (\S+) \(`)
	failedLine := regexp.MustCompile(`(?m)^FAILED SECRET_SOURCE-[XZ]_CREDS: .*$`)
	var ok, failed, reports int
	for i := range runs {
		func() {
			defer sw.Hold()()
			for p := range want {
				if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
			}
		}()
		cmd := program(t, addr, "sync", "source-x", "source-z", "--root", st.Root)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		done := make(chan error, 1)
		go func() { done <- cmd.Run() }()
		var runErr error
		select {
		case runErr = <-done:
		case <-time.After(hostileRunTimeout):
			_ = cmd.Process.Kill()
			t.Fatalf("run %d hung", i)
		}
		func() {
			defer sw.Hold()()
			assertNoLeak(t, []string{"swap-x-secret-value", "swap-z-secret-value"}, stdout.String(), stderr.String())
			if runErr == nil {
				ok++
			} else {
				failed++
				// Each failure names its secret and the link it refused.
				lines := failedLine.FindAllString(stdout.String(), -1)
				for _, l := range lines {
					if !strings.Contains(l, "ci-secrets refuses to write through links") {
						lines = nil
					}
				}
				if len(lines) == 0 {
					t.Fatalf("run %d failed without naming a refused link: %v\nstdout:\n%s\nstderr:\n%s", i, runErr, stdout.String(), tail(stderr.String(), 5))
				}
			}
			for _, m := range reported.FindAllStringSubmatch(stdout.String(), -1) {
				reports++
				p := m[1]
				b, err := os.ReadFile(p)
				if wantData, known := want[p]; !known || err != nil || string(b) != wantData {
					t.Fatalf("run %d reported %s, which is not the secret's file there (%v)\nstdout:\n%s", i, p, err, stdout.String())
				}
			}
			if e := st.Escapes(); len(e) > 0 {
				t.Fatalf("run %d: files outside the tree or in the linked connector: %v", i, e)
			}
		}()
	}
	sw.Close()
	t.Logf("%d syncs against %d folder swaps: %d exited 0, %d failed naming the link refused; %d reported paths all true; 0 escapes", runs, sw.Flips, ok, failed, reports)
	if reports == 0 {
		t.Errorf("no run reported a file: the test proves nothing")
	}
}
