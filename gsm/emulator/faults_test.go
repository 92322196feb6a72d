package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

// hammer makes n GetSecret calls from 20 goroutines and counts the codes.
func hammer(t *testing.T, n int, call func() error) map[codes.Code]int {
	t.Helper()
	var mu sync.Mutex
	got := map[codes.Code]int{}
	var wg sync.WaitGroup
	work := make(chan struct{})
	for range 20 {
		wg.Go(func() {
			for range work {
				c := status.Code(call())
				mu.Lock()
				got[c]++
				mu.Unlock()
			}
		})
	}
	for range n {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	return got
}

func TestErrorRate(t *testing.T) {
	c, srv := start(t, versionSeed, emulator.Options{ErrorRate: 0.3, Seed: 42})
	ctx := context.Background()
	got := hammer(t, 1000, func() error {
		_, err := c.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: "projects/p/secrets/A"})
		return err
	})
	if n := got[codes.Unavailable]; n < 240 || n > 360 || got[codes.OK]+n != 1000 {
		t.Errorf("codes = %v, want about 300 UNAVAILABLE", got)
	}
	if srv.Calls()["GetSecret"] != 1000 {
		t.Errorf("faulted calls not counted: %v", srv.Calls())
	}
}

func TestFaultRules(t *testing.T) {
	c, _ := start(t, versionSeed, emulator.Options{Seed: 7, Faults: []emulator.Fault{
		{Rate: 0.10, Code: codes.Unavailable},
		{Rate: 0.05, Code: codes.ResourceExhausted},
	}})
	ctx := context.Background()
	got := hammer(t, 2000, func() error {
		_, err := c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/p/secrets/A/versions/1"})
		return err
	})
	if u, r := got[codes.Unavailable], got[codes.ResourceExhausted]; u < 150 || u > 250 || r < 60 || r > 140 || got[codes.OK]+u+r != 2000 {
		t.Errorf("codes = %v, want about 200 UNAVAILABLE and 100 RESOURCE_EXHAUSTED", got)
	}
}

func TestFaultOnOneSecret(t *testing.T) {
	c, srv := start(t, versionSeed, emulator.Options{Faults: []emulator.Fault{
		{Method: "AccessSecretVersion", Secret: "A", Rate: 1, Code: codes.PermissionDenied},
		{Method: "/google.cloud.secretmanager.v1.SecretManagerService/AddSecretVersion", Rate: 1, Code: codes.Internal},
		{Method: "ListSecrets", Secret: "A", Rate: 1}, // ListSecrets names no secret: never fires
	}})
	ctx := context.Background()
	_, err := c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/p/secrets/A/versions/latest"})
	wantCode(t, err, codes.PermissionDenied, "Permission 'secretmanager.versions.access' denied for resource 'projects/p/secrets/A/versions/latest'")
	if _, err := c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/p/secrets/DIS/versions/1"}); err != nil {
		t.Errorf("other secret: %v", err)
	}
	if _, err := c.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: "projects/p/secrets/A"}); err != nil {
		t.Errorf("other method: %v", err)
	}
	if _, err := list(t, c, &secretmanagerpb.ListSecretsRequest{Parent: "projects/p"}); err != nil {
		t.Errorf("list: %v", err)
	}
	// A faulted write changes nothing.
	_, err = c.AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{Parent: "projects/p/secrets/A", Payload: &secretmanagerpb.SecretPayload{Data: []byte("a4")}})
	wantCode(t, err, codes.Internal, "injected")
	for _, s := range srv.Snapshot().Secrets {
		if s.Name == "A" && len(s.Versions) != 3 {
			t.Errorf("the faulted add landed: %d versions", len(s.Versions))
		}
	}
	if c := srv.Calls(); c["AccessSecretVersion"] != 2 || c["AddSecretVersion"] != 1 {
		t.Errorf("calls = %v", c)
	}
}

