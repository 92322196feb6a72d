//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

// execSecret is the value each connector's secret holds in these tests.
func execSecret(i int) string {
	return fmt.Sprintf(`{"password": "exec-test-secret-%d-value", "database": "exec-plain-db-%d"}`, i, i)
}

// snapshot lists every path under root (folders with a trailing slash) with
// the mode and, for files, the content, so a tree can be compared before
// and after a run.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			out[rel+"/"] = fi.Mode().String()
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out[rel] = fi.Mode().String() + " " + string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diffTrees(before, after map[string]string) []string {
	var d []string
	for k, v := range after {
		if w, ok := before[k]; !ok {
			d = append(d, "added "+k)
		} else if w != v {
			d = append(d, "changed "+k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			d = append(d, "missing "+k)
		}
	}
	sort.Strings(d)
	return d
}

// waitFor polls until path exists; the deadline only keeps a broken test
// from hanging, it is not a speed claim.
func waitFor(t *testing.T, path string, cmd *exec.Cmd, stderr *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if cmd.ProcessState != nil || time.Now().After(deadline) {
			t.Fatalf("%s never appeared; stderr:\n%s", path, stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startExec starts ci-secrets with args in root and waits until the file
// ready appears there (the command is running).
func startExec(t *testing.T, addr, root, ready string, args ...string) (cmd *exec.Cmd, stdout, stderr *bytes.Buffer) {
	t.Helper()
	cmd = program(t, addr, args...)
	cmd.Dir = root
	stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, filepath.Join(root, ready), cmd, stderr)
	return cmd, stdout, stderr
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("run: %v", err)
	return -1
}

// TestExecForwardsSignals sends SIGTERM, SIGINT and SIGHUP to exec while its
// command runs: the command gets each (its trap's status comes back), or
// dies of it (128+N), and the files are gone afterwards.
func TestExecForwardsSignals(t *testing.T) {
	seed := seedOf(t, 1, execSecret)
	addr, _ := emulator.StartForTest(t, seed, emulator.Options{})
	cases := []struct {
		sig  syscall.Signal
		trap bool
		want int
	}{
		{syscall.SIGTERM, true, 7},
		{syscall.SIGINT, true, 7},
		{syscall.SIGHUP, true, 7},
		{syscall.SIGTERM, false, 128 + int(syscall.SIGTERM)},
		{syscall.SIGINT, false, 128 + int(syscall.SIGINT)},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v trap=%v", c.sig, c.trap), func(t *testing.T) {
			root := t.TempDir()
			before := snapshot(t, root)
			script := `touch ready; while :; do sleep 0.05; done`
			if c.trap {
				script = `trap 'echo got it; exit 7' ` + sigName(c.sig) + "; " + script
			}
			cmd, stdout, stderr := startExec(t, addr, root, "ready", "exec", "source-s0", "--root", root, "--", "sh", "-c", script)
			if _, err := os.Stat(targetOf(root, 0)); err != nil {
				t.Fatalf("the secret is not in place while the command runs: %v", err)
			}
			os.Remove(filepath.Join(root, "ready"))
			if err := cmd.Process.Signal(c.sig); err != nil {
				t.Fatal(err)
			}
			if got := exitCode(t, cmd.Wait()); got != c.want {
				t.Fatalf("exit status %d, want %d; stderr:\n%s", got, c.want, stderr.String())
			}
			if c.trap && !strings.Contains(stdout.String(), "got it") {
				t.Errorf("the command's trap did not run; stdout %q", stdout.String())
			}
			if d := diffTrees(before, snapshot(t, root)); len(d) > 0 {
				t.Errorf("left behind: %v", d)
			}
			assertNoLeak(t, seedValues(seed), stdout.String(), stderr.String())
		})
	}
}

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGHUP:
		return "HUP"
	}
	return strconv.Itoa(int(s))
}

