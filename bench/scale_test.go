package bench

// The fleet simulation of the issue "Scale, by simulation": GSM quotas are per
// project and shared by every CI job running at once, so what matters is not
// how fast one sync is but whether a fleet of them fits in 600 read requests
// per minute. Many CI jobs each run `ci-secrets sync source-cN` on their own
// machine (their own gsm.Client, their own connection) against ONE emulator
// that enforces GSM's quotas, with time compressed by a factor Scale: a quota
// "minute" lasts 1/Scale of a minute and the client's retry policy (backoff,
// attempt deadline, overall budget) is divided by the same factor, so the
// retry/quota interplay is the one real jobs would see.
//
// What time compression cannot compress is the host's own work: one machine
// plays GSM and every CI machine at once, so a call that costs the host 300 ms
// costs, at Scale 60, 18 simulated seconds. On a 2-CPU host the 200 listings
// of a 2,000-secret project alone take 2-3 s (one takes about 10 ms, client
// and emulator together), which at Scale 60 (a one-second minute) exceeds the
// scaled attempt deadline (0.5 s) and fails jobs with DEADLINE_EXCEEDED that
// no real fleet would see. The benchmark therefore runs at Scale 6 (a
// simulated minute lasts 10 s, the attempt deadline 5 s), where no request of
// ours times out; -fleet.scale changes that, and the benchmark warns when the
// host was too slow for the scale chosen.
//
// Two strategies are compared, all else equal (same client, same retries,
// same concurrency):
//
//   - ours: one ListSecrets per job (one read request for the whole project),
//     then AccessSecretVersion "latest" per secret (access quota, 150 times
//     larger);
//   - legacy: the older tools' pattern, which spends one read request per
//     secret (ListSecretVersions state:ENABLED) before accessing it: N+1 read
//     requests per job (gsm-facts.md, "Quotas").
//
//	go test ./bench -run '^$' -bench CIFleet -benchtime 1x

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/gsm/emulator"
	"github.com/airbytehq/ci-secrets/labels"
	"github.com/airbytehq/ci-secrets/secretsync"
	"github.com/airbytehq/ci-secrets/writer"
)

// fleetStrategy is how a simulated job reads its connector's secrets.
type fleetStrategy string

const (
	fleetOurs   fleetStrategy = "ours"
	fleetLegacy fleetStrategy = "legacy"
)

// fleetConfig is one simulation. The project holds Jobs connectors
// (source-c0000 ...), each with SecretsPerJob secrets written to distinct
// files, and job i syncs connector i.
type fleetConfig struct {
	Jobs          int
	SecretsPerJob int
	// Quota per (simulated) minute, shared by the whole fleet.
	ReadPerMinute   int
	AccessPerMinute int
	// Scale compresses time for the quota windows and the retry policy alike.
	Scale float64
	// Concurrency of each job's reads (secretsync.Options.Concurrency).
	Concurrency int
	// JobDeadline bounds a whole job, in simulated time (0: none); a CI step
	// has a timeout too.
	JobDeadline time.Duration
	// AttemptIsBudget lets an attempt run until the operation's whole retry
	// budget is spent instead of the scaled attempt deadline. No simulated
	// server hangs, so an attempt that outlives the scaled deadline only
	// measures how busy the host is; the test, which asserts counts, must
	// not depend on that.
	AttemptIsBudget bool
}

// Flags to replay the benchmark at another size or speed, e.g.
// go test ./bench -run '^$' -bench CIFleet -benchtime 1x -fleet.jobs 400 -fleet.scale 30
var (
	fleetJobs  = flag.Int("fleet.jobs", fleetDefault().Jobs, "BenchmarkCIFleet: number of CI jobs (= connectors)")
	fleetScale = flag.Float64("fleet.scale", fleetDefault().Scale, "BenchmarkCIFleet: time compression (60: a simulated minute lasts 1s)")
)

// fleetDefault is the fleet: 200 jobs at once, a project of 2,000 CI
// secrets (200 connectors x 10), GSM's production quotas, a simulated minute
// every 10 s (see above for why not every second).
func fleetDefault() fleetConfig {
	return fleetConfig{
		Jobs:            200,
		SecretsPerJob:   10,
		ReadPerMinute:   emulator.GSMReadPerMinute,
		AccessPerMinute: emulator.GSMAccessPerMinute,
		Scale:           6,
		Concurrency:     secretsync.DefaultConcurrency,
		JobDeadline:     10 * time.Minute,
	}
}

