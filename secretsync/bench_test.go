package secretsync_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/gsm/emulator"
	"github.com/airbytehq/ci-secrets/labels"
	"github.com/airbytehq/ci-secrets/secretsync"
	"github.com/airbytehq/ci-secrets/writer"
)

// BenchmarkSync1000 is the speed target of the sync issue: 1,000 secrets of
// 2 KiB, one per connector, from an emulator answering every call after 20 ms.
// It reports the wall time of one whole sync (list + reads + writes) at the
// default concurrency, the ideal for that concurrency (one list +
// ceil(1000/c) x 20 ms), and the same sync read one secret after the other,
// plus the emulator's call counts.
//
// Each runs twice: dest=disk writes the 1,000 files (1,000 new folders, each
// file synced) into a temporary folder, dest=discard hands the payloads to a
// destination that drops them, which isolates what concurrency over the
// network achieves from what the machine's disk costs.
// TMPDIR=/dev/shm puts dest=disk on tmpfs: every file-system call is still
// made, but without a disk's journal, which shows the program's own cost.
// dest=floor makes only the file-system calls a sync needs (a folder per
// connector, a file created, written, synced and renamed into it) from as
// many goroutines, with no network and no program around them: what this
// machine's disk allows at best, measured in the same run, since a shared
// disk's speed varies by a factor of two from one minute to the next.
//
//	go test ./secretsync -run '^$' -bench Sync1000 -benchtime 1x
func BenchmarkSync1000(b *testing.B) {
	const n, latency = 1000, 20 * time.Millisecond
	seed := benchSeed(b, n, 2048)
	b.Run(fmt.Sprintf("dest=floor/concurrency=%d", secretsync.DefaultConcurrency), func(b *testing.B) {
		var wall time.Duration
		for range b.N {
			wall += fsFloor(b, n, 2048, secretsync.DefaultConcurrency)
		}
		b.ReportMetric((wall / time.Duration(b.N)).Seconds(), "floor-s")
	})
	for _, dest := range []string{"disk", "discard"} {
		for _, c := range []int{secretsync.DefaultConcurrency, 1} {
			if c == 1 && testing.Short() {
				continue
			}
			b.Run(fmt.Sprintf("dest=%s/concurrency=%d", dest, c), func(b *testing.B) {
				var wall time.Duration
				var calls map[string]int
				for range b.N {
					w, cl := syncOnce(b, seed, latency, c, dest == "discard")
					wall += w
					calls = cl
				}
				wall /= time.Duration(b.N)
				ideal := latency * time.Duration(1+math.Ceil(float64(n)/float64(c)))
				b.ReportMetric(wall.Seconds(), "wall-s")
				b.ReportMetric(ideal.Seconds(), "ideal-s")
				b.ReportMetric(float64(wall)/float64(ideal), "x-ideal")
				b.ReportMetric(float64(calls["ListSecrets"]), "ListSecrets")
				b.ReportMetric(float64(calls["ListSecretVersions"]), "ListSecretVersions")
				b.ReportMetric(float64(calls["AccessSecretVersion"]), "AccessSecretVersion")
			})
		}
	}
}

// fsFloor times the bare file-system work of writing n files of size bytes
// into n new folders, par at a time, the way the writer does it.
func fsFloor(b *testing.B, n, size, par int) time.Duration {
	b.Helper()
	b.StopTimer()
	root := b.TempDir()
	data := make([]byte, size)
	work := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	b.StartTimer()
	start := time.Now()
	for range par {
		wg.Go(func() {
			for i := range work {
				dir := filepath.Join(root, "airbyte-integrations", "connectors", fmt.Sprintf("source-b%04d", i), "secrets")
				if err := os.MkdirAll(dir, 0o700); err != nil {
					errs <- err
					continue
				}
				tmp := filepath.Join(dir, ".tmp")
				f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
				if err != nil {
					errs <- err
					continue
				}
				_, werr := f.Write(data)
				serr := f.Sync()
				cerr := f.Close()
				if err := errors.Join(werr, serr, cerr, os.Rename(tmp, filepath.Join(dir, "config.json"))); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	wall := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return wall
}

// discard is a destination that checks nothing and keeps nothing.
type discard struct{ writer.Layout }

func (discard) Prepare(context.Context, string) error { return nil }
func (discard) Write(_ context.Context, dir, file string, _ []byte) (writer.Written, error) {
	return writer.Written{Path: dir + "/" + file, Status: writer.Wrote}, nil
}

func benchSeed(tb testing.TB, n, size int) *emulator.Seed {
	tb.Helper()
	var sb strings.Builder
	sb.WriteString(`{"project": "bench", "secrets": [`)
	pad := strings.Repeat("x", size-40)
	for i := range n {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"name": "SECRET_SOURCE-B%04d_CREDS", "labels": {"connector": "source-b%04d"}, "versions": [{"data": "{\"i\": %d, \"pad\": \"%s\"}"}]}`, i, i, i, pad)
	}
	sb.WriteString("]}")
	seed, err := emulator.ParseSeed(strings.NewReader(sb.String()))
	if err != nil {
		tb.Fatal(err)
	}
	return seed
}

func syncOnce(b *testing.B, seed *emulator.Seed, latency time.Duration, concurrency int, drop bool) (time.Duration, map[string]int) {
	b.Helper()
	b.StopTimer()
	addr, srv := emulator.StartForTest(b, seed, emulator.Options{Latency: latency})
	cfg, err := gsm.Resolve(gsm.Settings{Endpoint: addr, Project: seed.Project, Getenv: func(string) string { return "" }})
	if err != nil {
		b.Fatal(err)
	}
	client, err := gsm.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	root := b.TempDir()
	b.StartTimer()
	start := time.Now()
	ctx := context.Background()
	secrets, err := client.ListSecrets(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var entries []labels.Entry
	for _, s := range secrets {
		if e, ok := labels.Classify(s.ID, s.Labels); ok {
			entries = append(entries, e)
		}
	}
	var dst secretsync.Destination = writer.Layout{Root: root}
	if drop {
		dst = discard{writer.Layout{Root: root}}
	}
	res, err := secretsync.Run(ctx, client, dst, entries, secretsync.Options{All: true, Concurrency: concurrency})
	wall := time.Since(start)
	b.StopTimer()
	if err != nil || !res.OK() || len(res.Written) != len(seed.Secrets) {
		b.Fatalf("sync: %v, %d written, failures %v", err, len(res.Written), res.Failed)
	}
	return wall, srv.Calls()
}
