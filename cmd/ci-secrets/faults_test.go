package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
	"github.com/airbytehq/ci-secrets/writer"
)

// The issue "Prove it under faults": whatever the server does (fail calls at
// random, refuse one secret for good, die half-way), a sync writes every
// file it can whole and byte for byte, leaves nothing partial or temporary
// behind, and says what failed.

// tempFilePattern is the writer's temporary-file naming
// (".ci-secrets-<file>.<16 hex>.tmp", writer/write.go), copied here so the
// tests recognise a leftover exactly as writer.CleanStaleTemps does.
var tempFilePattern = regexp.MustCompile(`^\.ci-secrets-(?:[a-z0-9_-]{1,63}\.json|\.gitignore)\.[0-9a-f]{16}\.tmp$`)

// faultPayloads returns n distinct JSON payloads of 200 to 2,000 bytes whose
// values ("fault-value-<i>-<hex>" and a random hex pad) appear nowhere else,
// so a leak or a mix-up between files cannot go unnoticed. The randomness is
// seeded and logged, so a failure can be replayed.
func faultPayloads(t *testing.T, n int) []string {
	t.Helper()
	s1, s2 := rand.Uint64(), rand.Uint64()
	t.Logf("payload seed: %d,%d", s1, s2)
	rng := rand.New(rand.NewPCG(s1, s2))
	hexOf := func(nbytes int) string {
		b := make([]byte, nbytes)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return hex.EncodeToString(b)
	}
	out := make([]string, n)
	for i := range out {
		head := fmt.Sprintf(`{"n": %d, "value": "fault-value-%d-%s", "pad": "`, i, i, hexOf(8))
		size := 200 + rng.IntN(1801) // total length, 200..2000
		pad := size - len(head) - len(`"}`)
		out[i] = head + hexOf(pad/2) + strings.Repeat("f", pad%2) + `"}`
	}
	return out
}

// targetOf is where seedOf's secret i is written under root.
func targetOf(root string, i int) string {
	return filepath.Join(root, "airbyte-integrations", "connectors", fmt.Sprintf("source-s%d", i), "secrets", "config.json")
}

// tree is what a walk of a sync's root found.
type tree struct {
	files []int    // indices of the target files present (each checked whole)
	temps []string // leftover temporary files (writer naming), relative to root
}

// inspectTree walks root and fails the test for any target file that is not
// byte for byte its secret's payload with mode 0600, any .gitignore that is
// not the writer's, and any other file except temporary files of the writer's
// naming, which it returns. It never prints a payload, only lengths and names.
func inspectTree(t *testing.T, root string, payloads []string) tree {
	t.Helper()
	want := make(map[string]int, len(payloads))
	for i := range payloads {
		want[targetOf(root, i)] = i
	}
	var tr tree
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			t.Errorf("%s is not a regular file (%v)", rel, d.Type())
			return nil
		}
		switch i, ok := want[path]; {
		case ok:
			tr.files = append(tr.files, i)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("read %s: %v", rel, err)
				return nil
			}
			if string(data) != payloads[i] {
				t.Errorf("%s holds %d bytes that are not its secret's payload (%d bytes): partial or mixed up", rel, len(data), len(payloads[i]))
			}
			fi, err := d.Info()
			if err == nil && fi.Mode().Perm() != writer.FileMode {
				t.Errorf("%s has mode %#o, want %#o", rel, fi.Mode().Perm(), writer.FileMode)
			}
		case d.Name() == ".gitignore":
			if data, err := os.ReadFile(path); err != nil || string(data) != writer.Gitignore {
				t.Errorf("%s is not the writer's .gitignore (%d bytes, %v)", rel, len(data), err)
			}
		case tempFilePattern.MatchString(d.Name()):
			tr.temps = append(tr.temps, rel)
		default:
			t.Errorf("unexpected file %s", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return tr
}

// syncJSON is the part of `sync --output json` (cli.md) these tests read.
type syncJSON struct {
	Written []struct {
		Connector, Secret, Path string
	} `json:"written"`
	Failed []struct {
		Secret, Connector, Error string
	} `json:"failed"`
	Cost struct {
		ReadRequests   int64 `json:"read_requests"`
		AccessRequests int64 `json:"access_requests"`
		Retries        int64 `json:"retries"`
	} `json:"cost"`
}

func parseSyncJSON(t *testing.T, stdout string) syncJSON {
	t.Helper()
	var out syncJSON
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("sync --output json printed no JSON summary (%v); %d bytes of stdout", err, len(stdout))
	}
	return out
}