// sleepRecorder is an injected Sleep: it records the latency each call asks
// for and returns at once, so latency is tested by what was asked, not by
// the wall clock.
type sleepRecorder struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (r *sleepRecorder) Sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.delays = append(r.delays, d)
	r.mu.Unlock()
	return ctx.Err()
}

func (r *sleepRecorder) Delays() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.delays)
}

// blockingSleep never ends a latency on its own: it returns when the call's
// context ends (the caller's deadline, or Stop), and reports each start.
func blockingSleep(started chan<- struct{}) func(ctx context.Context, d time.Duration) error {
	return func(ctx context.Context, _ time.Duration) error {
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}
}

func TestSetFaultsAtRuntime(t *testing.T) {
	rec := &sleepRecorder{}
	c, srv := start(t, versionSeed, emulator.Options{Sleep: rec.Sleep})
	ctx := context.Background()
	get := func() error {
		_, err := c.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: "projects/p/secrets/A"})
		return err
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetFaults(emulator.FaultSettings{ErrorRate: 1, ErrorCode: codes.DeadlineExceeded}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, get(), codes.DeadlineExceeded, "injected")
	if err := srv.SetFaults(emulator.FaultSettings{ErrorRate: 2}); err == nil {
		t.Error("bad settings accepted")
	}
	if got := srv.Faults(); got.ErrorRate != 1 {
		t.Errorf("a refused SetFaults changed the settings: %+v", got)
	}
	if err := srv.SetFaults(emulator.FaultSettings{Latency: 40 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}
	if d := rec.Delays(); !slices.Equal(d, []time.Duration{40 * time.Millisecond}) {
		t.Errorf("latency asked for = %v, want one call of 40ms", d)
	}
}

func TestLatency(t *testing.T) {
	rec := &sleepRecorder{}
	c, _ := start(t, versionSeed, emulator.Options{Latency: 30 * time.Millisecond, Jitter: 20 * time.Millisecond, Seed: 1, Sleep: rec.Sleep})
	ctx := context.Background()
	for range 5 {
		if _, err := c.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: "projects/p/secrets/A"}); err != nil {
			t.Fatal(err)
		}
	}
	d := rec.Delays()
	if len(d) != 5 {
		t.Fatalf("latency asked for %d times, want 5: %v", len(d), d)
	}
	for _, x := range d {
		if x < 30*time.Millisecond || x > 50*time.Millisecond {
			t.Errorf("delay %v outside latency 30ms + jitter [0, 20ms]", x)
		}
	}
	if slices.Min(d) == slices.Max(d) {
		t.Errorf("jitter drew the same delay 5 times: %v", d)
	}

	// Latency respects the caller's deadline: the wait ends with the call.
	started := make(chan struct{}, 1)
	c, _ = start(t, versionSeed, emulator.Options{Latency: time.Hour, Sleep: blockingSleep(started)})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: "projects/p/secrets/A"})
	wantCode(t, err, codes.DeadlineExceeded, "")
	<-started
}