// sim converts a simulated duration into real time.
func (c fleetConfig) sim(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.Scale)
}

// retry is the production retry policy with every duration divided by Scale.
// Multiplier and QuotaFactor are ratios and stay as they are.
func (c fleetConfig) retry() gsm.RetryPolicy {
	p := gsm.DefaultRetry()
	p.Initial, p.Max = c.sim(p.Initial), c.sim(p.Max)
	p.Attempt, p.Overall = c.sim(p.Attempt), c.sim(p.Overall)
	if c.AttemptIsBudget {
		p.Attempt = p.Overall
	}
	return p
}

func fleetConnector(i int) string { return fmt.Sprintf("source-c%04d", i) }

// fleetSeed is the project: Jobs x SecretsPerJob secrets named
// SECRET_SOURCE-Cnnnn_Fmm_CREDS, labelled connector=source-cnnnn,
// filename=fmm, each with one small JSON payload.
func fleetSeed(c fleetConfig) *emulator.Seed {
	seed := &emulator.Seed{Project: "fleet", Secrets: make([]emulator.SeedSecret, 0, c.Jobs*c.SecretsPerJob)}
	for i := range c.Jobs {
		conn := fleetConnector(i)
		for j := range c.SecretsPerJob {
			seed.Secrets = append(seed.Secrets, emulator.SeedSecret{
				Name:     fmt.Sprintf("SECRET_%s_F%02d_CREDS", strings.ToUpper(conn), j),
				Labels:   map[string]string{labels.ConnectorKey: conn, labels.FilenameKey: fmt.Sprintf("f%02d", j)},
				Versions: []emulator.SeedVersion{{Data: fmt.Appendf(nil, `{"connector": %q, "file": %d, "password": "pw-%d-%d"}`, conn, j, i, j)}},
			})
		}
	}
	return seed
}

// fleetServed counts the calls the emulator served (answered OK) across the
// fleet. Every successful client operation is exactly one served call (the
// client retries only failed attempts and no version is disabled, so Access
// never falls back).
type fleetServed struct{ read, access atomic.Int64 }

// oursSource is what `ci-secrets sync` does: the client's Access
// (AccessSecretVersion "latest", one access request).
type oursSource struct {
	c      *gsm.Client
	served *fleetServed
}

func (s oursSource) Access(ctx context.Context, id string) (*gsm.Payload, error) {
	p, err := s.c.Access(ctx, id)
	if err == nil {
		s.served.access.Add(1)
	}
	return p, err
}

// legacySource is the older tools' pattern: before reading a secret, list its
// enabled versions (one read request per secret), then access it.
type legacySource struct {
	c      *gsm.Client
	served *fleetServed
}

func (s legacySource) Access(ctx context.Context, id string) (*gsm.Payload, error) {
	vs, err := s.c.ListVersions(ctx, id, "state:ENABLED", 1)
	if err != nil {
		return nil, err
	}
	s.served.read.Add(1)
	if len(vs) == 0 {
		return nil, fmt.Errorf("read %s: %w", id, gsm.ErrNoEnabledVersion)
	}
	p, err := s.c.Access(ctx, id)
	if err == nil {
		s.served.access.Add(1)
	}
	return p, err
}

// fleetJob is the outcome of one simulated CI job.
type fleetJob struct {
	ok      bool
	late    bool // the job deadline ended it
	err     error
	elapsed time.Duration
	stats   gsm.Stats
}

// fleetResult sums up one run of the fleet.
type fleetResult struct {
	Strategy        fleetStrategy
	Jobs, Succeeded int
	Late            int // jobs stopped by their deadline
	// Failed counts the failed jobs by the gRPC code of their first failure
	// ("job deadline" for Late ones).
	Failed map[string]int

	// What the clients spent (gsm.Client.Stats summed over jobs): every
	// attempt is a request, every attempt after an operation's first a retry.
	ReadRequests, AccessRequests, Retries, Fallbacks int64
	ClientRequestTotal                               int64
	// What the emulator saw (Server.Calls) and served.
	ServerCalls               map[string]int
	ServerCallsTotal          int
	ReadsServed, AccessServed int64
	// ResourceExhausted is the calls that reached the emulator and were not
	// served. With no latency, no injected fault and every name valid, the
	// quota is the only reason to refuse a call; a client attempt that timed
	// out (host too slow for the scale) would be counted here too.
	ResourceExhausted int64

	Wall           time.Duration // first job started to last job ended, real time
	SimMinutes     float64       // Wall x Scale
	JobP50, JobMax time.Duration // real time
	FirstError     string
}