// transientFaults fail 10% of all calls UNAVAILABLE and another 5%
// RESOURCE_EXHAUSTED (Method "" = every method, ListSecrets included; the
// rules share one draw, so 15% of calls fail).
var transientFaults = []emulator.Fault{
	{Rate: 0.10, Code: codes.Unavailable},
	{Rate: 0.05, Code: codes.ResourceExhausted},
}

// TestFaultsSync2000LosesNothing syncs 2,000 secrets through an emulator that
// fails 15% of calls with retryable codes and answers with jittered latency:
// every file is written whole and byte for byte, 0600, the run exits 0 and its
// summary counts the retries that made that possible.
func TestFaultsSync2000LosesNothing(t *testing.T) {
	const n = 2000
	payloads := faultPayloads(t, n)
	seed := seedOf(t, n, func(i int) string { return payloads[i] })
	addr, srv := emulator.StartForTest(t, seed, emulator.Options{
		Latency: 2 * time.Millisecond, Jitter: 3 * time.Millisecond, Faults: transientFaults,
	})
	root := t.TempDir()
	start := time.Now()
	r := runChecked(t, addr, seed, "sync", "--all", "--root", root, "--output", "json")
	t.Logf("sync of %d secrets took %v; emulator calls: %v", n, time.Since(start).Round(time.Millisecond), srv.Calls())
	if r.code != exitOK {
		t.Fatalf("sync exited %d, want 0; stderr tail:\n%s", r.code, tail(r.stderr, 20))
	}
	sum := parseSyncJSON(t, r.stdout)
	if len(sum.Written) != n || len(sum.Failed) != 0 {
		t.Errorf("summary: %d written, %d failed; want %d, 0", len(sum.Written), len(sum.Failed), n)
	}
	t.Logf("cost: %d read, %d access requests, %d retries", sum.Cost.ReadRequests, sum.Cost.AccessRequests, sum.Cost.Retries)
	if sum.Cost.Retries == 0 {
		t.Errorf("summary counts no retries although 15%% of calls failed")
	}
	calls := srv.Calls()
	if got := int64(calls["AccessSecretVersion"]); got != sum.Cost.AccessRequests {
		t.Errorf("summary counts %d access requests, the emulator received %d", sum.Cost.AccessRequests, got)
	}
	if got, want := sum.Cost.Retries, int64(calls["AccessSecretVersion"]+calls["ListSecrets"]-n-1); got != want {
		t.Errorf("summary counts %d retries, the emulator saw %d calls beyond one list and one access per secret", got, want)
	}
	tr := inspectTree(t, root, payloads)
	if len(tr.files) != n || len(tr.temps) != 0 {
		t.Errorf("%d of %d files written, %d temporary files left: %v", len(tr.files), n, len(tr.temps), tr.temps)
	}
}

// TestFaultsOneSecretDeniedOthersWritten makes one secret unreadable for good
// (PERMISSION_DENIED, which is never retried) amid the same transient faults:
// every other file is written, the run exits 1, and both the summary and the
// final error name that secret, and only it.
func TestFaultsOneSecretDeniedOthersWritten(t *testing.T) {
	const n, bad = 300, 137
	payloads := faultPayloads(t, n)
	seed := seedOf(t, n, func(i int) string { return payloads[i] })
	badID := fmt.Sprintf("SECRET_SOURCE-S%d_CREDS", bad)
	addr, srv := emulator.StartForTest(t, seed, emulator.Options{
		Latency: 2 * time.Millisecond, Jitter: 3 * time.Millisecond,
		// The rule for the bad secret comes first, so its Rate 1 takes the
		// whole draw for that secret's accesses.
		Faults: append([]emulator.Fault{{Method: "AccessSecretVersion", Secret: badID, Rate: 1, Code: codes.PermissionDenied}}, transientFaults...),
	})
	root := t.TempDir()
	r := runChecked(t, addr, seed, "sync", "--all", "--root", root)
	if r.code != exitFailed {
		t.Fatalf("sync exited %d, want 1; stderr tail:\n%s", r.code, tail(r.stderr, 20))
	}
	// The final error line names exactly the bad secret.
	if want := "ci-secrets: 1 secret failed: " + badID + "\n"; !strings.HasSuffix(r.stderr, want) {
		t.Errorf("stderr does not end with %q; tail:\n%s", want, tail(r.stderr, 5))
	}
	// The summary has one FAILED line, for it, saying what permission is missing.
	var failed []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, "FAILED ") {
			failed = append(failed, line)
		}
	}
	if len(failed) != 1 || !strings.HasPrefix(failed[0], "FAILED "+badID+": ") ||
		!strings.Contains(failed[0], "permission denied") || !strings.Contains(failed[0], "secretmanager.versions.access") {
		t.Errorf("summary FAILED lines = %q, want one for %s naming the missing permission", failed, badID)
	}
	t.Logf("summary: %s", tail(r.stdout, 1))
	if !regexp.MustCompile(`(?m)^wrote ` + fmt.Sprint(n-1) + ` files, 1 failed; cost: .* [1-9][0-9]* retries$`).MatchString(r.stdout) {
		t.Errorf("summary line does not report %d written, 1 failed, some retries:\n%s", n-1, tail(r.stdout, 1))
	}
	// PERMISSION_DENIED is not retried: the bad secret cost exactly one access.
	// (A permanent UNAVAILABLE would instead be retried for the whole 2-minute
	// budget of gsm.DefaultRetry before failing.)
	if got := srv.Calls()["AccessSecretVersion"]; got < n {
		t.Errorf("only %d access requests for %d secrets", got, n)
	}
	tr := inspectTree(t, root, payloads)
	if len(tr.temps) != 0 {
		t.Errorf("temporary files left: %v", tr.temps)
	}
	if len(tr.files) != n-1 {
		t.Errorf("%d files written, want %d", len(tr.files), n-1)
	}
	if _, err := os.Lstat(targetOf(root, bad)); err == nil {
		t.Errorf("the denied secret's file exists")
	}
}