func TestQuota(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c, srv := start(t, versionSeed, emulator.Options{Now: clock, Quota: &emulator.Quota{ReadPerMinute: 3, AccessPerMinute: 4, WritePerMinute: 1}})
	ctx := context.Background()
	get := func() error {
		_, err := c.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: "projects/p/secrets/A"})
		return err
	}
	acc := func() error {
		_, err := c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/p/secrets/A/versions/1"})
		return err
	}
	for i := range 3 {
		if err := get(); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	wantCode(t, get(), codes.ResourceExhausted, "Quota exceeded for quota metric 'Read requests'")
	_, err := list(t, c, &secretmanagerpb.ListSecretsRequest{Parent: "projects/p"})
	wantCode(t, err, codes.ResourceExhausted, "'Read requests'")
	// Other kinds have their own budgets.
	for i := range 4 {
		if err := acc(); err != nil {
			t.Fatalf("access %d: %v", i, err)
		}
	}
	wantCode(t, acc(), codes.ResourceExhausted, "'Access requests'")
	add := func() error {
		_, err := c.AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{Parent: "projects/p/secrets/A", Payload: &secretmanagerpb.SecretPayload{Data: []byte("x")}})
		return err
	}
	if err := add(); err != nil {
		t.Fatal(err)
	}
	wantCode(t, add(), codes.ResourceExhausted, "'Write requests'")
	_, err = c.DisableSecretVersion(ctx, &secretmanagerpb.DisableSecretVersionRequest{Name: "projects/p/secrets/A/versions/1"})
	wantCode(t, err, codes.ResourceExhausted, "'Write requests'")

	advance(59 * time.Second)
	wantCode(t, get(), codes.ResourceExhausted, "")
	advance(time.Second) // a new window
	if err := get(); err != nil {
		t.Errorf("after the window: %v", err)
	}
	if err := add(); err != nil {
		t.Errorf("write after the window: %v", err)
	}
	if n := len(srv.Snapshot().Secrets[0].Versions); n != 5 {
		t.Errorf("A has %d versions, want 5 (refused adds change nothing)", n)
	}
	if c := srv.Calls(); c["GetSecret"] != 6 || c["AddSecretVersion"] != 3 {
		t.Errorf("refused calls are counted too: %v", c)
	}
}

func TestQuotaScaledRealTime(t *testing.T) {
	// Scale 120: a "minute" lasts 500 ms of the injected clock.
	clock := &fakeClock{now: t0}
	c, _ := start(t, versionSeed, emulator.Options{Quota: &emulator.Quota{ReadPerMinute: 2, Scale: 120}, Now: clock.Now})
	ctx := context.Background()
	get := func() error {
		_, err := c.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: "projects/p/secrets/A"})
		return err
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(499 * time.Millisecond)
	wantCode(t, get(), codes.ResourceExhausted, "")
	clock.Advance(time.Millisecond)
	if err := get(); err != nil {
		t.Errorf("after the scaled minute: %v", err)
	}
}

// Stop is a crash: in-flight calls fail, later calls fail, the state stays
// readable.
func TestStopMidway(t *testing.T) {
	started := make(chan struct{}, 20)
	c, srv := start(t, versionSeed, emulator.Options{Latency: time.Hour, Sleep: blockingSleep(started)})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/p/secrets/A/versions/1"})
			errs <- err
		})
	}
	for range 20 { // every call is in flight, waiting out its latency
		<-started
	}
	srv.Stop()
	wg.Wait()
	close(errs)
	for err := range errs {
		if code := status.Code(err); code != codes.Unavailable && code != codes.Canceled {
			t.Errorf("in-flight call: %v", err)
		}
	}
	_, err := c.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: "projects/p/secrets/A"})
	wantCode(t, err, codes.Unavailable, "")
	srv.Stop() // idempotent
	var buf bytes.Buffer
	if err := srv.Dump(&buf); err != nil || srv.Calls()["AccessSecretVersion"] != 20 {
		t.Errorf("state after Stop: %v, %v", err, srv.Calls())
	}
}

func TestServeLifecycle(t *testing.T) {
	srv, err := emulator.New(parse(t, versionSeed), emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if srv.Project() != "p" {
		t.Errorf("project = %q", srv.Project())
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, lis) }()
	c := dial(t, lis.Addr().String())
	if _, err := c.GetSecret(context.Background(), &secretmanagerpb.GetSecretRequest{Name: "projects/p/secrets/A"}); err != nil {
		t.Fatal(err)
	}
	cancel()
	// A Serve that never returns hangs the test until go test's -timeout,
	// which then prints every goroutine: no wall-clock bound here.
	if err := <-served; err != nil {
		t.Errorf("Serve = %v after the context ended", err)
	}
	srv.Stop()
	lis2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(context.Background(), lis2); err != emulator.ErrStopped {
		t.Errorf("Serve after Stop = %v", err)
	}
}

