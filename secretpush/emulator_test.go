package secretpush_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc/codes"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/gsm/emulator"
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
	seed, err := emulator.ParseSeed(strings.NewReader(seedJSON))
	if err != nil {
		t.Fatal(err)
	}
	addr, srv := emulator.StartForTest(t, seed, opts)
	cfg, err := gsm.Resolve(gsm.Settings{Endpoint: addr, Project: seed.Project, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Retry.Initial = time.Millisecond
	cfg.Retry.Max = 20 * time.Millisecond
	cfg.Retry.Overall = 5 * time.Second
	c, err := gsm.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, srv
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
	dir := filepath.Join(root, "airbyte-integrations", "connectors", connector, "secrets", secretpush.UpdatedDir)
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
	if st.WriteRequests != 2 || st.ReadRequests != 1 {
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
	root := t.TempDir()
	update(t, root, "source-foo", "config|1.json", `{"token": "token-v3"}`)
	res, err := secretpush.Run(ctxFor(t), c, writer.Layout{Root: root}, secretpush.Options{Connectors: []string{"source-foo"}})
	if err != nil || !res.OK() || len(res.Pushed) != 1 {
		t.Fatalf("%v %+v", err, res)
	}
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