// tail returns the last n lines of s, for failure messages about output that
// runChecked has already checked for leaks.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestFaultsEmulatorStopsMidRun stops the emulator (as if the server died)
// once a sync has written a few files: the run exits 1, naming every secret
// it could not read as unreachable, the secrets queued behind the two in
// flight cost no request, every file present is whole, and no temporary
// file is left anywhere under the root.
func TestFaultsEmulatorStopsMidRun(t *testing.T) {
	const n, budget = 40, 2 * time.Second
	payloads := faultPayloads(t, n)
	seed := seedOf(t, n, func(i int) string { return payloads[i] })
	addr, srv := emulator.StartForTest(t, seed, emulator.Options{Latency: 30 * time.Millisecond, Jitter: 10 * time.Millisecond})
	root := t.TempDir()
	cmd := program(t, addr, "--log-level=debug", "sync", "--all", "--root", root, "--concurrency", "2")
	cmd.Env = append(cmd.Env, "CI_SECRETS_RETRY_OVERALL="+budget.String())
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for countFiles(t, root, "config.json") < 5 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			t.Fatalf("no 5 files written within 20 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	srv.Stop()
	stopped := time.Now()
	var err error
	select {
	case err = <-exited:
	case <-time.After(5 * time.Minute):
		// A hang guard, not a speed check: the run must end at all.
		_ = cmd.Process.Kill()
		<-exited
		t.Fatalf("sync still running 5 minutes after the server died")
	}
	took := time.Since(stopped)
	assertNoLeak(t, seedValues(seed), stdout.String(), stderr.String())
	t.Logf("sync exited %v %v after the server stopped (retry budget %v)", err, took.Round(time.Millisecond), budget)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFailed {
		t.Fatalf("exit = %v, want status 1; stderr tail:\n%s", err, tail(stderr.String(), 10))
	}
	// Once no connection can be made for the connect budget the client
	// halts, so the secrets still queued fail without a request of their
	// own: the access requests are those of the written secrets plus the
	// retries of the two readers in flight, however many secrets were left.
	// (Each queued secret retrying on its own would cost several each.)
	acc := regexp.MustCompile(`(?m)^wrote (\d+) files?, \d+ failed; cost: \d+ read requests?, (\d+) access requests?`).FindStringSubmatch(stdout.String())
	if acc == nil {
		t.Fatalf("no cost on the summary line:\n%s", tail(stdout.String(), 3))
	}
	var wroteN, accesses int
	fmt.Sscan(acc[1], &wroteN)
	fmt.Sscan(acc[2], &accesses)
	if limit := wroteN + 2*20; accesses > limit {
		t.Errorf("%d access requests for %d written of %d secrets; want at most %d: the queued secrets kept trying after the client gave up", accesses, wroteN, n, limit)
	}

	tr := inspectTree(t, root, payloads)
	if len(tr.temps) != 0 {
		t.Errorf("temporary files left: %v", tr.temps)
	}
	// Every secret is accounted for: written (and present) or named as failed.
	m := regexp.MustCompile(`(?m)^wrote (\d+) files?, (\d+) failed; cost: `).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no summary line on stdout:\n%s", tail(stdout.String(), 5))
	}
	var wrote, failed int
	fmt.Sscan(m[1], &wrote)
	fmt.Sscan(m[2], &failed)
	t.Logf("%d written before the server died, %d failed", wrote, failed)
	// Each secret has its own budget, but once the server has answered
	// nothing for a whole budget the queued ones must not wait out theirs.
	// Counted, not timed: a secret waiting out its budget retries several
	// times (backoff from 100 ms within 2 s), while after the first budget
	// the queued ones give up at their first failure, so only the few in
	// flight when the server died retry at all.
	rm := regexp.MustCompile(`(?m)^wrote .*, (\d+) retr(?:y|ies)$`).FindStringSubmatch(stdout.String())
	if rm == nil {
		t.Fatalf("summary line has no retry count:\n%s", tail(stdout.String(), 3))
	}
	var retries int
	fmt.Sscan(rm[1], &retries)
	t.Logf("%d retries in all", retries)
	if failed > 0 && retries >= 2*failed {
		t.Errorf("%d retries for %d failed secrets: each queued secret waited out its own retry budget after the server died", retries, failed)
	}
	if wrote != len(tr.files) || wrote+failed != n || failed == 0 || wrote < 5 {
		t.Errorf("summary says %d written, %d failed; %d files present, %d secrets", wrote, failed, len(tr.files), n)
	}
	present := map[int]bool{}
	for _, i := range tr.files {
		present[i] = true
	}
	var names []string
	for i := range n {
		if present[i] {
			continue
		}
		id := fmt.Sprintf("SECRET_SOURCE-S%d_CREDS", i)
		names = append(names, id)
		// The summary says what happened to it: the server stayed unavailable
		// through the retries.
		line := regexp.MustCompile(`(?m)^FAILED ` + id + `: (.*)$`).FindStringSubmatch(stdout.String())
		if line == nil {
			t.Errorf("summary has no FAILED line for %s, whose file is absent", id)
			continue
		}
		if len(names) == 1 {
			t.Logf("for example: FAILED %s: %s", id, line[1])
		}
		if !strings.Contains(line[1], "read "+id) || !(strings.Contains(line[1], "cannot reach Secret Manager: nothing answered gRPC at "+addr) ||
			strings.Contains(line[1], "Unavailable after retrying")) {
			t.Errorf("FAILED line for %s does not say the server could not be reached: %s", id, line[1])
		}
	}
	if m := regexp.MustCompile(`(?m)^ci-secrets: (\d+) secrets? failed: (.*)$`).FindStringSubmatch(stderr.String()); m == nil {
		t.Errorf("stderr has no final error naming the failed secrets:\n%s", tail(stderr.String(), 5))
	} else if got := strings.Split(m[2], ", "); fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(names)) {
		t.Errorf("final error names %d secrets, %d files are absent: %v vs %v", len(got), len(names), got, names)
	}
}