// Hundreds of concurrent reads and writes: run with -race.
func TestConcurrentCalls(t *testing.T) {
	c, srv := start(t, versionSeed, emulator.Options{})
	ctx := context.Background()
	var wg sync.WaitGroup
	names := make(chan string, 100)
	for i := range 300 {
		wg.Go(func() {
			var err error
			switch i % 3 {
			case 0:
				var v *secretmanagerpb.SecretVersion
				v, err = c.AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{Parent: "projects/p/secrets/A", Payload: &secretmanagerpb.SecretPayload{Data: []byte("x")}})
				if err == nil {
					names <- v.GetName()
				}
			case 1:
				_, err = c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/p/secrets/A/versions/1"})
			default:
				_, err = list(t, c, &secretmanagerpb.ListSecretsRequest{Parent: "projects/p", PageSize: 2})
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	close(names)
	seen := map[string]bool{}
	for n := range names {
		if seen[n] {
			t.Errorf("version %s handed out twice", n)
		}
		seen[n] = true
	}
	if len(seen) != 100 || len(srv.Snapshot().Secrets[0].Versions) != 103 {
		t.Errorf("%d adds, %d versions", len(seen), len(srv.Snapshot().Secrets[0].Versions))
	}
	if c := srv.Calls(); c["AddSecretVersion"] != 100 || c["AccessSecretVersion"] != 100 {
		t.Errorf("calls = %v", c)
	}
}

func TestDumpRoundTrip(t *testing.T) {
	seed := `{"project": "p", "validate": false, "secrets": [
		{"name": "S", "labels": {"filename": "../x"}, "versions": [{"data": "one"}, {"data_base64": "/wA=", "crc32c": 5}, {"data": "three", "state": "DISABLED"}]},
		{"name": "R", "location": "europe-west1", "versions": [{"data": "r"}]}]}`
	c, srv := start(t, seed, emulator.Options{})
	ctx := context.Background()
	if _, err := c.DestroySecretVersion(ctx, &secretmanagerpb.DestroySecretVersionRequest{Name: "projects/p/secrets/S/versions/1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{Parent: "projects/p/secrets/S", Payload: &secretmanagerpb.SecretPayload{Data: []byte(`{"k": "<four>"}`)}}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := srv.Dump(&buf); err != nil {
		t.Fatal(err)
	}
	var d struct {
		Validate *bool `json:"validate"`
		Secrets  []struct {
			Name     string `json:"name"`
			Location string `json:"location"`
			Versions []map[string]any
		} `json:"secrets"`
		Calls map[string]int `json:"calls"`
	}
	if err := json.Unmarshal(buf.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if d.Validate == nil || *d.Validate || d.Calls["DestroySecretVersion"] != 1 || d.Calls["AddSecretVersion"] != 1 {
		t.Errorf("dump header: %s", buf.String())
	}
	// Sorted by location then ID: the global S, then the regional R.
	if len(d.Secrets) != 2 || d.Secrets[0].Name != "S" || d.Secrets[1].Location != "europe-west1" {
		t.Fatalf("secrets: %s", buf.String())
	}
	v := d.Secrets[0].Versions
	if len(v) != 4 || v[0]["state"] != "DESTROYED" || v[0]["data"] != nil || v[1]["data_base64"] != "/wA=" || v[1]["crc32c"] != 5.0 ||
		v[2]["state"] != "DISABLED" || v[3]["data"] != `{"k": "<four>"}` || v[3]["state"] != "ENABLED" {
		t.Errorf("versions: %v", v)
	}

	// The dump is a seed that rebuilds the same state.
	back, err := emulator.ParseSeed(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	srv2, err := emulator.New(back, emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf2 bytes.Buffer
	if err := srv2.Dump(&buf2); err != nil {
		t.Fatal(err)
	}
	strip := func(s string) string { return s[:strings.Index(s, `"calls"`)] }
	if strip(buf.String()) != strip(buf2.String()) {
		t.Errorf("round trip differs:\n%s\n%s", buf.String(), buf2.String())
	}
	if !strings.Contains(buf2.String(), `"calls": {}`) {
		t.Errorf("a fresh server's dump has no empty calls object:\n%s", buf2.String())
	}
}
