package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

// program returns a command running the real ci-secrets entry point against
// an emulator at addr.
func program(t *testing.T, addr string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), beMainEnv+"=1", "SECRET_MANAGER_EMULATOR_HOST="+addr,
		"GCP_PROJECT_ID=test-project", "CI_SECRETS_RETRY_INITIAL=5ms", "GITHUB_ACTIONS=")
	return cmd
}

func seedOf(t *testing.T, n int, value func(i int) string) *emulator.Seed {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"project": "test-project", "secrets": [`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		data, _ := json.Marshal(value(i))
		fmt.Fprintf(&b, `{"name": "SECRET_SOURCE-S%d_CREDS", "labels": {"connector": "source-s%d"}, "versions": [{"data": %s}]}`, i, i, data)
	}
	b.WriteString("]}")
	seed, err := emulator.ParseSeed(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return seed
}

// TestInterruptLeavesNothingPartial sends SIGINT and SIGTERM to a sync in
// flight: it exits 130, every file present is complete, no temporary file is left.
func TestInterruptLeavesNothingPartial(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			payload := func(i int) string { return fmt.Sprintf(`{"n": %d, "pad": %q}`, i, strings.Repeat("x", 4000)) }
			addr, _ := emulator.StartForTest(t, seedOf(t, 40, payload), emulator.Options{Latency: 50 * time.Millisecond})
			root := t.TempDir()
			cmd := program(t, addr, "sync", "--all", "--root", root, "--concurrency", "2")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait until some files exist, so the signal lands mid-run.
			deadline := time.Now().Add(20 * time.Second)
			for countFiles(t, root, "config.json") < 3 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
				t.Fatalf("exit = %v, want status %d; stderr:\n%s", err, exitInterrupted, stderr.String())
			}
			if !strings.Contains(stderr.String(), "interrupted") {
				t.Errorf("stderr does not say it was interrupted:\n%s", stderr.String())
			}
			written := 0
			_ = filepath.Walk(root, func(path string, fi os.FileInfo, err error) error {
				if err != nil || fi.IsDir() {
					return err
				}
				switch name := fi.Name(); {
				case name == ".gitignore":
				case name == "config.json":
					written++
					var doc struct{ N int }
					data, _ := os.ReadFile(path)
					if err := json.Unmarshal(data, &doc); err != nil || string(data) != payload(doc.N) {
						t.Errorf("%s is partial or wrong (%d bytes)", path, len(data))
					}
				default:
					t.Errorf("left behind: %s", path)
				}
				return nil
			})
			if written == 0 || written == 40 {
				t.Errorf("%d files written: the signal did not land mid-run", written)
			}
		})
	}
}

func countFiles(t *testing.T, root, name string) int {
	t.Helper()
	n := 0
	_ = filepath.Walk(root, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Name() == name {
			n++
		}
		return nil
	})
	return n
}
