package secretsync_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/gsm/emulator"
	"github.com/airbytehq/ci-secrets/labels"
	"github.com/airbytehq/ci-secrets/secretsync"
	"github.com/airbytehq/ci-secrets/writer"
)

// BenchmarkSync1000 is the speed target of the sync issue: 1,000 secrets of
// 2 KiB from an emulator answering every call after 20 ms. It reports the wall
// time of one whole sync (list + reads + writes) at the default concurrency,
// the ideal for that concurrency (one list + ceil(1000/c) x 20 ms), and the
// same sync read one secret after the other, plus the emulator's call counts.
//
//	go test ./secretsync -run '^$' -bench Sync1000 -benchtime 1x
func BenchmarkSync1000(b *testing.B) {
	const n, latency = 1000, 20 * time.Millisecond
	seed := benchSeed(b, n, 2048)
	for _, c := range []int{secretsync.DefaultConcurrency, 1} {
		name := fmt.Sprintf("concurrency=%d", c)
		if c == 1 && testing.Short() {
			continue
		}
		b.Run(name, func(b *testing.B) {
			var wall time.Duration
			var calls map[string]int
			for range b.N {
				w, cl := syncOnce(b, seed, latency, c)
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

func syncOnce(b *testing.B, seed *emulator.Seed, latency time.Duration, concurrency int) (time.Duration, map[string]int) {
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
	res, err := secretsync.Run(ctx, client, writer.Layout{Root: root}, entries, secretsync.Options{All: true, Concurrency: concurrency})
	wall := time.Since(start)
	b.StopTimer()
	if err != nil || !res.OK() || len(res.Written) != len(seed.Secrets) {
		b.Fatalf("sync: %v, %d written, failures %v", err, len(res.Written), res.Failed)
	}
	return wall, srv.Calls()
}