func (r fleetResult) perJob(n int64) float64 { return float64(n) / float64(r.Jobs) }

// runFleet starts one emulator with quota enforcement and c.Jobs jobs against
// it, all released at the same instant, and waits for every one to end.
func runFleet(tb testing.TB, c fleetConfig, strategy fleetStrategy) fleetResult {
	tb.Helper()
	seed := fleetSeed(c)
	addr, srv := emulator.StartForTest(tb, seed, emulator.Options{Quota: &emulator.Quota{
		ReadPerMinute:   c.ReadPerMinute,
		AccessPerMinute: c.AccessPerMinute,
		Scale:           c.Scale,
	}})

	// Each job is a separate CI machine: its own client and connection,
	// created before the start so that only the sync itself is timed.
	clients := make([]*gsm.Client, c.Jobs)
	for i := range clients {
		cl, err := gsm.New(context.Background(), gsm.Config{Project: seed.Project, Endpoint: addr, Retry: c.retry()})
		if err != nil {
			tb.Fatalf("job %d: %v", i, err)
		}
		clients[i] = cl
		tb.Cleanup(func() { cl.Close() })
	}
	roots := make([]string, c.Jobs)
	for i := range roots {
		roots[i] = tb.TempDir()
	}

	var served fleetServed
	jobs := make([]fleetJob, c.Jobs)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range c.Jobs {
		wg.Go(func() {
			<-start
			jobs[i] = runFleetJob(c, strategy, clients[i], &served, fleetConnector(i), roots[i])
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	wall := time.Since(t0)

	res := fleetResult{
		Strategy: strategy, Jobs: c.Jobs, Wall: wall, SimMinutes: wall.Minutes() * c.Scale,
		ServerCalls: srv.Calls(), ReadsServed: served.read.Load(), AccessServed: served.access.Load(),
		Failed: map[string]int{},
	}
	elapsed := make([]time.Duration, 0, len(jobs))
	for _, j := range jobs {
		elapsed = append(elapsed, j.elapsed)
		res.ReadRequests += j.stats.ReadRequests
		res.AccessRequests += j.stats.AccessRequests
		res.Retries += j.stats.Retries
		res.Fallbacks += j.stats.Fallbacks
		switch {
		case j.ok:
			res.Succeeded++
		case j.late:
			res.Late++
			res.Failed["job deadline"]++
		default:
			res.Failed[fleetCode(status.Code(j.err))]++
		}
		if !j.ok && res.FirstError == "" {
			res.FirstError = j.err.Error()
		}
	}
	slices.Sort(elapsed)
	res.JobP50, res.JobMax = elapsed[len(elapsed)/2], elapsed[len(elapsed)-1]
	for _, n := range res.ServerCalls {
		res.ServerCallsTotal += n
	}
	res.ClientRequestTotal = res.ReadRequests + res.AccessRequests
	res.ResourceExhausted = int64(res.ServerCallsTotal) - res.ReadsServed - res.AccessServed
	return res
}

// runFleetJob is `ci-secrets sync CONNECTOR` on one CI machine: list the
// project once, classify the labels, sync the connector's secrets into the
// job's own checkout.
func runFleetJob(c fleetConfig, strategy fleetStrategy, client *gsm.Client, served *fleetServed, connector, root string) (j fleetJob) {
	ctx := context.Background()
	if c.JobDeadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.sim(c.JobDeadline))
		defer cancel()
	}
	start := time.Now()
	defer func() {
		j.elapsed = time.Since(start)
		j.stats = client.Stats()
		j.late = !j.ok && errors.Is(ctx.Err(), context.DeadlineExceeded)
	}()

	secrets, err := client.ListSecrets(ctx)
	if err != nil {
		j.err = err
		return j
	}
	served.read.Add(1)
	var entries []labels.Entry
	for _, s := range secrets {
		if e, ok := labels.Classify(s.ID, s.Labels); ok {
			entries = append(entries, e)
		}
	}
	var src secretsync.Source = oursSource{client, served}
	if strategy == fleetLegacy {
		src = legacySource{client, served}
	}
	res, err := secretsync.Run(ctx, src, writer.Layout{Root: root}, entries, secretsync.Options{
		Connectors: []string{connector}, Require: true, Concurrency: c.Concurrency,
	})
	switch {
	case err != nil:
		j.err = err
	case !res.OK():
		j.err = fmt.Errorf("%d of %d secrets failed, first: %w", len(res.Failed), c.SecretsPerJob, res.Failed[0].Err)
	case len(res.Written) != c.SecretsPerJob:
		j.err = fmt.Errorf("%d files written, want %d", len(res.Written), c.SecretsPerJob)
	default:
		j.ok = true
	}
	return j
}

// fleetCode spells a gRPC code as GSM's documentation does.
func fleetCode(c codes.Code) string {
	switch c {
	case codes.ResourceExhausted:
		return "RESOURCE_EXHAUSTED"
	case codes.DeadlineExceeded:
		return "DEADLINE_EXCEEDED"
	case codes.Unavailable:
		return "UNAVAILABLE"
	}
	return strings.ToUpper(c.String())
}

// logFleet prints the comparison as a small table.
func logFleet(tb testing.TB, c fleetConfig, results ...fleetResult) {
	tb.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%d jobs at once, %d secrets (%d per job), quota read %d/min access %d/min, 1 simulated min = %v\n",
		c.Jobs, c.Jobs*c.SecretsPerJob, c.SecretsPerJob, c.ReadPerMinute, c.AccessPerMinute, c.sim(time.Minute))
	fmt.Fprintf(&b, "%-8s %9s %9s %12s %18s %8s %8s %7s %8s %8s\n",
		"strategy", "jobs ok", "reads/job", "accesses/job", "RESOURCE_EXHAUSTED", "retries", "wall", "sim-min", "job p50", "job max")
	for _, r := range results {
		fmt.Fprintf(&b, "%-8s %5d/%-3d %9.2f %12.2f %18d %8d %8s %7.2f %8s %8s\n",
			r.Strategy, r.Succeeded, r.Jobs, r.perJob(r.ReadRequests), r.perJob(r.AccessRequests),
			r.ResourceExhausted, r.Retries, r.Wall.Round(time.Millisecond), r.SimMinutes,
			r.JobP50.Round(time.Millisecond), r.JobMax.Round(time.Millisecond))
	}
	for _, r := range results {
		fmt.Fprintf(&b, "%s: failed jobs by cause %v; emulator calls %v (total %d; client requests %d); served reads %d, accesses %d\n",
			r.Strategy, r.Failed, r.ServerCalls, r.ServerCallsTotal, r.ClientRequestTotal, r.ReadsServed, r.AccessServed)
		if r.FirstError != "" {
			first, _, _ := strings.Cut(r.FirstError, "\n")
			fmt.Fprintf(&b, "%s: first failure: %s\n", r.Strategy, first)
		}
	}
	tb.Log("\n" + strings.TrimSuffix(b.String(), "\n"))
}

