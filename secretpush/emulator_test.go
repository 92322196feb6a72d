package secretpush_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/gsm/emulator"
	"github.com/airbytehq/ci-secrets/labels"
	"github.com/airbytehq/ci-secrets/secretpush"
	"github.com/airbytehq/ci-secrets/writer"
)

// These tests run the real gsm client against the emulator over gRPC.

const seedJSON = `{
  "project": "p",
  "secrets": [
    {"name": "SECRET_SOURCE-FOO_CREDS", "labels": {"connector": "source-foo"},
     "versions": [{"data": "{\"token\": \"token-v1\"}", "state": "DISABLED"}, {"data": "{\"token\": \"token-v2\"}"}]},
    {"name": "SECRET_SOURCE-FOO_OAUTH__CREDS", "labels": {"connector": "source-foo", "filename": "oauth"},
     "versions": [{"data": "{\"refresh\": \"token-o1\", \"n\": 1}"}]}
  ]
}`

func connect(t *testing.T, opts emulator.Options) (*gsm.Client, *emulator.Server) {
	t.Helper()
	addr, srv := emulator.StartForTest(t, parseSeed(t), opts)
	return dial(t, addr), srv
}

func parseSeed(t *testing.T) *emulator.Seed {
	t.Helper()
	seed, err := emulator.ParseSeed(strings.NewReader(seedJSON))
	if err != nil {
		t.Fatal(err)
	}
	return seed
}

// dial connects the real gsm client, with quick retries, to a server at addr.
func dial(t *testing.T, addr string) *gsm.Client {
	t.Helper()
	return dialBudget(t, addr, 5*time.Second)
}

