package gsm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rs/zerolog"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

func parseSeed(t *testing.T, js string) *emulator.Seed {
	t.Helper()
	s, err := emulator.ParseSeed(strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fastRetry() gsm.RetryPolicy {
	p := gsm.DefaultRetry()
	p.Initial = time.Millisecond
	p.Max = 20 * time.Millisecond
	p.Overall = 10 * time.Second
	return p
}

// connect starts an emulator and returns the real client talking to it over gRPC.
func connect(t *testing.T, seed *emulator.Seed, opts emulator.Options) (*gsm.Client, *emulator.Server) {
	t.Helper()
	addr, srv := emulator.StartForTest(t, seed, opts)
	cfg, err := gsm.Resolve(gsm.Settings{Endpoint: addr, Project: seed.Project, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Retry = fastRetry()
	c, err := gsm.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, srv
}

const seedJSON = `{
  "project": "p",
  "secrets": [
    {"name": "SECRET_B_CREDS", "labels": {"connector": "source-b"}, "versions": [{"data": "{\"v\": 1}"}, {"data": "{\"v\": 2}"}]},
    {"name": "SECRET_A_CREDS", "labels": {"connector": "source-a", "filename": "x"}, "versions": [{"data": "{\"v\": \"a1\"}"}, {"data": "{\"v\": \"a2\"}", "state": "DISABLED"}, {"data": "{\"v\": \"a3\"}", "state": "DESTROYED"}]},
    {"name": "SECRET_NONE_CREDS", "labels": {"connector": "source-n"}, "versions": [{"data": "{}", "state": "DISABLED"}]},
    {"name": "SECRET_CRC_CREDS", "labels": {"connector": "source-c"}, "versions": [{"data": "{}", "crc32c": 1}]},
    {"name": "OTHER", "versions": [{"data": "{}"}]}
  ]
}`

func TestListSecretsOneRequestSorted(t *testing.T) {
	c, srv := connect(t, parseSeed(t, seedJSON), emulator.Options{})
	got, err := c.ListSecrets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range got {
		ids = append(ids, s.ID)
	}
	if want := "SECRET_A_CREDS SECRET_B_CREDS SECRET_CRC_CREDS SECRET_NONE_CREDS"; strings.Join(ids, " ") != want {
		t.Errorf("ids = %v, want %s", ids, want)
	}
	if got[0].Labels["filename"] != "x" || got[0].Name != "projects/p/secrets/SECRET_A_CREDS" {
		t.Errorf("first = %+v", got[0])
	}
	if n := srv.Calls()["ListSecrets"]; n != 1 {
		t.Errorf("ListSecrets calls = %d, want 1", n)
	}
	if st := c.Stats(); st.ReadRequests != 1 || st.AccessRequests != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestListSecretsPagesPastMaxPageSize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 25,001 secrets")
	}
	var b strings.Builder
	b.WriteString(`{"project": "p", "secrets": [`)
	for i := range gsm.MaxPageSize + 1 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"name": "SECRET_S%05d_CREDS", "labels": {"connector": "s%d"}, "versions": []}`, i, i)
	}
	b.WriteString("]}")
	c, srv := connect(t, parseSeed(t, b.String()), emulator.Options{})
	got, err := c.ListSecrets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != gsm.MaxPageSize+1 || srv.Calls()["ListSecrets"] != 2 {
		t.Errorf("got %d secrets in %d calls, want %d in 2", len(got), srv.Calls()["ListSecrets"], gsm.MaxPageSize+1)
	}
}

func TestAccessLatestAndFallback(t *testing.T) {
	c, srv := connect(t, parseSeed(t, seedJSON), emulator.Options{})
	ctx := context.Background()
	p, err := c.Access(ctx, "SECRET_B_CREDS")
	if err != nil || string(p.Data()) != `{"v": 2}` || p.Version != "2" || !p.Verified {
		t.Fatalf("B = %v, %v", p, err)
	}
	if srv.Calls()["ListSecretVersions"] != 0 {
		t.Error("an enabled latest version must not cost a ListSecretVersions call")
	}
	// Latest (3) destroyed, 2 disabled: the fallback finds 1.
	p, err = c.Access(ctx, "SECRET_A_CREDS")
	if err != nil || string(p.Data()) != `{"v": "a1"}` || p.Version != "1" {
		t.Fatalf("A = %v, %v", p, err)
	}
	if st := c.Stats(); st.Fallbacks != 1 || srv.Calls()["ListSecretVersions"] != 1 {
		t.Errorf("stats = %+v, calls = %v", st, srv.Calls())
	}
	_, err = c.Access(ctx, "SECRET_NONE_CREDS")
	if !errors.Is(err, gsm.ErrNoEnabledVersion) {
		t.Errorf("none enabled: err = %v", err)
	}
	_, err = c.Access(ctx, "SECRET_CRC_CREDS")
	if !errors.Is(err, gsm.ErrChecksum) {
		t.Errorf("crc: err = %v", err)
	}
	_, err = c.Access(ctx, "SECRET_MISSING_CREDS")
	if !errors.Is(err, gsm.ErrNotFound) {
		t.Errorf("missing: err = %v", err)
	}
}

func TestPayloadNeverPrints(t *testing.T) {
	c, _ := connect(t, parseSeed(t, `{"project": "p", "secrets": [{"name": "SECRET_X_CREDS", "versions": [{"data": "{\"pw\": \"hunter2-secret\"}"}]}]}`), emulator.Options{})
	p, err := c.Access(context.Background(), "SECRET_X_CREDS")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(p), fmt.Sprintf("%v %+v %#v %s %q %x", p, p, p, p, p, p), fmt.Sprint(*p)} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, fmt.Sprintf("%x", "hunter2")) {
			t.Errorf("payload printed: %s", s)
		}
	}
}

func TestRetriesTransientNotPermanent(t *testing.T) {
	seed := parseSeed(t, seedJSON)
	c, srv := connect(t, seed, emulator.Options{ErrorRate: 0.5, ErrorCode: codes.Unavailable, Seed: 3})
	ctx := context.Background()
	for range 20 {
		if _, err := c.Access(ctx, "SECRET_B_CREDS"); err != nil {
			t.Fatalf("transient faults were not retried: %v", err)
		}
	}
	if _, err := c.ListSecrets(ctx); err != nil {
		t.Fatalf("list: %v", err)
	}
	if st := c.Stats(); st.Retries == 0 || st.AccessRequests < 21 {
		t.Errorf("stats = %+v", st)
	}
	_ = srv

	for _, code := range []codes.Code{codes.PermissionDenied, codes.NotFound, codes.InvalidArgument, codes.Unauthenticated} {
		c, srv := connect(t, seed, emulator.Options{ErrorRate: 1, ErrorCode: code})
		_, err := c.Access(ctx, "SECRET_B_CREDS")
		if err == nil || srv.Calls()["AccessSecretVersion"] != 1 {
			t.Errorf("%v: err = %v after %d calls, want one call", code, err, srv.Calls()["AccessSecretVersion"])
		}
		if code == codes.PermissionDenied && !strings.Contains(err.Error(), "roles/secretmanager.secretAccessor") {
			t.Errorf("permission error does not name the role: %v", err)
		}
		_, err = c.ListSecrets(ctx)
		if code == codes.PermissionDenied && !strings.Contains(err.Error(), "roles/secretmanager.viewer") {
			t.Errorf("list permission error does not name the role: %v", err)
		}
	}
}

func TestRetryGivesUpAtOverallDeadline(t *testing.T) {
	addr, srv := emulator.StartForTest(t, parseSeed(t, seedJSON), emulator.Options{ErrorRate: 1, ErrorCode: codes.ResourceExhausted})
	cfg, _ := gsm.Resolve(gsm.Settings{Endpoint: addr, Project: "p", Getenv: func(string) string { return "" }})
	cfg.Retry = fastRetry()
	cfg.Retry.Overall = 200 * time.Millisecond
	c, err := gsm.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Access(context.Background(), "SECRET_B_CREDS")
	if err == nil || !strings.Contains(err.Error(), "ResourceExhausted") {
		t.Errorf("err = %v; want the server's last answer", err)
	}
	if tried := srv.Calls()["AccessSecretVersion"]; tried < 2 {
		t.Errorf("%d access requests: RESOURCE_EXHAUSTED was not retried", tried)
	}
}

func TestWrites(t *testing.T) {
	c, srv := connect(t, parseSeed(t, seedJSON), emulator.Options{})
	ctx := context.Background()
	v, err := c.CreateSecret(ctx, "SECRET_NEW_CREDS", map[string]string{"connector": "source-new"}, []byte(`{"k": "new"}`))
	if err != nil || v != "1" {
		t.Fatalf("create = %q, %v", v, err)
	}
	if _, err := c.CreateSecret(ctx, "SECRET_NEW_CREDS", nil, []byte(`{}`)); !errors.Is(err, gsm.ErrAlreadyExists) {
		t.Errorf("second create: %v", err)
	}
	v, err = c.AddVersion(ctx, "SECRET_NEW_CREDS", []byte(`{"k": "newer"}`))
	if err != nil || v != "2" {
		t.Fatalf("add = %q, %v", v, err)
	}
	if err := c.DisableVersion(ctx, "SECRET_NEW_CREDS", "1"); err != nil {
		t.Fatal(err)
	}
	vs, err := c.ListVersions(ctx, "SECRET_NEW_CREDS", "", 0)
	if err != nil || len(vs) != 2 || vs[0].Number != "2" || vs[1].State != "DISABLED" {
		t.Errorf("versions = %+v, %v", vs, err)
	}
	if _, err := c.AddVersion(ctx, "SECRET_NEW_CREDS", make([]byte, gsm.MaxPayload+1)); err == nil {
		t.Error("an oversize payload was sent")
	}
	_ = srv
}

func TestResolve(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	key := `{"type": "service_account", "project_id": "from-key", "private_key": "PRIVATE-KEY-TEXT"}`
	tests := []struct {
		name    string
		s       gsm.Settings
		project string
		wantErr string
	}{
		{"flag wins", gsm.Settings{Project: "flag", Getenv: env(map[string]string{"GCP_PROJECT_ID": "env", "SECRET_MANAGER_EMULATOR_HOST": "h:1"})}, "flag", ""},
		{"GCP_PROJECT_ID", gsm.Settings{Getenv: env(map[string]string{"GCP_PROJECT_ID": "env", "GOOGLE_CLOUD_PROJECT": "g", "SECRET_MANAGER_EMULATOR_HOST": "h:1"})}, "env", ""},
		{"GOOGLE_CLOUD_PROJECT", gsm.Settings{Getenv: env(map[string]string{"GOOGLE_CLOUD_PROJECT": "g", "SECRET_MANAGER_EMULATOR_HOST": "h:1"})}, "g", ""},
		{"key project", gsm.Settings{Getenv: env(map[string]string{"GCP_GSM_CREDENTIALS": key})}, "from-key", ""},
		{"none", gsm.Settings{Getenv: env(nil)}, "", "GCP_PROJECT_ID"},
		{"bad key", gsm.Settings{Getenv: env(map[string]string{"GCP_GSM_CREDENTIALS": `{"private_key": "PRIVATE-KEY-TEXT"`})}, "", "GCP_GSM_CREDENTIALS"},
		{"bad location", gsm.Settings{Project: "p", Location: "US/1", Getenv: env(nil)}, "", "--location"},
		{"endpoint URL", gsm.Settings{Project: "p", Getenv: env(map[string]string{"SECRET_MANAGER_EMULATOR_HOST": "http://127.0.0.1:8085"})}, "", "SECRET_MANAGER_EMULATOR_HOST \"http://127.0.0.1:8085\" is a URL"},
		{"endpoint no port", gsm.Settings{Project: "p", Endpoint: "localhost", Getenv: env(nil)}, "", "--endpoint \"localhost\" is not HOST:PORT"},
		{"endpoint bad port", gsm.Settings{Project: "p", Endpoint: "127.0.0.1:99999", Getenv: env(nil)}, "", "no port between 1 and 65535"},
		{"endpoint IPv6", gsm.Settings{Project: "p", Endpoint: "[::1]:8085", Getenv: env(nil)}, "p", ""},
	}
	for _, tt := range tests {
		c, err := gsm.Resolve(tt.s)
		if tt.wantErr != "" {
			if err == nil || !errors.Is(err, gsm.ErrConfig) || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "PRIVATE-KEY-TEXT") {
				t.Errorf("%s: err = %v", tt.name, err)
			}
			continue
		}
		if err != nil || c.Project != tt.project {
			t.Errorf("%s: project = %q, %v; want %q", tt.name, c.Project, err, tt.project)
		}
	}
}

// connectRetry is connect with a retry policy of the test's own.
func connectRetry(t *testing.T, seed *emulator.Seed, opts emulator.Options, p gsm.RetryPolicy) (*gsm.Client, *emulator.Server) {
	t.Helper()
	addr, srv := emulator.StartForTest(t, seed, opts)
	cfg, err := gsm.Resolve(gsm.Settings{Endpoint: addr, Project: seed.Project, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Retry = p
	c, err := gsm.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, srv
}

func enabledVersions(t *testing.T, srv *emulator.Server, id string) []string {
	t.Helper()
	var out []string
	for _, s := range srv.Snapshot().Secrets {
		if s.Name != id {
			continue
		}
		for _, v := range s.Versions {
			if v.State == "" || v.State == "ENABLED" {
				out = append(out, string(v.Data))
			}
		}
	}
	return out
}

func copies(versions []string, data []byte) int {
	n := 0
	for _, v := range versions {
		if v == string(data) {
			n++
		}
	}
	return n
}

// An add whose answer is lost is never blindly repeated: when the check
// finds it, its version is returned; when the check cannot be made either,
// the outcome is reported unknown and nothing is sent again.
func TestAddVersionLostAnswer(t *testing.T) {
	ctx := context.Background()
	lost := emulator.Fault{Method: "AddSecretVersion", Rate: 1, Code: codes.Unavailable, After: true}
	data := []byte(`{"v": "lost-answer"}`)

	// Any answer but those with which GSM refuses before acting may hide a
	// committed add.
	for _, code := range []codes.Code{codes.Unavailable, codes.DeadlineExceeded, codes.Internal, codes.Aborted, codes.Unknown} {
		t.Run("found after "+code.String(), func(t *testing.T) {
			f := lost
			f.Code = code
			c, srv := connect(t, parseSeed(t, seedJSON), emulator.Options{Faults: []emulator.Fault{f}})
			v, err := c.AddVersion(ctx, "SECRET_B_CREDS", data)
			if err != nil || v != "3" {
				t.Fatalf("add = %q, %v; want version 3 found by the check", v, err)
			}
			if n := srv.Calls()["AddSecretVersion"]; n != 1 {
				t.Errorf("%d AddSecretVersion calls, want 1", n)
			}
		})
	}

	t.Run("check fails too", func(t *testing.T) {
		p := fastRetry()
		p.Overall = 300 * time.Millisecond
		down := emulator.Fault{Method: "ListSecretVersions", Rate: 1, Code: codes.Unavailable}
		c, srv := connectRetry(t, parseSeed(t, seedJSON), emulator.Options{Faults: []emulator.Fault{lost, down}}, p)
		_, err := c.AddVersion(ctx, "SECRET_B_CREDS", data)
		if !errors.Is(err, gsm.ErrOutcomeUnknown) || status.Code(err) != codes.Unavailable {
			t.Fatalf("err = %v; want ErrOutcomeUnknown wrapping the lost UNAVAILABLE", err)
		}
		if n := srv.Calls()["AddSecretVersion"]; n != 1 {
			t.Errorf("%d AddSecretVersion calls, want 1: an add whose outcome is unknown was repeated", n)
		}
		if n := copies(enabledVersions(t, srv, "SECRET_B_CREDS"), data); n != 1 {
			t.Errorf("%d enabled versions hold the update, want exactly 1", n)
		}
	})

	t.Run("refused before running", func(t *testing.T) {
		// RESOURCE_EXHAUSTED is answered before anything happens: retried,
		// spaced by AddSpacing, and added once.
		p := fastRetry()
		p.AddSpacing = 50 * time.Millisecond
		refused := emulator.Fault{Method: "AddSecretVersion", Rate: 0.5, Code: codes.ResourceExhausted}
		c, srv := connectRetry(t, parseSeed(t, seedJSON), emulator.Options{Faults: []emulator.Fault{refused}, Seed: 5}, p)
		if _, err := c.AddVersion(ctx, "SECRET_B_CREDS", data); err != nil {
			t.Fatal(err)
		}
		if n := copies(enabledVersions(t, srv, "SECRET_B_CREDS"), data); n != 1 {
			t.Errorf("%d enabled versions hold the update, want exactly 1", n)
		}
	})
}

// A run that is retrying says so once at warn level, so a slow run does not
// look hung, and does not flood the log with one warning per retry.
func TestRetryWarnsOnce(t *testing.T) {
	c, _ := connect(t, parseSeed(t, seedJSON), emulator.Options{ErrorRate: 0.5, ErrorCode: codes.Unavailable, Seed: 3})
	var buf bytes.Buffer
	ctx := zerolog.New(&buf).Level(zerolog.DebugLevel).WithContext(context.Background())
	for range 20 {
		if _, err := c.Access(ctx, "SECRET_B_CREDS"); err != nil {
			t.Fatal(err)
		}
	}
	warns := strings.Count(buf.String(), `"level":"warn"`)
	debugs := strings.Count(buf.String(), `"code":"UNAVAILABLE"`)
	if st := c.Stats(); warns != 1 || int64(debugs) != st.Retries || st.Retries < 2 {
		t.Errorf("%d warnings and %d retry lines for %d retries; want 1 warning and a line per retry:\n%s", warns, debugs, st.Retries, buf.String())
	}
}