// BenchmarkCIFleet runs the fleet (200 jobs, 2,000 secrets, GSM's
// quotas, a simulated minute every 10 s) once per strategy and iteration and
// logs the comparison.
//
//	go test ./bench -run '^$' -bench CIFleet -benchtime 1x
func BenchmarkCIFleet(b *testing.B) {
	c := fleetDefault()
	c.Jobs, c.Scale = *fleetJobs, *fleetScale
	if c.Jobs < 1 || !(c.Scale > 0) {
		b.Fatalf("-fleet.jobs %d and -fleet.scale %v must be positive", c.Jobs, c.Scale)
	}
	var results []fleetResult
	for _, s := range []fleetStrategy{fleetOurs, fleetLegacy} {
		b.Run("strategy="+string(s), func(b *testing.B) {
			var r fleetResult // the last iteration's: meant for -benchtime 1x
			for range b.N {
				r = runFleet(b, c, s)
			}
			b.ReportMetric(float64(r.Succeeded), "jobs-ok")
			b.ReportMetric(float64(r.Jobs-r.Succeeded), "jobs-failed")
			b.ReportMetric(r.perJob(r.ReadRequests), "reads/job")
			b.ReportMetric(r.perJob(r.AccessRequests), "accesses/job")
			b.ReportMetric(float64(r.ResourceExhausted), "resource-exhausted")
			b.ReportMetric(float64(r.Retries), "retries")
			b.ReportMetric(r.Wall.Seconds(), "wall-s")
			b.ReportMetric(r.SimMinutes, "sim-min")
			// The default ns/op would time setup (clients, folders) too.
			b.ReportMetric(0, "ns/op")
			// Sub-benchmarks' logs are printed even without -v: the last
			// one shows the comparison.
			results = append(results, r)
			logFleet(b, c, results...)
			// When ours fits in one minute's quota, any retry of it is an
			// attempt deadline the host missed, not a refusal.
			if s == fleetOurs && r.Retries > 0 && c.Jobs <= c.ReadPerMinute && c.Jobs*c.SecretsPerJob <= c.AccessPerMinute {
				b.Logf("WARNING: %d requests of ours were retried although the quota was never reached: the host is too slow for -fleet.scale %v (attempt deadline %v), and RESOURCE_EXHAUSTED above counts timed-out attempts too; lower the scale",
					r.Retries, c.Scale, c.retry().Attempt)
			}
		})
	}
}