// dialBudget is dial with the given overall retry budget per call.
func dialBudget(t *testing.T, addr string, overall time.Duration) *gsm.Client {
	t.Helper()
	cfg, err := gsm.Resolve(gsm.Settings{Endpoint: addr, Project: "p", Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Retry.Initial = time.Millisecond
	cfg.Retry.Max = 20 * time.Millisecond
	cfg.Retry.Overall = overall
	c, err := gsm.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type dumpVersion struct {
	Data  string `json:"data"`
	State string `json:"state"`
}

// versions returns the final state of a secret as "state:data" per version.
func versions(t *testing.T, srv *emulator.Server, secret string) []string {
	t.Helper()
	var buf bytes.Buffer
	if err := srv.Dump(&buf); err != nil {
		t.Fatal(err)
	}
	var d struct {
		Secrets []struct {
			Name     string        `json:"name"`
			Versions []dumpVersion `json:"versions"`
		} `json:"secrets"`
	}
	if err := json.Unmarshal(buf.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	for _, s := range d.Secrets {
		if s.Name == secret {
			var out []string
			for _, v := range s.Versions {
				st := v.State
				if st == "" {
					st = "ENABLED"
				}
				out = append(out, st+":"+v.Data)
			}
			return out
		}
	}
	t.Fatalf("no secret %s in the dump", secret)
	return nil
}

func update(t *testing.T, root, connector, name, content string) {
	t.Helper()
	dir := filepath.Join(root, "airbyte-integrations", "connectors", connector, "secrets", labels.UpdatedDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func ctxFor(t *testing.T) context.Context {
	return zerolog.New(zerolog.NewTestWriter(t)).WithContext(t.Context())
}

func TestEmulatorPushAndRerun(t *testing.T) {
	c, srv := connect(t, emulator.Options{})
	root := t.TempDir()
	update(t, root, "source-foo", "config|1.json", `{"token": "token-v1-stale"}`)
	update(t, root, "source-foo", "config|2.json", `{"token": "token-v3"}`)
	update(t, root, "source-foo", "oauth|1.json", "{\n  \"n\": 1.0,\n  \"refresh\": \"token-o1\"\n}\n")
	opts := secretpush.Options{Connectors: []string{"source-foo"}}

	res, err := secretpush.Run(ctxFor(t), c, writer.Layout{Root: root}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || len(res.Pushed) != 1 || len(res.Unchanged) != 1 || len(res.Superseded) != 1 {
		t.Fatalf("result %+v", res)
	}
	if p := res.Pushed[0]; p.Secret != "SECRET_SOURCE-FOO_CREDS" || p.AddedVersion != "3" || p.DisabledVersion != "2" {
		t.Errorf("pushed %+v", p)
	}
	want := []string{`DISABLED:{"token": "token-v1"}`, `DISABLED:{"token": "token-v2"}`, `ENABLED:{"token": "token-v3"}`}
	if got := versions(t, srv, "SECRET_SOURCE-FOO_CREDS"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("versions = %q, want %q", got, want)
	}
	calls := srv.Calls()
	if calls["ListSecrets"] != 1 || calls["AddSecretVersion"] != 1 || calls["DisableSecretVersion"] != 1 || calls["CreateSecret"] != 0 {
		t.Errorf("calls = %v", calls)
	}
	st := c.Stats()
	// One listing of secrets, one of the enabled versions after the add.
	if st.WriteRequests != 2 || st.ReadRequests != 2 {
		t.Errorf("stats = %+v", st)
	}

	// A second run with the same files writes nothing.
	res, err = secretpush.Run(ctxFor(t), c, writer.Layout{Root: root}, opts)
	if err != nil || !res.OK() || len(res.Pushed) != 0 || len(res.Unchanged) != 2 {
		t.Fatalf("rerun: %v %+v", err, res)
	}
	if n := srv.Calls()["AddSecretVersion"]; n != 1 {
		t.Errorf("AddSecretVersion calls after the rerun = %d, want 1", n)
	}
	if got := versions(t, srv, "SECRET_SOURCE-FOO_CREDS"); len(got) != 3 {
		t.Errorf("the rerun added a version: %q", got)
	}
}

// A fault between the add and the disable: the new version is in place, the
// old one still enabled, and the failure says exactly that and how to finish.
func TestEmulatorDisableFails(t *testing.T) {
	c, srv := connect(t, emulator.Options{Faults: []emulator.Fault{
		{Method: "DisableSecretVersion", Rate: 1, Code: codes.PermissionDenied},
	}})
	root := t.TempDir()
	update(t, root, "source-foo", "config|1.json", `{"token": "token-v3"}`)
	res, err := secretpush.Run(ctxFor(t), c, writer.Layout{Root: root}, secretpush.Options{Connectors: []string{"source-foo"}, Project: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Pushed) != 0 || len(res.Failed) != 1 {
		t.Fatalf("result %+v", res)
	}
	f := res.Failed[0]
	var de *secretpush.DisableError
	if !errors.As(f.Err, &de) || f.AddedVersion != "3" || f.StillEnabledVersion != "2" || !errors.Is(f.Err, gsm.ErrPermission) {
		t.Fatalf("failure %+v: %v", f, f.Err)
	}
	if !strings.Contains(f.Err.Error(), "gcloud secrets versions disable 2 --secret=SECRET_SOURCE-FOO_CREDS --project=p") {
		t.Errorf("message: %v", f.Err)
	}
	want := []string{`DISABLED:{"token": "token-v1"}`, `ENABLED:{"token": "token-v2"}`, `ENABLED:{"token": "token-v3"}`}
	if got := versions(t, srv, "SECRET_SOURCE-FOO_CREDS"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("versions = %q, want %q", got, want)
	}
	// PERMISSION_DENIED is never retried.
	if n := srv.Calls()["DisableSecretVersion"]; n != 1 {
		t.Errorf("DisableSecretVersion calls = %d, want 1", n)
	}
}

// Transient faults on the writes are retried; an add is never repeated once
// it has landed, so exactly one new version appears.
func TestEmulatorTransientWriteFaults(t *testing.T) {
	c, srv := connect(t, emulator.Options{Seed: 3, Faults: []emulator.Fault{
		{Method: "AddSecretVersion", Rate: 0.3, Code: codes.Unavailable},
		{Method: "DisableSecretVersion", Rate: 0.3, Code: codes.Unavailable},
	}})
	pushUpdateV3(t, c)
	got := versions(t, srv, "SECRET_SOURCE-FOO_CREDS")
	if len(got) != 3 || got[1] != `DISABLED:{"token": "token-v2"}` || got[2] != `ENABLED:{"token": "token-v3"}` {
		t.Errorf("versions = %q", got)
	}
}

// The secret named in a fault rule is failed; the others are still pushed.
func TestEmulatorOneSecretFails(t *testing.T) {
	c, srv := connect(t, emulator.Options{Faults: []emulator.Fault{
		{Method: "AddSecretVersion", Secret: "SECRET_SOURCE-FOO_OAUTH__CREDS", Rate: 1, Code: codes.InvalidArgument},
	}})
	root := t.TempDir()
	update(t, root, "source-foo", "config|1.json", `{"token": "token-v3"}`)
	update(t, root, "source-foo", "oauth|1.json", `{"refresh": "token-o2"}`)
	res, err := secretpush.Run(ctxFor(t), c, writer.Layout{Root: root}, secretpush.Options{Connectors: []string{"source-foo"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Pushed) != 1 || len(res.Failed) != 1 || res.Failed[0].Secret != "SECRET_SOURCE-FOO_OAUTH__CREDS" {
		t.Fatalf("%+v", res)
	}
	if got := versions(t, srv, "SECRET_SOURCE-FOO_OAUTH__CREDS"); len(got) != 1 || !strings.HasPrefix(got[0], "ENABLED:") {
		t.Errorf("oauth versions = %q", got)
	}
}

// lossy serves the emulator's state over real gRPC but spoils the answers of
// AddSecretVersion: refuse answers the next calls with UNAVAILABLE before
// they run (nothing added), lose carries the next calls out and then
// answers with lossCode, as when a connection drops after GSM committed the
// version. The emulator's own fault injection can only do the former.
type lossy struct {
	*emulator.Server
	mu       sync.Mutex
	refuse   int
	lose     int
	lossCode codes.Code
	adds     int // AddSecretVersion requests received
	disables int // DisableSecretVersion requests received
	// denyAfterLoss answers every AccessSecretVersion after a lost answer
	// with PERMISSION_DENIED, so nobody can check whether the add landed.
	denyAfterLoss bool
	lost          bool
}

func (l *lossy) AccessSecretVersion(ctx context.Context, req *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	l.mu.Lock()
	deny := l.denyAfterLoss && l.lost
	l.mu.Unlock()
	if deny {
		return nil, status.Error(codes.PermissionDenied, "Permission 'secretmanager.versions.access' denied")
	}
	return l.Server.AccessSecretVersion(ctx, req)
}

func (l *lossy) AddSecretVersion(ctx context.Context, req *secretmanagerpb.AddSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	l.mu.Lock()
	l.adds++
	refuse := l.refuse > 0
	if refuse {
		l.refuse--
	}
	l.mu.Unlock()
	if refuse {
		return nil, status.Error(codes.Unavailable, "the service is currently unavailable (refused before the add)")
	}
	v, err := l.Server.AddSecretVersion(ctx, req)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil && l.lose > 0 {
		l.lose--
		l.lost = true
		return nil, status.Error(l.lossCode, "the answer was lost after the version was added")
	}
	return v, err
}

func (l *lossy) DisableSecretVersion(ctx context.Context, req *secretmanagerpb.DisableSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	l.mu.Lock()
	l.disables++
	l.mu.Unlock()
	return l.Server.DisableSecretVersion(ctx, req)
}

func startLossy(t *testing.T, l *lossy) *gsm.Client {
	t.Helper()
	srv, err := emulator.New(parseSeed(t), emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Server = srv
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	secretmanagerpb.RegisterSecretManagerServiceServer(gs, l)
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	return dial(t, lis.Addr().String())
}

// pushUpdateV3 pushes {"token": "token-v3"} as the update of source-foo and
// requires the run to succeed with one push.
func pushUpdateV3(t *testing.T, c *gsm.Client) *secretpush.Result {
	t.Helper()
	root := t.TempDir()
	update(t, root, "source-foo", "config|1.json", `{"token": "token-v3"}`)
	res, err := secretpush.Run(ctxFor(t), c, writer.Layout{Root: root}, secretpush.Options{Connectors: []string{"source-foo"}})
	if err != nil || !res.OK() || len(res.Pushed) != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	return res
}

// wantOneNewVersion requires the secret to end with the update as its only
// enabled version, added exactly once.
func wantOneNewVersion(t *testing.T, l *lossy) {
	t.Helper()
	want := []string{`DISABLED:{"token": "token-v1"}`, `DISABLED:{"token": "token-v2"}`, `ENABLED:{"token": "token-v3"}`}
	if got := versions(t, l.Server, "SECRET_SOURCE-FOO_CREDS"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("versions = %q, want %q", got, want)
	}
}

// An add whose answer is lost after it went through is not repeated: the
// client checks the latest version first, finds the update there, and the
// push goes on to disable the version it replaced. Exactly one new version.
func TestEmulatorAmbiguousAddNotRepeated(t *testing.T) {
	for _, code := range []codes.Code{codes.Unavailable, codes.DeadlineExceeded, codes.Unknown, codes.Internal, codes.Aborted} {
		t.Run(code.String(), func(t *testing.T) {
			l := &lossy{lose: 1, lossCode: code}
			c := startLossy(t, l)
			res := pushUpdateV3(t, c)
			if p := res.Pushed[0]; p.AddedVersion != "3" || p.DisabledVersion != "2" {
				t.Errorf("pushed %+v", p)
			}
			if l.adds != 1 || l.disables != 1 {
				t.Errorf("AddSecretVersion received %d times, DisableSecretVersion %d; want 1 and 1", l.adds, l.disables)
			}
			wantOneNewVersion(t, l)
		})
	}
}

// An add refused before it ran is retried once the check shows the latest
// version is not the update: still exactly one new version.
func TestEmulatorRefusedAddRetried(t *testing.T) {
	l := &lossy{refuse: 2}
	c := startLossy(t, l)
	pushUpdateV3(t, c)
	if l.adds != 3 {
		t.Errorf("AddSecretVersion received %d times, want 3 (two refused, one served)", l.adds)
	}
	wantOneNewVersion(t, l)
}

// The client gives up on an add whose last attempt lost its answer: push
// looks at the secret before reporting, finds the update in place, and
// finishes the job (disables the version it replaced) instead of claiming the
// secret still serves the old version.
func TestEmulatorLastAddAnswerLost(t *testing.T) {
	l := &lossy{refuse: 4, lose: 1, lossCode: codes.Unavailable}
	c := startLossy(t, l)
	res := pushUpdateV3(t, c)
	if p := res.Pushed[0]; p.AddedVersion != "3" || p.DisabledVersion != "2" {
		t.Errorf("pushed %+v", p)
	}
	if l.adds != 5 || l.disables != 1 {
		t.Errorf("AddSecretVersion received %d times, DisableSecretVersion %d; want 5 and 1", l.adds, l.disables)
	}
	wantOneNewVersion(t, l)
}

// When even the check fails, the failure says the outcome is unknown and how
// to look, never that the secret still serves the old version; nothing is
// disabled.
func TestEmulatorAddOutcomeUnknown(t *testing.T) {
	l := &lossy{refuse: 4, lose: 1, lossCode: codes.Unavailable, denyAfterLoss: true}
	c := startLossy(t, l)
	root := t.TempDir()
	update(t, root, "source-foo", "config|1.json", `{"token": "token-v3"}`)
	res, err := secretpush.Run(ctxFor(t), c, writer.Layout{Root: root}, secretpush.Options{Connectors: []string{"source-foo"}, Project: "p"})
	if err != nil || len(res.Pushed) != 0 || len(res.Failed) != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	msg := res.Failed[0].Err.Error()
	for _, w := range []string{"whether the new version was added is unknown", "gcloud secrets versions list --secret=SECRET_SOURCE-FOO_CREDS --project=p", "secretAccessor"} {
		if !strings.Contains(msg, w) {
			t.Errorf("message lacks %q:\n%s", w, msg)
		}
	}
	if strings.Contains(msg, "still serves") {
		t.Errorf("message claims to know what the secret serves:\n%s", msg)
	}
	if l.disables != 0 {
		t.Errorf("DisableSecretVersion received %d times, want 0", l.disables)
	}
}

// The add goes through and its answer is lost with INTERNAL or ABORTED while
// listing versions fails as well, so the client cannot check: push looks
// itself (what the secret serves), finds the update, and disables the version
// it replaced. A re-run then says unchanged, with nothing left to warn about.
func TestEmulatorAddLostWhileListingFails(t *testing.T) {
	for _, code := range []codes.Code{codes.Internal, codes.Aborted} {
		t.Run(code.String(), func(t *testing.T) {
			addr, srv := emulator.StartForTest(t, parseSeed(t), emulator.Options{Faults: []emulator.Fault{
				{Method: "AddSecretVersion", Rate: 1, Code: code, After: true},
				{Method: "ListSecretVersions", Rate: 1, Code: codes.Unavailable},
			}})
			c := dialBudget(t, addr, 300*time.Millisecond)
			root := t.TempDir()
			update(t, root, "source-foo", "config|1.json", `{"token": "token-v3"}`)
			opts := secretpush.Options{Connectors: []string{"source-foo"}}
			res, err := secretpush.Run(ctxFor(t), c, writer.Layout{Root: root}, opts)
			if err != nil || !res.OK() || len(res.Pushed) != 1 {
				t.Fatalf("%v %+v", err, res)
			}
			if p := res.Pushed[0]; p.AddedVersion != "3" || p.DisabledVersion != "2" {
				t.Errorf("pushed %+v", p)
			}
			want := []string{`DISABLED:{"token": "token-v1"}`, `DISABLED:{"token": "token-v2"}`, `ENABLED:{"token": "token-v3"}`}
			if got := versions(t, srv, "SECRET_SOURCE-FOO_CREDS"); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("versions = %q, want %q", got, want)
			}
			if n := srv.Calls()["AddSecretVersion"]; n != 1 {
				t.Errorf("AddSecretVersion calls = %d, want 1", n)
			}
		})
	}
}

// A re-run that finds the update in place while the version before it is
// still enabled warns, names both, and disables nothing; one ListSecretVersions
// is all it costs.
func TestEmulatorRerunWarnsAboutEnabledPredecessor(t *testing.T) {
	c, srv := connect(t, emulator.Options{})
	root := t.TempDir()
	update(t, root, "source-foo", "config|1.json", `{"token": "token-v3"}`)
	opts := secretpush.Options{Connectors: []string{"source-foo"}, Project: "p"}
	// The state a push leaves when its disable fails: 2 and 3 enabled.
	if _, err := c.AddVersion(t.Context(), "SECRET_SOURCE-FOO_CREDS", []byte(`{"token": "token-v3"}`)); err != nil {
		t.Fatal(err)
	}
	before := srv.Calls()
	res, err := secretpush.Run(ctxFor(t), c, writer.Layout{Root: root}, opts)
	if err != nil || !res.OK() || len(res.Unchanged) != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	p := res.Unchanged[0]
	if p.Version != "3" || p.AlsoEnabledVersion != "2" ||
		!strings.Contains(p.Warning, "version 3 already holds the update, but version 2 before it is still enabled") ||
		!strings.Contains(p.Warning, "`gcloud secrets versions disable 2 --secret=SECRET_SOURCE-FOO_CREDS --project=p`") {
		t.Errorf("unchanged %+v", p)
	}
	after := srv.Calls()
	if n := after["ListSecretVersions"] - before["ListSecretVersions"]; n != 1 {
		t.Errorf("ListSecretVersions calls = %d, want 1", n)
	}
	if after["DisableSecretVersion"] != 0 || after["AddSecretVersion"] != 1 {
		t.Errorf("calls = %v: the re-run wrote", after)
	}
	want := []string{`DISABLED:{"token": "token-v1"}`, `ENABLED:{"token": "token-v2"}`, `ENABLED:{"token": "token-v3"}`}
	if got := versions(t, srv, "SECRET_SOURCE-FOO_CREDS"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("versions = %q, want %q", got, want)
	}
}

// A disable that is never answered and cannot be checked either is
// reported as unknown, never as "still enabled".
func TestEmulatorDisableOutcomeUnknown(t *testing.T) {
	addr, _ := emulator.StartForTest(t, parseSeed(t), emulator.Options{Faults: []emulator.Fault{
		{Method: "DisableSecretVersion", Rate: 1, Code: codes.Unavailable, After: true},
		{Method: "GetSecretVersion", Rate: 1, Code: codes.PermissionDenied},
	}})
	c := dialBudget(t, addr, 300*time.Millisecond)
	root := t.TempDir()
	update(t, root, "source-foo", "config|1.json", `{"token": "token-v3"}`)
	res, err := secretpush.Run(ctxFor(t), c, writer.Layout{Root: root}, secretpush.Options{Connectors: []string{"source-foo"}, Project: "p"})
	if err != nil || len(res.Failed) != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	msg := res.Failed[0].Err.Error()
	if !errors.Is(res.Failed[0].Err, gsm.ErrOutcomeUnknown) || !strings.Contains(msg, "whether version 2 was disabled is unknown") || strings.Contains(msg, "but version 2 is still enabled") {
		t.Errorf("message: %s", msg)
	}
}
