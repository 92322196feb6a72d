package doctor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

// startStore serves the secrets on 127.0.0.1 and returns the real client
// talking to it over gRPC.
func startStore(t testing.TB, secrets []emulator.SeedSecret, opts emulator.Options) (*gsm.Client, *emulator.Server) {
	t.Helper()
	return startBounded(t, secrets, opts, 0)
}

// startBounded is startStore for a run bounded by timeout (--timeout; 0 is none).
func startBounded(t testing.TB, secrets []emulator.SeedSecret, opts emulator.Options, timeout time.Duration) (*gsm.Client, *emulator.Server) {
	t.Helper()
	addr, srv := emulator.StartForTest(t, &emulator.Seed{Project: "p", Secrets: secrets}, opts)
	cfg, err := gsm.Resolve(gsm.Settings{Endpoint: addr, Project: "p", Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Retry.Initial = time.Millisecond
	cfg.Timeout = timeout
	c, err := gsm.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, srv
}

func seedSecret(id string, lbls map[string]string, versions ...string) emulator.SeedSecret {
	s := emulator.SeedSecret{Name: id, Labels: lbls}
	for _, v := range versions {
		state, data, _ := strings.Cut(v, ":")
		s.Versions = append(s.Versions, emulator.SeedVersion{Data: []byte(data), State: state})
	}
	return s
}

// TestPacerSpacing counts, on an injected clock, the waits a pace imposes:
// a burst of 20 at once, then one a second at 60 a minute.
func TestPacerSpacing(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	var sleeps []time.Duration
	p := newPacer(60, func() time.Time { return now }, func(_ context.Context, d time.Duration) error {
		sleeps = append(sleeps, d)
		now = now.Add(d)
		return nil
	})
	start := now
	for range 30 {
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(sleeps) != 10 {
		t.Fatalf("%d waits, want 10 (30 requests, a burst of 20)", len(sleeps))
	}
	for i, d := range sleeps {
		// The fake clock's recorded waits, rounded: the limiter's float
		// arithmetic may leave a nanosecond either side of 1s.
		if d.Round(time.Millisecond) != time.Second {
			t.Errorf("wait %d = %v, want 1s at 60 a minute", i, d)
		}
	}
	if got := now.Sub(start); got.Round(10*time.Millisecond) != 10*time.Second {
		t.Errorf("30 requests took %v of clock time, want 10s", got)
	}
	if est := p.Estimate(30); est != 10*time.Second {
		t.Errorf("Estimate(30) = %v, want 10s", est)
	}
	unpaced := newPacer(0, func() time.Time { return now }, func(context.Context, time.Duration) error {
		t.Fatal("an unpaced run waited")
		return nil
	})
	for range 1000 {
		_ = unpaced.Wait(context.Background())
	}
	if unpaced.Estimate(1000) != 0 {
		t.Error("an unpaced run estimates a wait")
	}
}

func TestPacerInterrupted(t *testing.T) {
	p := NewPacer(1)
	ctx, cancel := context.WithCancel(context.Background())
	if err := p.Wait(ctx); err != nil { // the burst of one
		t.Fatal(err)
	}
	cancel()
	if err := p.Wait(ctx); err != context.Canceled {
		t.Errorf("Wait after cancel = %v, want context.Canceled", err)
	}
}

func TestFetchVersions(t *testing.T) {
	c, srv := startStore(t, []emulator.SeedSecret{
		seedSecret("SECRET_A_CREDS", map[string]string{"connector": "source-a"}, ":{}", "DISABLED:{}", ":{}"),
		seedSecret("SECRET_B_CREDS", map[string]string{"connector": "source-b"}, "DESTROYED:{}"),
		seedSecret("SECRET_C_CREDS", map[string]string{"connector": "source-c"}, ":{}"),
	}, emulator.Options{Faults: []emulator.Fault{{Method: "ListSecretVersions", Secret: "SECRET_C_CREDS", Rate: 1, Code: codes.PermissionDenied}}})
	vs, errs, err := FetchVersions(context.Background(), c, []string{"SECRET_A_CREDS", "SECRET_B_CREDS", "SECRET_C_CREDS"}, 2, NewPacer(0))
	if err != nil {
		t.Fatal(err)
	}
	got := func(id string) string {
		var parts []string
		for _, v := range vs[id] {
			parts = append(parts, v.Number+"="+v.State)
		}
		return strings.Join(parts, ",")
	}
	if g := got("SECRET_A_CREDS"); g != "3=ENABLED,2=DISABLED,1=ENABLED" {
		t.Errorf("A: %s", g)
	}
	if g := got("SECRET_B_CREDS"); g != "1=DESTROYED" {
		t.Errorf("B: %s", g)
	}
	if e := errs["SECRET_C_CREDS"]; e == nil || !strings.Contains(e.Error(), "permission denied") {
		t.Errorf("C: error %v, want permission denied", e)
	}
	if _, ok := vs["SECRET_C_CREDS"]; ok {
		t.Error("C has versions despite its error")
	}
	if n := srv.Calls()["ListSecretVersions"]; n != 3 {
		t.Errorf("%d ListSecretVersions, want one per secret (3)", n)
	}
}

func TestReadDrift(t *testing.T) {
	const value = "drift-test-secret-value"
	c, srv := startStore(t, []emulator.SeedSecret{
		seedSecret("SECRET_A_CREDS", nil, `:{"k": "`+value+`"}`),
		seedSecret("SECRET_B_CREDS", nil, `:{"k": "other"}`, `DISABLED:{"k": "x"}`),
	}, emulator.Options{})
	root := t.TempDir()
	dir := filepath.Join(root, "s")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("same.json", `{"k": "`+value+`"}`)
	write("drifted.json", `{"k": "`+value+`", "new": 1}`)
	if err := os.Symlink(filepath.Join(dir, "same.json"), filepath.Join(dir, "link.json")); err != nil {
		t.Fatal(err)
	}
	items := []DriftItem{
		{Connector: "a", Path: "s/same.json", Secret: "SECRET_A_CREDS", Version: "1"},
		{Connector: "a", Path: "s/drifted.json", Secret: "SECRET_A_CREDS", Version: "1"},
		{Connector: "a", Path: "s/link.json", Secret: "SECRET_A_CREDS", Version: "1"},
		{Connector: "b", Path: "s/same.json", Secret: "SECRET_B_CREDS", Version: "2"},
		{Connector: "a", Path: "s/unserved.json"},
	}
	res, err := ReadDrift(context.Background(), c, root, items, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Same || res[0].Err != nil {
		t.Errorf("same: %+v", res[0])
	}
	if res[1].Same || strings.Join(res[1].Diff.Added, ",") != "$.new" {
		t.Errorf("drifted: %+v", res[1])
	}
	if res[2].Err == nil || !strings.Contains(res[2].Err.Error(), "symlink") {
		t.Errorf("link: %+v, want a refusal", res[2])
	}
	if res[3].Err == nil || !strings.Contains(res[3].Err.Error(), "not enabled") {
		t.Errorf("disabled version: %+v", res[3])
	}
	if res[4].Err != nil || res[4].Secret != "" {
		t.Errorf("unserved: %+v", res[4])
	}
	if n := srv.Calls()["AccessSecretVersion"]; n != 3 {
		t.Errorf("%d accesses, want one per readable local file with a secret (3)", n)
	}
	for _, r := range res {
		if r.Err != nil && strings.Contains(r.Err.Error(), value) {
			t.Errorf("an error quotes the secret value: %v", r.Err)
		}
	}
}