// TestCIFleetQuota is the benchmark's fleet cut ten-fold in jobs, connectors
// and quotas alike, so the demand-to-quota ratios are the same (ours: a third
// of the read quota; legacy: 3.7 minutes' worth of it), and asserts what the
// benchmark shows: every job of ours succeeds at one read request per job
// without a single RESOURCE_EXHAUSTED, while the legacy pattern runs out of
// read quota and jobs fail.
func TestCIFleetQuota(t *testing.T) {
	c := fleetDefault()
	c.Jobs = 20
	c.ReadPerMinute /= 10
	c.AccessPerMinute /= 10
	// A simulated minute lasts 4 s. An attempt may take the whole 8 s
	// budget: with the scaled 2 s deadline, a loaded 2-CPU host running
	// -race timed attempts out and the counts below failed.
	c.Scale = 15
	c.AttemptIsBudget = true

	ours := runFleet(t, c, fleetOurs)
	legacy := runFleet(t, c, fleetLegacy)
	logFleet(t, c, ours, legacy)

	jobs := int64(c.Jobs)
	if ours.Succeeded != c.Jobs {
		t.Errorf("ours: %d of %d jobs succeeded; first failure: %s", ours.Succeeded, c.Jobs, ours.FirstError)
	}
	if ours.ReadRequests != jobs || ours.Retries != 0 || ours.ResourceExhausted != 0 {
		t.Errorf("ours: %d read requests for %d jobs, %d retries, %d RESOURCE_EXHAUSTED; want one read per job and no refusal"+
			" (retries with %d reads served and no job failed on quota mean attempts timed out: a host too slow for Scale %v)",
			ours.ReadRequests, jobs, ours.Retries, ours.ResourceExhausted, ours.ReadsServed, c.Scale)
	}
	if want := jobs * int64(c.SecretsPerJob); ours.AccessRequests != want {
		t.Errorf("ours: %d access requests, want %d (one per secret)", ours.AccessRequests, want)
	}
	if ours.Fallbacks != 0 || legacy.Fallbacks != 0 {
		t.Errorf("fallbacks: ours %d, legacy %d; no version is disabled, want none", ours.Fallbacks, legacy.Fallbacks)
	}

	// The legacy pattern needs (1+N) x jobs read requests, several minutes of
	// the quota: operations run out of their retry budget.
	if legacy.Succeeded > c.Jobs/2 {
		t.Errorf("legacy: %d of %d jobs succeeded; want the read quota to fail most of them", legacy.Succeeded, c.Jobs)
	}
	if legacy.ResourceExhausted == 0 || legacy.Retries == 0 {
		t.Errorf("legacy: %d RESOURCE_EXHAUSTED, %d retries; want both", legacy.ResourceExhausted, legacy.Retries)
	}
	// A job fails when an operation's retry budget runs out: on a refusal
	// (RESOURCE_EXHAUSTED) or, when the budget ends during an attempt,
	// DEADLINE_EXCEEDED. Nothing else may go wrong.
	for cause, n := range legacy.Failed {
		if cause != "RESOURCE_EXHAUSTED" && cause != "DEADLINE_EXCEEDED" {
			t.Errorf("legacy: %d jobs failed with %s; want only quota failures (first: %s)", n, cause, legacy.FirstError)
		}
	}
	// Served reads never exceed the quota of the windows the run spanned
	// (plus one: windows are fixed, a run can straddle a boundary).
	windows := int64(math.Ceil(legacy.SimMinutes)) + 1
	if max := windows * int64(c.ReadPerMinute); legacy.ReadsServed > max {
		t.Errorf("legacy: %d reads served in %.2f simulated minutes; the quota allows at most %d", legacy.ReadsServed, legacy.SimMinutes, max)
	}
	// Each client counts every attempt, the emulator every call that reached
	// it: for ours the two agree exactly.
	if int64(ours.ServerCallsTotal) != ours.ClientRequestTotal {
		t.Errorf("ours: the emulator saw %d calls, the clients made %d requests", ours.ServerCallsTotal, ours.ClientRequestTotal)
	}
}
