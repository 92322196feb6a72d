//go:build linux

package bench

// The issue "Memory and start-up": a sync of 1,000 secrets of 64 KiB (each
// just under GSM's limit) must stay under 64 MiB of peak RSS, because payloads
// go to disk as they arrive instead of piling up, and `ci-secrets --help` must
// start in well under 50 ms. Both are properties of the shipped binary, so the
// evidence runs it: the test process builds ./cmd/ci-secrets once (never with
// -race, whatever the test binary was built with), serves the embedded
// emulator, and runs the binary as a child.
//
// Peak RSS is the child's ru_maxrss, read through footprint_spawn.go, a small
// parent process of its own: Linux charges a child that execs with the peak
// RSS of the memory it shared before the exec, and Go starts children with
// CLONE_VM, so a direct child of this test process would report this
// process's peak (the emulator's 64 MiB and its seed's 64 MiB), not its own.
//
// Memory is asserted (TestSyncPeakRSSUnder64MiB, skipped in -short); time is
// only reported (BenchmarkFootprint), never asserted.
//
//	go test ./bench -run '^$' -bench Footprint -benchtime 1x

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/gsm/emulator"
	"github.com/airbytehq/ci-secrets/secretsync"
)

const (
	footprintSecrets = 1000
	// footprintPayload is just under GSM's 64 KiB limit.
	footprintPayload = gsm.MaxPayload - 16
	footprintRSSMiB  = 64
	footprintHelpRun = 20
)

// footprintBin holds the binaries built once per test process (removed by
// TestMain).
var footprintBin struct {
	once      sync.Once
	dir       string
	ciSecrets string
	spawner   string
	err       error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if footprintBin.dir != "" {
		os.RemoveAll(footprintBin.dir)
	}
	os.Exit(code)
}

// footprintBinaries builds ci-secrets and footprint_spawn on first use.
func footprintBinaries(tb testing.TB) (ciSecrets, spawner string) {
	tb.Helper()
	b := &footprintBin
	b.once.Do(func() { b.err = buildFootprintBinaries() })
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return b.ciSecrets, b.spawner
}