// TestExecKilledThenClean kills exec with SIGKILL while its command runs,
// over several rounds with a growing number of connectors, some with a file
// there before: its files are left (nothing could remove them), and then
// `clean` leaves the tree exactly as it was, moved files put back. In the
// last round a sync, not clean, finishes the job.
func TestExecKilledThenClean(t *testing.T) {
	const rounds = 6
	seed := seedOf(t, 8, execSecret)
	addr, _ := emulator.StartForTest(t, seed, emulator.Options{})
	t.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	var connectors, leftFiles, removed, restored, leftAfter int
	for round := range rounds {
		n := []int{1, 3, 5, 7, 2, 4}[round] // connectors; the last round syncs source-s7 after
		root, before := treeWithLocalConfigs(t, n)
		args := []string{"exec", "--root", root}
		for i := range n {
			args = append(args, fmt.Sprintf("source-s%d", i))
		}
		args = append(args, "--", "sh", "-c", `echo $$ > child.pid; touch ready; while :; do sleep 0.05; done`)
		cmd, stdout, stderr := startExec(t, addr, root, "ready", args...)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		// The command outlives a SIGKILLed exec (nothing could stop it);
		// end it, and the test's own marker files.
		if pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(root, "child.pid")))); err == nil {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
		os.Remove(filepath.Join(root, "child.pid"))
		os.Remove(filepath.Join(root, "ready"))
		left := diffTrees(before, snapshot(t, root))
		connectors += n
		if len(left) == 0 {
			t.Fatalf("round %d: a killed exec left nothing, so the test proves nothing", round)
		}
		leftFiles += len(left)
		switch round {
		case rounds - 2:
			// So does the next exec, of another connector.
			r := runChecked(t, addr, seed, "exec", "source-s7", "--root", root, "--", "true")
			if r.code != 0 || !strings.Contains(r.stderr, "finished the clean-up of an exec run that did not end") {
				t.Errorf("round %d: exec exited %d and did not report the clean-up:\n%s", round, r.code, r.stderr)
			}
		case rounds - 1:
			// A sync of another connector finishes the clean-up first.
			r := runChecked(t, addr, seed, "sync", "source-s7", "--root", root)
			if r.code != 0 || !strings.Contains(r.stderr, "finished the clean-up of an exec run that did not end") {
				t.Errorf("round %d: sync exited %d and did not report the clean-up:\n%s", round, r.code, r.stderr)
			}
			if err := os.RemoveAll(filepath.Dir(filepath.Dir(targetOf(root, 7)))); err != nil {
				t.Fatal(err)
			}
		default:
			r := runChecked(t, addr, seed, "clean", "--root", root, "--output", "json")
			if r.code != 0 {
				t.Fatalf("round %d: clean exited %d:\n%s", round, r.code, r.stderr)
			}
			var rep cleanReport
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("round %d: clean's JSON: %v\n%s", round, err, r.stdout)
			}
			if rep.Runs != 1 {
				t.Errorf("round %d: clean finished %d runs, want 1", round, rep.Runs)
			}
			removed += len(rep.Removed)
			restored += len(rep.Restored)
		}
		after := diffTrees(before, snapshot(t, root))
		leftAfter += len(after)
		if len(after) > 0 {
			t.Errorf("round %d (%d connectors): after clean-up, differences remain: %v", round, n, after)
		}
		assertNoLeak(t, seedValues(seed), stdout.String(), stderr.String())
	}
	t.Logf("%d rounds, %d connectors in all: SIGKILL mid-command left %d differences from the tree before (files written, files moved aside, folders, .gitignore, manifests); "+
		"clean removed %d files and folders and restored %d files (in the last two rounds an exec and a sync did it); %d differences remained",
		rounds, connectors, leftFiles, removed, restored, leftAfter)
}