func sorted(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}

// TestConcurrentSyncsIntoOneTree runs four syncs of the same secrets into one
// monorepo at once (parallel CI jobs sharing a workspace): each one's
// clean-up of stale temporary files must leave the others' files in progress
// alone, so all four succeed and the tree ends whole with no temporary file.
func TestConcurrentSyncsIntoOneTree(t *testing.T) {
	const n, runs = 150, 4
	payloads := faultPayloads(t, n)
	seed := seedOf(t, n, func(i int) string { return payloads[i] })
	addr, _ := emulator.StartForTest(t, seed, emulator.Options{Latency: time.Millisecond, Jitter: 10 * time.Millisecond})
	root := t.TempDir()
	results := make([]ran, runs)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Go(func() {
			cmd := program(t, addr, "--log-level=debug", "sync", "--all", "--root", root, "--concurrency", "8")
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			results[i] = ran{stdout: stdout.String(), stderr: stderr.String()}
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				results[i].code = ee.ExitCode()
			} else if err != nil {
				results[i].code = -1
			}
		})
	}
	wg.Wait()
	for i, r := range results {
		assertNoLeak(t, seedValues(seed), r.stdout, r.stderr)
		if r.code != exitOK {
			t.Errorf("run %d of %d exited %d; stderr tail:\n%s", i+1, runs, r.code, tail(r.stderr, 8))
		}
	}
	tr := inspectTree(t, root, payloads)
	if len(tr.files) != n || len(tr.temps) != 0 {
		t.Errorf("%d of %d files, temporary files left: %v", len(tr.files), n, tr.temps)
	}
}