func buildFootprintBinaries() error {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the footprint benchmark builds the real binary and needs the go command on PATH: %w", err)
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "ci-secrets-footprint-")
	if err != nil {
		return err
	}
	b := &footprintBin
	b.dir = dir
	b.ciSecrets = filepath.Join(dir, "ci-secrets")
	b.spawner = filepath.Join(dir, "footprint_spawn")
	// The shipped binary: no -race, even when GOFLAGS asks for it.
	env := append(os.Environ(), "GOFLAGS="+withoutRace(os.Getenv("GOFLAGS")))
	for _, args := range [][]string{
		{"build", "-o", b.ciSecrets, "./cmd/ci-secrets"},
		{"build", "-o", b.spawner, "./bench/footprint_spawn.go"},
	} {
		cmd := exec.Command(goCmd, args...)
		cmd.Dir, cmd.Env = root, env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

func withoutRace(goflags string) string {
	return strings.Join(slices.DeleteFunc(strings.Fields(goflags), func(f string) bool {
		return f == "-race" || f == "--race" || f == "-race=true"
	}), " ")
}

// moduleRoot is the nearest folder holding go.mod, from the working directory
// (the package folder under go test) up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// footprintData is secret i's payload: valid JSON of exactly size bytes,
// distinct per secret, random letters (no run a transport could shrink).
func footprintData(i, size int) []byte {
	head := fmt.Sprintf(`{"i": %d, "pad": "`, i)
	const tail = `"}`
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	rng := rand.New(rand.NewPCG(uint64(i), 0x5eed))
	b := make([]byte, 0, size)
	b = append(b, head...)
	for len(b) < size-len(tail) {
		b = append(b, letters[rng.IntN(len(letters))])
	}
	return append(b, tail...)
}

func footprintConnector(i int) string { return fmt.Sprintf("source-f%04d", i) }

func footprintSeed(n, size int) *emulator.Seed {
	seed := &emulator.Seed{Project: "footprint", Secrets: make([]emulator.SeedSecret, n)}
	for i := range n {
		seed.Secrets[i] = emulator.SeedSecret{
			Name:     fmt.Sprintf("SECRET_SOURCE-F%04d_CREDS", i),
			Labels:   map[string]string{"connector": footprintConnector(i)},
			Versions: []emulator.SeedVersion{{Data: footprintData(i, size)}},
		}
	}
	return seed
}

// spawnReport is footprint_spawn's report of one run of the binary.
type spawnReport struct {
	Exit          int   `json:"exit"`
	MaxRSSKiB     int64 `json:"maxrss_kib"`
	WallNS        int64 `json:"wall_ns"`
	SpawnerHWMKiB int64 `json:"spawner_hwm_kib"`
}

func (r spawnReport) rssMiB() float64     { return float64(r.MaxRSSKiB) / 1024 }
func (r spawnReport) wall() time.Duration { return time.Duration(r.WallNS) }

// runBinary runs ci-secrets ARGS under footprint_spawn with exactly env (no
// GOGC, GOMEMLIMIT, GITHUB_ACTIONS or credentials leak in from the test's
// environment) and returns its report and output.
func runBinary(tb testing.TB, env []string, args ...string) (spawnReport, string, string) {
	tb.Helper()
	ciSecrets, spawner := footprintBinaries(tb)
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(spawner, append([]string{ciSecrets}, args...)...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &stdout, &stderr
	cmd.ExtraFiles = []*os.File{w}
	err = cmd.Start()
	w.Close()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		tb.Fatalf("footprint_spawn %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var rep spawnReport
	if err := json.NewDecoder(r).Decode(&rep); err != nil {
		tb.Fatalf("footprint_spawn report: %v", err)
	}
	if rep.MaxRSSKiB <= rep.SpawnerHWMKiB {
		// The child's own peak is hidden under what it inherited.
		tb.Logf("ci-secrets %s: peak RSS %d KiB is no more than its parent's %d KiB: an upper bound only",
			strings.Join(args, " "), rep.MaxRSSKiB, rep.SpawnerHWMKiB)
	}
	return rep, stdout.String(), stderr.String()
}

// syncFootprint serves n secrets of size bytes, runs `ci-secrets sync --all`
// at the given concurrency (0: the default) and checks what it wrote.
func syncFootprint(tb testing.TB, n, size, concurrency int) spawnReport {
	tb.Helper()
	seed := footprintSeed(n, size)
	addr, _ := emulator.StartForTest(tb, seed, emulator.Options{})
	root := tb.TempDir()
	env := []string{
		"SECRET_MANAGER_EMULATOR_HOST=" + addr,
		"GCP_PROJECT_ID=" + seed.Project,
		"HOME=" + tb.TempDir(),
	}
	args := []string{"sync", "--all", "--root", root}
	if concurrency > 0 {
		args = append(args, "--concurrency", fmt.Sprint(concurrency))
	}
	rep, stdout, stderr := runBinary(tb, env, args...)
	if rep.Exit != 0 {
		tb.Fatalf("ci-secrets sync exited %d\nstdout (tail): %s\nstderr: %s", rep.Exit, tail(stdout, 2000), stderr)
	}
	if want := fmt.Sprintf("wrote %d files, 0 failed", n); !strings.Contains(stdout, want) {
		tb.Fatalf("summary lacks %q:\n%s", want, tail(stdout, 2000))
	}

	files, err := filepath.Glob(filepath.Join(root, "airbyte-integrations", "connectors", "*", "secrets", "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) != n {
		tb.Fatalf("%d files written, want %d", len(files), n)
	}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			tb.Fatal(err)
		}
		if st.Size() != int64(size) {
			tb.Fatalf("%s: %d bytes, want %d", f, st.Size(), size)
		}
	}
	for _, i := range []int{0, 1, n / 3, n / 2, n - 2, n - 1} {
		p := filepath.Join(root, "airbyte-integrations", "connectors", footprintConnector(i), "secrets", "config.json")
		got, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		if !bytes.Equal(got, seed.Secrets[i].Versions[0].Data) {
			tb.Fatalf("%s differs from secret %s", p, seed.Secrets[i].Name)
		}
	}
	return rep
}

// helpFootprint runs `ci-secrets --help` runs times, after one untimed run
// that warms the page cache, and returns the median and fastest wall time
// (fork, exec, run and exit, as seen by the parent) and the largest peak RSS.
func helpFootprint(tb testing.TB, runs int) (median, fastest time.Duration, rssKiB int64) {
	tb.Helper()
	env := []string{"HOME=" + tb.TempDir()}
	walls := make([]time.Duration, 0, runs)
	for i := range runs + 1 {
		rep, stdout, stderr := runBinary(tb, env, "--help")
		if rep.Exit != 0 || !strings.Contains(stdout, "Usage:") {
			tb.Fatalf("ci-secrets --help exited %d\nstdout: %s\nstderr: %s", rep.Exit, stdout, stderr)
		}
		if i == 0 {
			continue
		}
		walls = append(walls, rep.wall())
		rssKiB = max(rssKiB, rep.MaxRSSKiB)
	}
	slices.Sort(walls)
	return walls[len(walls)/2], walls[0], rssKiB
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// TestSyncPeakRSSUnder64MiB builds the binary (a few seconds the first time)
// and syncs 1,000 secrets of 64 KiB: its peak RSS must stay under 64 MiB,
// which holds only if payloads are written as they arrive.
func TestSyncPeakRSSUnder64MiB(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and moves 64 MiB through the emulator")
	}
	rep := syncFootprint(t, footprintSecrets, footprintPayload, 0)
	t.Logf("sync of %d x %d B at --concurrency %d: peak RSS %.1f MiB (parent %d KiB), %v",
		footprintSecrets, footprintPayload, secretsync.DefaultConcurrency, rep.rssMiB(), rep.SpawnerHWMKiB, rep.wall().Round(time.Millisecond))
	if rep.rssMiB() >= footprintRSSMiB {
		t.Errorf("peak RSS of the sync is %.1f MiB, want under %d MiB", rep.rssMiB(), footprintRSSMiB)
	}
}

// BenchmarkFootprint is the evidence: peak RSS of a sync of 1,000
// secrets of 64 KiB at the default concurrency, and the start-up time of
// `ci-secrets --help` (median and fastest of 20 runs) with its peak RSS.
func BenchmarkFootprint(b *testing.B) {
	var syncRep spawnReport
	var median, fastest time.Duration
	var helpRSS int64
	for range b.N {
		syncRep = syncFootprint(b, footprintSecrets, footprintPayload, 0)
		median, fastest, helpRSS = helpFootprint(b, footprintHelpRun)
	}
	b.ReportMetric(syncRep.rssMiB(), "peak-rss-MiB")
	b.ReportMetric(syncRep.wall().Seconds(), "sync-s")
	b.ReportMetric(float64(median.Microseconds())/1000, "help-ms-median")
	b.ReportMetric(float64(fastest.Microseconds())/1000, "help-ms-min")
	b.ReportMetric(float64(helpRSS)/1024, "help-rss-MiB")
}

// BenchmarkFootprintScaling shows what peak RSS depends on: the number of
// secrets (it should not) and the concurrency (at most a few payloads per
// reader are in flight).
func BenchmarkFootprintScaling(b *testing.B) {
	for _, n := range []int{100, footprintSecrets} {
		for _, c := range []int{1, secretsync.DefaultConcurrency, secretsync.MaxConcurrency} {
			b.Run(fmt.Sprintf("secrets=%d/concurrency=%d", n, c), func(b *testing.B) {
				var rep spawnReport
				for range b.N {
					rep = syncFootprint(b, n, footprintPayload, c)
				}
				b.ReportMetric(rep.rssMiB(), "peak-rss-MiB")
				b.ReportMetric(rep.wall().Seconds(), "sync-s")
			})
		}
	}
}