// treeWithLocalConfigs is a new tree in which every other one of n
// connectors has a config of its own (0640, in a 0755 folder), and its
// snapshot.
func treeWithLocalConfigs(t *testing.T, n int) (string, map[string]string) {
	t.Helper()
	root := t.TempDir()
	for i := 0; i < n; i += 2 {
		p := targetOf(root, i)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(fmt.Sprintf(`{"local": %d}`, i)), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return root, snapshot(t, root)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestExecTwoInOneTree: two execs of different connectors in one tree each
// keep their files until their own command ends; a third exec of a
// connector in use is refused and changes nothing.
func TestExecTwoInOneTree(t *testing.T) {
	seed := seedOf(t, 2, execSecret)
	addr, _ := emulator.StartForTest(t, seed, emulator.Options{})
	root := t.TempDir()
	before := snapshot(t, root)
	a, aOut, aErr := startExec(t, addr, root, "a-ready", "exec", "source-s0", "--root", root, "--", "sh", "-c",
		`touch a-ready; while [ ! -e a-go ]; do sleep 0.05; done; test -f airbyte-integrations/connectors/source-s0/secrets/config.json && echo a-still-has-its-file`)

	b := runCheckedIn(t, root, addr, seed, "exec", "source-s1", "--root", root, "--", "sh", "-c", "test -f "+targetOf(root, 1)+" && test -f "+targetOf(root, 0)+" && echo b-sees-both")
	if b.code != 0 || !strings.Contains(b.stdout, "b-sees-both") {
		t.Fatalf("second exec: status %d, stdout %q, stderr:\n%s", b.code, b.stdout, b.stderr)
	}
	if _, err := os.Stat(targetOf(root, 0)); err != nil {
		t.Fatalf("the second exec removed the first one's file: %v", err)
	}
	if _, err := os.Stat(targetOf(root, 1)); err == nil {
		t.Fatalf("the second exec left its file")
	}
	c := runCheckedIn(t, root, addr, seed, "exec", "source-s0", "--root", root, "--", "sh", "-c", "echo ran > c-ran")
	if c.code != exitFailed || !strings.Contains(c.stderr, "another exec that is still running uses the same secrets files") {
		t.Fatalf("exec of a connector in use: status %d, stderr:\n%s", c.code, c.stderr)
	}
	if _, err := os.Stat(filepath.Join(root, "c-ran")); err == nil {
		t.Fatal("the refused exec ran its command")
	}
	if err := os.WriteFile(filepath.Join(root, "a-go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := exitCode(t, a.Wait()); got != 0 || !strings.Contains(aOut.String(), "a-still-has-its-file") {
		t.Fatalf("first exec: status %d, stdout %q, stderr:\n%s", got, aOut.String(), aErr.String())
	}
	os.Remove(filepath.Join(root, "a-ready"))
	os.Remove(filepath.Join(root, "a-go"))
	if d := diffTrees(before, snapshot(t, root)); len(d) > 0 {
		t.Errorf("left behind: %v", d)
	}
	assertNoLeak(t, seedValues(seed), aOut.String(), aErr.String())
}

// runCheckedIn is runChecked with the command's working folder set.
func runCheckedIn(t *testing.T, dir, addr string, seed *emulator.Seed, args ...string) ran {
	t.Helper()
	cmd := program(t, addr, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r := ran{code: exitCode(t, cmd.Run()), stdout: stdout.String(), stderr: stderr.String()}
	assertNoLeak(t, seedValues(seed), r.stdout, r.stderr)
	return r
}

// TestExecUnderTerminal runs exec with a terminal as stdout: the command
// sees a terminal too, and its output is still redacted.
func TestExecUnderTerminal(t *testing.T) {
	seed := seedOf(t, 1, execSecret)
	addr, _ := emulator.StartForTest(t, seed, emulator.Options{})
	root := t.TempDir()
	cmd := program(t, addr, "exec", "source-s0", "--root", root, "--", "sh", "-c",
		`test -t 1 && echo stdout-is-a-terminal; printf 'exec-test-secret-'; sleep 0.1; echo '0-value shown'`)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	tty, err := pty.Start(cmd) // stdin and stdout of exec are the terminal
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	out, _ := io.ReadAll(tty) // ends with EIO once exec and the command are gone
	if got := exitCode(t, cmd.Wait()); got != 0 {
		t.Fatalf("exit status %d; output %q; stderr:\n%s", got, out, stderr.String())
	}
	text := string(out)
	if !strings.Contains(text, "stdout-is-a-terminal") {
		t.Errorf("the command did not get a terminal: %q", text)
	}
	if !strings.Contains(text, "*** shown") {
		t.Errorf("the value was not redacted as expected: %q", text)
	}
	assertNoLeak(t, seedValues(seed), text, stderr.String())
	if _, err := os.Stat(targetOf(root, 0)); err == nil {
		t.Error("the secret file was left")
	}
}

// TestExecMaskPolicy: --mask-except-key leaves the values under a key
// readable in the output (and names its path, never its value, in the
// summary); --redact=false passes output as it is. Both show values on
// purpose, so the leak check is not run on them.
func TestExecMaskPolicy(t *testing.T) {
	seed := seedOf(t, 1, execSecret)
	addr, _ := emulator.StartForTest(t, seed, emulator.Options{})
	root := t.TempDir()
	show := `echo "db=exec-plain-db-0 pw=exec-test-secret-0-value"`
	summary := filepath.Join(t.TempDir(), "summary.md")
	for _, c := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"--mask-except-key", "database"}, nil, "db=exec-plain-db-0 pw=***"},
		{nil, []string{"CI_SECRETS_MASK_EXCEPT=other,database"}, "db=exec-plain-db-0 pw=***"},
		{nil, nil, "db=*** pw=***"},
		{[]string{"--redact=false"}, nil, "db=exec-plain-db-0 pw=exec-test-secret-0-value"},
	} {
		args := append(append([]string{"exec", "source-s0", "--root", root}, c.args...), "--", "sh", "-c", show)
		cmd := program(t, addr, args...)
		cmd.Env = append(cmd.Env, c.env...)
		cmd.Env = append(cmd.Env, "GITHUB_STEP_SUMMARY="+summary)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if got := exitCode(t, cmd.Run()); got != 0 {
			t.Fatalf("%v: status %d; stderr:\n%s", c.args, got, stderr.String())
		}
		if strings.TrimSpace(stdout.String()) != c.want {
			t.Errorf("%v %v: output %q, want %q", c.args, c.env, stdout.String(), c.want)
		}
		if strings.Contains(stderr.String(), "exec-plain-db-0") {
			t.Errorf("%v: an exempted value reached exec's own report:\n%s", c.args, stderr.String())
		}
	}
	md := readFile(t, summary)
	if !strings.Contains(md, "- `database`") || strings.Contains(md, "exec-plain-db-0") || strings.Contains(md, "exec-test-secret") {
		t.Errorf("step summary:\n%s", md)
	}
}

// TestExecKilledAnywhereThenClean kills exec with SIGKILL at random moments
// of its whole run (listing, moving files aside, writing, the command,
// its own clean-up), with connectors that have a file of their own: after
// `clean` the tree is always exactly as before. The kill moments are drawn
// from a clean run's duration, and the test insists that a fair share of
// them left something to clean.
func TestExecKilledAnywhereThenClean(t *testing.T) {
	const n, iterations = 6, 24
	seed := seedOf(t, n, execSecret)
	addr, _ := emulator.StartForTest(t, seed, emulator.Options{Latency: 2 * time.Millisecond, Jitter: 5 * time.Millisecond})
	t.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	setup := func() (string, map[string]string) { return treeWithLocalConfigs(t, n) }
	args := []string{"exec", "--root", "ROOT"}
	for i := range n {
		args = append(args, fmt.Sprintf("source-s%d", i))
	}
	args = append(args, "--", "sh", "-c", `echo $$ > ../child.pid; sleep 0.05`)
	argsFor := func(root string) []string {
		a := slices.Clone(args)
		a[2] = root
		return a
	}
	// The command writes its pid next to the tree, so the tree compares clean.
	calib, before := setup()
	start := time.Now()
	if r := runCheckedIn(t, calib, addr, seed, argsFor(calib)...); r.code != 0 {
		t.Fatalf("calibration run exited %d:\n%s", r.code, r.stderr)
	}
	window := time.Since(start)
	os.Remove(filepath.Join(filepath.Dir(calib), "child.pid"))
	if d := diffTrees(before, snapshot(t, calib)); len(d) > 0 {
		t.Fatalf("a clean run left: %v", d)
	}
	s1, s2 := rand.Uint64(), rand.Uint64()
	t.Logf("a whole exec took %v; kills drawn from [0, %v); kill-delay seed %d,%d", window.Round(time.Millisecond), window.Round(time.Millisecond), s1, s2)
	rng := rand.New(rand.NewPCG(s1, s2))
	var nothingLeft, somethingLeft, diffsLeft, remaining, landed, finished int
	// The calibration run may be slow (a cold start, a loaded machine) and
	// the window too long: a run that ended before its kill narrows it, and
	// only kills that landed count toward the iterations.
	for it := 0; landed < iterations && it < 4*iterations; it++ {
		root, before := setup()
		cmd := program(t, addr, argsFor(root)...)
		cmd.Dir = root
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(window))))
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			landed++
		} else {
			finished++
			window = max(window*3/4, time.Millisecond)
		}
		pidFile := filepath.Join(filepath.Dir(root), "child.pid")
		if data, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
				_ = syscall.Kill(-pid, syscall.SIGKILL)
			}
			os.Remove(pidFile)
		}
		assertNoLeak(t, seedValues(seed), stdout.String(), stderr.String())
		left := diffTrees(before, snapshot(t, root))
		if len(left) == 0 {
			nothingLeft++
		} else {
			somethingLeft++
			diffsLeft += len(left)
		}
		if r := runChecked(t, addr, seed, "clean", "--root", root); r.code != 0 {
			t.Fatalf("iteration %d: clean exited %d:\n%s", it, r.code, r.stderr)
		}
		if d := diffTrees(before, snapshot(t, root)); len(d) > 0 {
			remaining += len(d)
			t.Errorf("iteration %d: after clean: %v (left by the kill: %v)", it, d, left)
		}
	}
	t.Logf("%d kills landed (%d runs ended first and narrowed the window to %v): %d left the tree unchanged (before the manifest, or after exec's own clean-up), %d left %d differences in all; after clean, %d differences remained",
		landed, finished, window.Round(time.Millisecond), nothingLeft, somethingLeft, diffsLeft, remaining)
	if landed < iterations {
		t.Errorf("only %d of %d kills landed before exec ended; the test proves too little", landed, iterations)
	}
	if somethingLeft < iterations/4 {
		t.Errorf("only %d of %d kills left something to clean; the test proves too little", somethingLeft, iterations)
	}
}
