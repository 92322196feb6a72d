package secretsync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/gsm/emulator"
	"github.com/airbytehq/ci-secrets/labels"
	"github.com/airbytehq/ci-secrets/secretsync"
	"github.com/airbytehq/ci-secrets/writer"
)

const project = "sync-unit-proj"

// env is one emulator with a real GSM client in front of it and a real
// writer.Layout rooted in a fresh temporary folder.
type env struct {
	t       *testing.T
	srv     *emulator.Server
	client  *gsm.Client
	root    string
	layout  writer.Layout
	entries []labels.Entry
}

func newEnv(t *testing.T, secrets []emulator.SeedSecret, opts emulator.Options) *env {
	t.Helper()
	return newEnvSeed(t, &emulator.Seed{Project: project, Secrets: secrets}, opts)
}

func newEnvSeed(t *testing.T, seed *emulator.Seed, opts emulator.Options) *env {
	t.Helper()
	addr, srv := emulator.StartForTest(t, seed, opts)
	cfg, err := gsm.Resolve(gsm.Settings{Endpoint: addr, Project: seed.Project, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	client, err := gsm.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	list, err := client.ListSecrets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var entries []labels.Entry
	for _, s := range list {
		if e, ok := labels.Classify(s.ID, s.Labels); ok {
			entries = append(entries, e)
		}
	}
	srv.ResetCalls() // count only what Run does
	root := t.TempDir()
	return &env{t: t, srv: srv, client: client, root: root, layout: writer.Layout{Root: root}, entries: entries}
}

func (e *env) run(ctx context.Context, opts secretsync.Options) *secretsync.Result {
	e.t.Helper()
	res, err := secretsync.Run(ctx, e.client, e.layout, e.entries, opts)
	if err != nil {
		e.t.Fatalf("Run: %v", err)
	}
	if res == nil {
		e.t.Fatal("Run returned a nil result")
	}
	return res
}

// path is where the real layout puts connector's file.
func (e *env) path(connector, file string) string {
	return filepath.Join(e.root, "airbyte-integrations", "connectors", connector, "secrets", file)
}

func (e *env) accesses() int { return e.srv.Calls()["AccessSecretVersion"] }

// files lists every non-folder entry under root (relative paths), so a test
// can assert that nothing at all (no temp file, no .gitignore) was left.
func files(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func secret(name string, lbls map[string]string, payloads ...string) emulator.SeedSecret {
	s := emulator.SeedSecret{Name: name, Labels: lbls}
	for _, p := range payloads {
		s.Versions = append(s.Versions, emulator.SeedVersion{Data: []byte(p)})
	}
	return s
}

func conn(c string) map[string]string { return map[string]string{"connector": c} }

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return b
}

func mustNotExist(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s exists (or cannot be checked: %v); want it absent", p, err)
	}
}

func failureFor(res *secretsync.Result, secretID, connector string) (secretsync.Failure, bool) {
	for _, f := range res.Failed {
		if f.Secret == secretID && f.Connector == connector {
			return f, true
		}
	}
	return secretsync.Failure{}, false
}

func sortedByPath(fs []secretsync.File) bool {
	return sort.SliceIsSorted(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
}

// TestRunHappyPath: every file byte-equal to the newest enabled version,
// Written sorted by path with the version read, nothing failed or missing.
func TestRunHappyPath(t *testing.T) {
	const (
		zebraV3  = `{"zebra_key": "zz-v3-7f41", "n": 3}`
		alphaV1  = `{"alpha_token": "al-v1-93c2"}`
		mikeV2   = `{"mike": {"nested": ["m-v2-55aa"]}}`
		ssh      = `{"ssh_private": "ssh-c0ffee-41"}`
		disabled = `{"never": "disabled-v2-dead"}`
	)
	e := newEnv(t, []emulator.SeedSecret{
		secret("SECRET_SOURCE-ZEBRA_CREDS", conn("source-zebra"), `{"old":1}`, `{"old":2}`, zebraV3),
		secret("SECRET_SOURCE-ALPHA_CREDS", conn("source-alpha"), alphaV1),
		secret("SECRET_DESTINATION-MIKE_CREDS", conn("destination-mike"), `{"old":"m1"}`, mikeV2),
		secret("SECRET_SOURCE-ALPHA_SSH__CREDS", map[string]string{"connector": "source-alpha", "filename": "ssh_tunnel"}, ssh),
		// Latest version disabled: the client falls back to version 1.
		{Name: "SECRET_SOURCE-KILO_CREDS", Labels: conn("source-kilo"), Versions: []emulator.SeedVersion{
			{Data: []byte(`{"kilo": "k-v1-6060"}`)}, {Data: []byte(disabled), State: "DISABLED"},
		}},
		// Not a CI secret name: ignored.
		secret("OTHER_THING", conn("source-alpha"), `{"ignored": true}`),
	}, emulator.Options{})

	res := e.run(context.Background(), secretsync.Options{All: true, Concurrency: 4})
	if !res.OK() || len(res.Failed) != 0 {
		t.Fatalf("failures: %v", res.Failed)
	}
	if res.DryRun || len(res.Planned) != 0 || len(res.Missing) != 0 {
		t.Errorf("DryRun=%v Planned=%v Missing=%v; want false, none, none", res.DryRun, res.Planned, res.Missing)
	}
	want := []secretsync.File{
		{Connector: "destination-mike", Secret: "SECRET_DESTINATION-MIKE_CREDS", Path: e.path("destination-mike", "config.json"), Version: "2", Status: writer.Wrote},
		{Connector: "source-alpha", Secret: "SECRET_SOURCE-ALPHA_CREDS", Path: e.path("source-alpha", "config.json"), Version: "1", Status: writer.Wrote},
		{Connector: "source-alpha", Secret: "SECRET_SOURCE-ALPHA_SSH__CREDS", Path: e.path("source-alpha", "ssh_tunnel.json"), Version: "1", Status: writer.Wrote},
		{Connector: "source-kilo", Secret: "SECRET_SOURCE-KILO_CREDS", Path: e.path("source-kilo", "config.json"), Version: "1", Status: writer.Wrote},
		{Connector: "source-zebra", Secret: "SECRET_SOURCE-ZEBRA_CREDS", Path: e.path("source-zebra", "config.json"), Version: "3", Status: writer.Wrote},
	}
	if !sortedByPath(res.Written) {
		t.Errorf("Written is not sorted by path: %v", res.Written)
	}
	if fmt.Sprint(res.Written) != fmt.Sprint(want) {
		t.Errorf("Written =\n%v\nwant\n%v", res.Written, want)
	}
	for p, data := range map[string]string{
		e.path("source-zebra", "config.json"):     zebraV3,
		e.path("source-alpha", "config.json"):     alphaV1,
		e.path("destination-mike", "config.json"): mikeV2,
		e.path("source-alpha", "ssh_tunnel.json"): ssh,
		e.path("source-kilo", "config.json"):      `{"kilo": "k-v1-6060"}`,
	} {
		if got := mustRead(t, p); !bytes.Equal(got, []byte(data)) {
			t.Errorf("%s = %q, want %q", p, got, data)
		}
	}
	// Only what Run must read: one latest access per secret, plus one
	// fallback access for the disabled one.
	if got := e.accesses(); got != 6 {
		t.Errorf("AccessSecretVersion calls = %d, want 6 (5 secrets + 1 fallback)", got)
	}
}

// TestRunStatuses: a second sync finds every file already equal to its
// secret (unchanged: not rewritten, but a widened mode is narrowed to 0600),
// and a hand-edited file is reported replaced.
func TestRunStatuses(t *testing.T) {
	const alpha, kilo = `{"alpha_token": "al-v1-93c2"}`, `{"kilo": "k-v1-6060"}`
	e := newEnv(t, []emulator.SeedSecret{
		secret("SECRET_SOURCE-ALPHA_CREDS", conn("source-alpha"), alpha),
		secret("SECRET_SOURCE-KILO_CREDS", conn("source-kilo"), kilo),
	}, emulator.Options{})
	statuses := func(res *secretsync.Result) map[string]writer.Status {
		t.Helper()
		if !res.OK() {
			t.Fatalf("failures: %v", res.Failed)
		}
		out := map[string]writer.Status{}
		for _, f := range res.Written {
			out[f.Connector] = f.Status
		}
		return out
	}
	if got := statuses(e.run(t.Context(), secretsync.Options{All: true})); got["source-alpha"] != writer.Wrote || got["source-kilo"] != writer.Wrote {
		t.Fatalf("first sync: %v, want both wrote", got)
	}
	alphaPath, kiloPath := e.path("source-alpha", "config.json"), e.path("source-kilo", "config.json")
	before, err := os.Stat(alphaPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(alphaPath, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kiloPath, []byte(`{"kilo": "edited by hand"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	got := statuses(e.run(t.Context(), secretsync.Options{All: true}))
	if got["source-alpha"] != writer.Unchanged || got["source-kilo"] != writer.Replaced {
		t.Errorf("second sync: %v, want source-alpha unchanged and source-kilo replaced", got)
	}
	after, err := os.Stat(alphaPath)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Errorf("%s was rewritten (a new file), want the same file kept", alphaPath)
	}
	if after.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v after an unchanged sync, want 0600", alphaPath, after.Mode().Perm())
	}
	if b := mustRead(t, kiloPath); string(b) != kilo {
		t.Errorf("%s holds %q, want the secret", kiloPath, b)
	}
}

// TestRunSharedSecretReadOnce: a secret labelled for two connectors is
// accessed once and written to both folders.
func TestRunSharedSecretReadOnce(t *testing.T) {
	const shared = `{"shared_dsn": "mysql://twin-4411"}`
	e := newEnv(t, []emulator.SeedSecret{
		secret("SECRET_MYSQL-TWIN_CREDS", conn("source-mysql-twin_destination-mysql-twin"), shared),
	}, emulator.Options{})
	res := e.run(context.Background(), secretsync.Options{All: true})
	if !res.OK() {
		t.Fatalf("failures: %v", res.Failed)
	}
	if got := e.accesses(); got != 1 {
		t.Errorf("AccessSecretVersion calls = %d, want 1 for a secret serving two connectors", got)
	}
	if len(res.Written) != 2 {
		t.Fatalf("Written = %v, want 2 files", res.Written)
	}
	for _, c := range []string{"source-mysql-twin", "destination-mysql-twin"} {
		if got := mustRead(t, e.path(c, "config.json")); string(got) != shared {
			t.Errorf("%s: %q, want %q", c, got, shared)
		}
	}
	for _, f := range res.Written {
		if f.Secret != "SECRET_MYSQL-TWIN_CREDS" || f.Version != "1" {
			t.Errorf("written %+v: want secret SECRET_MYSQL-TWIN_CREDS version 1", f)
		}
	}
}

// TestRunConflict: two secrets claiming the same (connector, file) both fail,
// each error naming both, neither is read or written; others are unaffected.
func TestRunConflict(t *testing.T) {
	e := newEnv(t, []emulator.SeedSecret{
		secret("SECRET_SOURCE-CLASH_CREDS", conn("source-clash"), `{"first": "clash-one-a1"}`),
		secret("SECRET_SOURCE-CLASH_OTHER__CREDS", conn("source-clash"), `{"second": "clash-two-b2"}`),
		secret("SECRET_SOURCE-CALM_CREDS", conn("source-calm"), `{"calm": "calm-c3"}`),
	}, emulator.Options{})
	res := e.run(context.Background(), secretsync.Options{All: true})

	names := []string{"SECRET_SOURCE-CLASH_CREDS", "SECRET_SOURCE-CLASH_OTHER__CREDS"}
	if len(res.Failed) != 2 {
		t.Fatalf("Failed = %v, want exactly the two conflicting secrets", res.Failed)
	}
	for _, n := range names {
		f, ok := failureFor(res, n, "source-clash")
		if !ok {
			t.Errorf("no failure for %s/source-clash in %v", n, res.Failed)
			continue
		}
		var c labels.Conflict
		if !errors.As(f.Err, &c) {
			t.Errorf("%s: error %v is not a labels.Conflict", n, f.Err)
		}
		for _, other := range names {
			if !strings.Contains(f.Err.Error(), other) {
				t.Errorf("%s: error %q does not name %s", n, f.Err, other)
			}
		}
	}
	mustNotExist(t, e.path("source-clash", "config.json"))
	if got := mustRead(t, e.path("source-calm", "config.json")); string(got) != `{"calm": "calm-c3"}` {
		t.Errorf("calm: %q", got)
	}
	if got := e.accesses(); got != 1 {
		t.Errorf("AccessSecretVersion calls = %d, want 1 (conflicting secrets are not read)", got)
	}
}

// TestRunFailuresAreIsolated: a non-JSON payload, invalid UTF-8, an
// oversize payload, a PERMISSION_DENIED access and invalid labels each fail
// only their own secret; the errors never quote the payload.
func TestRunFailuresAreIsolated(t *testing.T) {
	const (
		notJSON  = "plain-text-NOTJSON-8d1e"
		badUTF8  = "{\"k\": \"BADUTF8-\xff\xfe-77\"}"
		denied   = `{"denied": "DENIED-PAYLOAD-4b4b"}`
		good1    = `{"good": "GOOD-ONE-1a1a"}`
		good2    = `{"good": "GOOD-TWO-2b2b"}`
		badLabel = `{"label": "BADLABEL-9999"}`
	)
	huge := `{"h": "HUGE-` + strings.Repeat("q", gsm.MaxPayload) + `"}`
	noValidate := false
	seed := &emulator.Seed{Project: project, Validate: &noValidate, Secrets: []emulator.SeedSecret{
		secret("SECRET_SOURCE-GOOD-A_CREDS", conn("source-good-a"), good1),
		secret("SECRET_SOURCE-NOTJSON_CREDS", conn("source-notjson"), notJSON),
		secret("SECRET_SOURCE-BADUTF_CREDS", conn("source-badutf"), badUTF8),
		secret("SECRET_SOURCE-HUGE_CREDS", conn("source-huge"), huge),
		secret("SECRET_SOURCE-DENIED_CREDS", conn("source-denied"), denied),
		secret("SECRET_SOURCE-BADLABEL_CREDS", conn("source-badlabel__x"), badLabel),
		secret("SECRET_SOURCE-GOOD-B_CREDS", conn("source-good-b"), good2),
	}}
	e := newEnvSeed(t, seed, emulator.Options{Faults: []emulator.Fault{
		{Method: "AccessSecretVersion", Secret: "SECRET_SOURCE-DENIED_CREDS", Rate: 1, Code: codes.PermissionDenied},
	}})
	res := e.run(context.Background(), secretsync.Options{All: true, Concurrency: 2})

	for _, c := range []struct{ secret, connector string }{
		{"SECRET_SOURCE-GOOD-A_CREDS", "source-good-a"},
		{"SECRET_SOURCE-GOOD-B_CREDS", "source-good-b"},
	} {
		if _, ok := failureFor(res, c.secret, c.connector); ok {
			t.Errorf("%s failed", c.secret)
		}
	}
	if got := mustRead(t, e.path("source-good-a", "config.json")); string(got) != good1 {
		t.Errorf("good-a: %q", got)
	}
	if got := mustRead(t, e.path("source-good-b", "config.json")); string(got) != good2 {
		t.Errorf("good-b: %q", got)
	}
	if len(res.Written) != 2 {
		t.Errorf("Written = %v, want only the two good secrets", res.Written)
	}

	checks := []struct {
		secret, connector string
		is                error
		payload           string
	}{
		{"SECRET_SOURCE-NOTJSON_CREDS", "source-notjson", secretsync.ErrNotJSON, notJSON},
		{"SECRET_SOURCE-BADUTF_CREDS", "source-badutf", secretsync.ErrNotJSON, badUTF8},
		{"SECRET_SOURCE-HUGE_CREDS", "source-huge", secretsync.ErrTooLarge, huge},
		{"SECRET_SOURCE-DENIED_CREDS", "source-denied", gsm.ErrPermission, denied},
		{"SECRET_SOURCE-BADLABEL_CREDS", "", labels.ErrInvalidLabel, badLabel},
	}
	if len(res.Failed) != len(checks) {
		t.Errorf("Failed = %v, want %d failures", res.Failed, len(checks))
	}
	for _, c := range checks {
		f, ok := failureFor(res, c.secret, c.connector)
		if !ok {
			t.Errorf("no failure for %s/%q in %v", c.secret, c.connector, res.Failed)
			continue
		}
		if !errors.Is(f.Err, c.is) {
			t.Errorf("%s: error %q is not %v", c.secret, f.Err, c.is)
		}
		if !strings.Contains(f.Err.Error(), c.secret) {
			t.Errorf("%s: error %q does not name the secret", c.secret, f.Err)
		}
		msg := f.Err.Error()
		for _, bad := range []string{c.payload, "NOTJSON-8d1e", "BADUTF8", "HUGE-", "DENIED-PAYLOAD", "BADLABEL-9999", "qqqqqqqq"} {
			if strings.Contains(msg, bad) {
				t.Errorf("%s: error %q quotes payload bytes %q", c.secret, msg, bad)
			}
		}
		js, err := json.Marshal(f)
		if err != nil || !bytes.Contains(js, []byte(`"error":`)) {
			t.Errorf("%s: failure JSON %s, %v", c.secret, js, err)
		}
		if c.connector != "" {
			mustNotExist(t, e.path(c.connector, "config.json"))
		}
	}
	mustNotExist(t, e.path("source-badlabel", "config.json"))
	// Six secrets are read once each: the bad-label one is never read and
	// the denied one is not retried.
	if got := e.accesses(); got != 6 {
		t.Errorf("AccessSecretVersion calls = %d, want 6", got)
	}
}

// TestRunDryRun: no payload read, nothing written, Prepare not called (a
// stale temporary file survives), Planned lists every target without version.
func TestRunDryRun(t *testing.T) {
	e := newEnv(t, []emulator.SeedSecret{
		secret("SECRET_SOURCE-DRY-A_CREDS", conn("source-dry-a_destination-dry-b"), `{"dry": "DRY-A-1"}`),
		secret("SECRET_SOURCE-DRY-C_CREDS", map[string]string{"connector": "source-dry-c", "filename": "oauth_creds"}, `{"dry": "DRY-C-2"}`),
	}, emulator.Options{})
	staleDir := filepath.Dir(e.path("source-dry-c", "x"))
	if err := os.MkdirAll(staleDir, 0o700); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(staleDir, ".ci-secrets-oauth_creds.json.0123456789abcdef.tmp")
	if err := os.WriteFile(stale, []byte("stale"), 0o600); err != nil {
		t.Fatal(err)
	}

	res := e.run(context.Background(), secretsync.Options{All: true, DryRun: true})
	if !res.DryRun || !res.OK() {
		t.Fatalf("DryRun=%v failures=%v", res.DryRun, res.Failed)
	}
	if got := e.accesses(); got != 0 {
		t.Errorf("AccessSecretVersion calls = %d in a dry run, want 0", got)
	}
	if len(res.Written) != 0 {
		t.Errorf("Written = %v in a dry run", res.Written)
	}
	want := []secretsync.File{
		{Connector: "destination-dry-b", Secret: "SECRET_SOURCE-DRY-A_CREDS", Path: e.path("destination-dry-b", "config.json")},
		{Connector: "source-dry-a", Secret: "SECRET_SOURCE-DRY-A_CREDS", Path: e.path("source-dry-a", "config.json")},
		{Connector: "source-dry-c", Secret: "SECRET_SOURCE-DRY-C_CREDS", Path: e.path("source-dry-c", "oauth_creds.json")},
	}
	if fmt.Sprint(res.Planned) != fmt.Sprint(want) {
		t.Errorf("Planned =\n%v\nwant\n%v", res.Planned, want)
	}
	if got := files(t, e.root); len(got) != 1 || got[0] != mustRel(t, e.root, stale) {
		t.Errorf("files after a dry run: %v, want only the untouched stale temp file", got)
	}

	// The same run for real does prepare (removes the stale file) and writes.
	res = e.run(context.Background(), secretsync.Options{All: true})
	if !res.OK() || len(res.Written) != 3 || len(res.Planned) != 0 {
		t.Fatalf("real run: written %v planned %v failed %v", res.Written, res.Planned, res.Failed)
	}
	mustNotExist(t, stale)
}

func mustRel(t *testing.T, base, p string) string {
	t.Helper()
	r, err := filepath.Rel(base, p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRunRequire: a named connector no secret serves is only Missing without
// Require, and also a Failure with it; the served connector is written either way.
func TestRunRequire(t *testing.T) {
	seeds := []emulator.SeedSecret{
		secret("SECRET_SOURCE-PRESENT_CREDS", conn("source-present"), `{"present": "PRESENT-5c5c"}`),
		secret("SECRET_SOURCE-UNASKED_CREDS", conn("source-unasked"), `{"unasked": "UNASKED-6d6d"}`),
	}
	for _, require := range []bool{false, true} {
		t.Run(fmt.Sprintf("require=%v", require), func(t *testing.T) {
			e := newEnv(t, seeds, emulator.Options{})
			res := e.run(context.Background(), secretsync.Options{
				Connectors: []string{"source-present", "source-nowhere-42"},
				Require:    require,
			})
			if fmt.Sprint(res.Missing) != "[source-nowhere-42]" {
				t.Errorf("Missing = %v, want [source-nowhere-42]", res.Missing)
			}
			if len(res.Written) != 1 || res.Written[0].Connector != "source-present" {
				t.Errorf("Written = %v, want only source-present", res.Written)
			}
			mustNotExist(t, e.path("source-unasked", "config.json"))
			if !require {
				if !res.OK() || len(res.Failed) != 0 {
					t.Errorf("without Require: Failed = %v, want none", res.Failed)
				}
				return
			}
			if len(res.Failed) != 1 {
				t.Fatalf("with Require: Failed = %v, want one failure", res.Failed)
			}
			f := res.Failed[0]
			if f.Connector != "source-nowhere-42" || f.Secret != "" || !strings.Contains(f.Err.Error(), "source-nowhere-42") {
				t.Errorf("with Require: failure %+v (%v)", f, f.Err)
			}
		})
	}
}

// TestRunMask: Mask sees every payload before its file exists; a Mask error
// fails that secret (error wrapped) and its file is never written.
func TestRunMask(t *testing.T) {
	payloads := map[string]string{ // payload -> connector
		`{"mask": "MASK-ONE-0a0a"}`:   "source-mask-one",
		`{"mask": "MASK-TWO-0b0b"}`:   "source-mask-two",
		`{"mask": "MASK-THREE-0c0c"}`: "source-mask-three",
		`{"mask": "MASK-FAIL-0d0d"}`:  "source-mask-fail",
	}
	var seeds []emulator.SeedSecret
	for p, c := range payloads {
		seeds = append(seeds, secret("SECRET_"+strings.ToUpper(c)+"_CREDS", conn(c), p))
	}
	e := newEnv(t, seeds, emulator.Options{})
	errMask := errors.New("mask sink closed 0xMASKERR")

	var mu sync.Mutex
	seen := map[string]int{}
	mask := func(data []byte) error {
		p := string(data)
		c, ok := payloads[p]
		if !ok {
			t.Errorf("Mask got an unknown payload of %d bytes", len(data))
			return nil
		}
		if _, err := os.Lstat(e.path(c, "config.json")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Mask called for %s after its file exists (%v)", c, err)
		}
		mu.Lock()
		seen[p]++
		mu.Unlock()
		if c == "source-mask-fail" {
			return errMask
		}
		return nil
	}
	res := e.run(context.Background(), secretsync.Options{All: true, Mask: mask, Concurrency: 4})

	for p, c := range payloads {
		if seen[p] != 1 {
			t.Errorf("Mask saw %s's payload %d times, want 1", c, seen[p])
		}
	}
	if len(res.Failed) != 1 {
		t.Fatalf("Failed = %v, want only the mask failure", res.Failed)
	}
	f := res.Failed[0]
	if f.Connector != "source-mask-fail" || f.Secret != "SECRET_SOURCE-MASK-FAIL_CREDS" || !errors.Is(f.Err, errMask) {
		t.Errorf("failure %+v (%v), want the mask error for source-mask-fail", f, f.Err)
	}
	if strings.Contains(f.Err.Error(), "MASK-FAIL-0d0d") {
		t.Errorf("mask failure quotes the payload: %v", f.Err)
	}
	mustNotExist(t, e.path("source-mask-fail", "config.json"))
	if len(res.Written) != 3 {
		t.Errorf("Written = %v, want 3", res.Written)
	}
	for p, c := range payloads {
		if c == "source-mask-fail" {
			continue
		}
		if got := mustRead(t, e.path(c, "config.json")); string(got) != p {
			t.Errorf("%s: %q, want %q", c, got, p)
		}
	}
}

// TestRunCancelled: whether the context is cancelled before Run, while reads
// are in flight, or between a read and its write, Run returns
// context.Canceled and leaves no file at all (no partial, temp or .gitignore).
func TestRunCancelled(t *testing.T) {
	var seeds []emulator.SeedSecret
	for i := range 12 {
		c := fmt.Sprintf("source-cancel-%02d", i)
		seeds = append(seeds, secret(fmt.Sprintf("SECRET_SOURCE-CANCEL-%02d_CREDS", i), conn(c), fmt.Sprintf(`{"cancel": "CANCEL-%02d-e1e1"}`, i)))
	}
	check := func(t *testing.T, e *env, res *secretsync.Result, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run error = %v, want context.Canceled", err)
		}
		if res != nil && len(res.Written) != 0 {
			t.Errorf("Written = %v after cancellation", res.Written)
		}
		if got := files(t, e.root); len(got) != 0 {
			t.Errorf("files left after cancellation: %v", got)
		}
	}

	t.Run("before", func(t *testing.T) {
		e := newEnv(t, seeds, emulator.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res, err := secretsync.Run(ctx, e.client, e.layout, e.entries, secretsync.Options{All: true})
		check(t, e, res, err)
		if got := e.accesses(); got != 0 {
			t.Errorf("AccessSecretVersion calls = %d with a cancelled context", got)
		}
	})

	t.Run("during reads", func(t *testing.T) {
		// Every access would take an hour, so Run returning at all shows it
		// stopped on the cancellation instead of waiting for the reads; no
		// duration is measured.
		e := newEnv(t, seeds, emulator.Options{})
		if err := e.srv.SetFaults(emulator.FaultSettings{Latency: time.Hour}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		timer := time.AfterFunc(100*time.Millisecond, cancel)
		defer timer.Stop()
		res, err := secretsync.Run(ctx, e.client, e.layout, e.entries, secretsync.Options{All: true, Concurrency: 4})
		if ctx.Err() == nil {
			t.Errorf("Run returned before the cancellation, with hour-long reads pending")
		}
		check(t, e, res, err)
		if res != nil && len(res.Failed) != 0 {
			// Interrupted reads are not per-secret failures.
			t.Errorf("Failed = %v; an interrupted read is not a secret's failure", res.Failed)
		}
	})

	t.Run("between read and write", func(t *testing.T) {
		e := newEnv(t, seeds, emulator.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var once sync.Once
		mask := func([]byte) error { once.Do(cancel); return nil }
		res, err := secretsync.Run(ctx, e.client, e.layout, e.entries, secretsync.Options{All: true, Concurrency: 3, Mask: mask})
		check(t, e, res, err)
		if res != nil && len(res.Failed) != 0 {
			t.Errorf("Failed = %v; a write skipped because of cancellation is not a secret's failure", res.Failed)
		}
	})
}

// TestRunConcurrencyIndependent: Concurrency 1 and 64 give the same Result
// (paths relative to each root) and the same files.
func TestRunConcurrencyIndependent(t *testing.T) {
	var seeds []emulator.SeedSecret
	for i := range 40 {
		data := fmt.Sprintf(`{"conc": "CONC-%02d-f00d"}`, i)
		if i%9 == 4 {
			data = fmt.Sprintf("not json CONC-%02d", i)
		}
		lbl := fmt.Sprintf("source-conc-%02d", i)
		if i%7 == 3 {
			lbl += fmt.Sprintf("_destination-conc-%02d", i)
		}
		seeds = append(seeds, secret(fmt.Sprintf("SECRET_SOURCE-CONC-%02d_CREDS", i), conn(lbl), data))
	}
	// A conflict too.
	seeds = append(seeds, secret("SECRET_SOURCE-CONC-00_DUP__CREDS", conn("source-conc-00"), `{"dup": 1}`))

	type outcome struct {
		result string
		files  map[string]string
	}
	runWith := func(n int) outcome {
		e := newEnv(t, seeds, emulator.Options{Jitter: 2 * time.Millisecond})
		res := e.run(context.Background(), secretsync.Options{All: true, Concurrency: n})
		if !sortedByPath(res.Written) {
			t.Errorf("concurrency %d: Written not sorted", n)
		}
		for i := range res.Written {
			res.Written[i].Path = mustRel(t, e.root, res.Written[i].Path)
		}
		js, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		out := outcome{result: strings.ReplaceAll(string(js), e.root, "<root>"), files: map[string]string{}}
		for _, f := range files(t, e.root) {
			out.files[f] = string(mustRead(t, filepath.Join(e.root, f)))
		}
		return out
	}
	one, many := runWith(1), runWith(64)
	if one.result != many.result {
		t.Errorf("results differ:\nconcurrency 1:  %s\nconcurrency 64: %s", one.result, many.result)
	}
	if fmt.Sprint(one.files) != fmt.Sprint(many.files) {
		t.Errorf("files differ:\n%v\n%v", one.files, many.files)
	}
	// Sanity: the run did something of each kind.
	var r secretsync.Result
	if err := json.Unmarshal([]byte(one.result), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Written) < 30 || !strings.Contains(one.result, "not valid JSON") || !strings.Contains(one.result, "claimed by 2 secrets") {
		t.Errorf("unexpected outcome: %s", one.result)
	}
}

// fakeDest wraps the real layout but fails Prepare for chosen folders and
// Write for chosen paths, and counts Prepare calls per folder.
type fakeDest struct {
	writer.Layout
	prepareErr map[string]error
	writeErr   map[string]error
	mu         sync.Mutex
	prepared   map[string]int
}

func (d *fakeDest) Prepare(ctx context.Context, dir string) error {
	d.mu.Lock()
	d.prepared[dir]++
	d.mu.Unlock()
	if err := d.prepareErr[dir]; err != nil {
		return err
	}
	return d.Layout.Prepare(ctx, dir)
}

func (d *fakeDest) Write(ctx context.Context, dir, file string, data []byte) (writer.Written, error) {
	if err := d.writeErr[filepath.Join(dir, file)]; err != nil {
		return writer.Written{}, err
	}
	return d.Layout.Write(ctx, dir, file, data)
}

// TestRunDestinationFailures: a folder whose Prepare fails fails every secret
// bound for it (without reading those secrets), each folder is prepared once,
// and a Write failing for one target of a shared secret fails only that target.
func TestRunDestinationFailures(t *testing.T) {
	e := newEnv(t, []emulator.SeedSecret{
		secret("SECRET_SOURCE-PREP-BAD_CREDS", conn("source-prep-bad"), `{"p": "PREPBAD-1"}`),
		secret("SECRET_SOURCE-PREP-BAD_SSH__CREDS", map[string]string{"connector": "source-prep-bad", "filename": "ssh"}, `{"p": "PREPBAD-2"}`),
		secret("SECRET_SOURCE-PREP-OK_CREDS", conn("source-prep-ok"), `{"p": "PREPOK-3"}`),
		secret("SECRET_SOURCE-PREP-OK_EXTRA__CREDS", map[string]string{"connector": "source-prep-ok", "filename": "extra"}, `{"p": "PREPOK-4"}`),
		secret("SECRET_SHARED-PREP_CREDS", conn("source-wr-ok_source-wr-bad"), `{"p": "SHARED-5"}`),
	}, emulator.Options{})
	errPrep := errors.New("prepare refused 0xPREP")
	errWrite := errors.New("disk full 0xWRITE")
	badDir := filepath.Dir(e.path("source-prep-bad", "x"))
	dst := &fakeDest{
		Layout:     e.layout,
		prepareErr: map[string]error{badDir: errPrep},
		writeErr:   map[string]error{e.path("source-wr-bad", "config.json"): errWrite},
		prepared:   map[string]int{},
	}
	res, err := secretsync.Run(context.Background(), e.client, dst, e.entries, secretsync.Options{All: true, Concurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	for dir, n := range dst.prepared {
		if n != 1 {
			t.Errorf("Prepare(%s) called %d times, want once", dir, n)
		}
	}
	if len(dst.prepared) != 4 {
		t.Errorf("prepared %v, want 4 folders", dst.prepared)
	}
	wantFailed := []struct {
		secret, connector string
		err               error
	}{
		{"SECRET_SHARED-PREP_CREDS", "source-wr-bad", errWrite},
		{"SECRET_SOURCE-PREP-BAD_CREDS", "source-prep-bad", errPrep},
		{"SECRET_SOURCE-PREP-BAD_SSH__CREDS", "source-prep-bad", errPrep},
	}
	if len(res.Failed) != len(wantFailed) {
		t.Errorf("Failed = %v, want %d", res.Failed, len(wantFailed))
	}
	for i, w := range wantFailed {
		if i >= len(res.Failed) {
			break
		}
		f := res.Failed[i] // Failed is sorted by secret, then connector
		if f.Secret != w.secret || f.Connector != w.connector || !errors.Is(f.Err, w.err) {
			t.Errorf("Failed[%d] = %+v (%v), want %s/%s: %v", i, f, f.Err, w.secret, w.connector, w.err)
		}
	}
	mustNotExist(t, badDir)
	mustNotExist(t, e.path("source-wr-bad", "config.json"))
	for p, want := range map[string]string{
		e.path("source-prep-ok", "config.json"): `{"p": "PREPOK-3"}`,
		e.path("source-prep-ok", "extra.json"):  `{"p": "PREPOK-4"}`,
		e.path("source-wr-ok", "config.json"):   `{"p": "SHARED-5"}`,
	} {
		if got := mustRead(t, p); string(got) != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	if len(res.Written) != 3 {
		t.Errorf("Written = %v, want 3", res.Written)
	}
	// Secrets whose only folder could not be prepared are not read.
	if got := e.accesses(); got != 3 {
		t.Errorf("AccessSecretVersion calls = %d, want 3", got)
	}
}

// TestCheckPayload documents what a payload must be: a JSON object. Arrays,
// scalars and null are valid JSON but no connector config, and are refused.
func TestCheckPayload(t *testing.T) {
	const marker = "PAYLOAD-MARKER-7e7e"
	// exactly fills n bytes with a valid JSON object holding the marker.
	exactly := func(n int) []byte {
		b := []byte(`{"k":"` + marker + strings.Repeat("z", n-len(marker)-8) + `"}`)
		if len(b) != n {
			panic("bad size")
		}
		return b
	}
	tests := []struct {
		name string
		data []byte
		want error // nil = accepted
		text string
	}{
		{"object", []byte(`{"k": "` + marker + `"}`), nil, ""},
		{"array", []byte(`["` + marker + `", 1]`), secretsync.ErrNotObject, "it is an array, and a connector config is a JSON object"},
		{"string", []byte(" \n\"" + marker + `"`), secretsync.ErrNotObject, "it is a string"},
		{"null", []byte(`null`), secretsync.ErrNotObject, "it is null"},
		{"number", []byte(`12345`), secretsync.ErrNotObject, "it is a number"},
		{"boolean", []byte(`true`), secretsync.ErrNotObject, "it is a boolean"},
		{"empty object", []byte(`{}`), nil, ""},
		{"surrounding whitespace", []byte("\n {\"k\": \"" + marker + "\"}\n"), nil, ""},
		{"not JSON", []byte(marker + " = secret"), secretsync.ErrNotJSON, "store the connector's config JSON"},
		{"truncated object", []byte(`{"k": "` + marker), secretsync.ErrNotJSON, "store the connector's config JSON"},
		{"two values", []byte(`{"a":"` + marker + `"}{"b":1}`), secretsync.ErrNotJSON, ""},
		{"invalid UTF-8", []byte("{\"k\": \"" + marker + "\xff\"}"), secretsync.ErrNotJSON, "UTF-8"},
		{"empty", []byte{}, secretsync.ErrNotJSON, ""},
		{"nil", nil, secretsync.ErrNotJSON, ""},
		{"whitespace only", []byte("  \n"), secretsync.ErrNotJSON, ""},
		{"exactly 64 KiB", exactly(gsm.MaxPayload), nil, ""},
		{"64 KiB + 1", exactly(gsm.MaxPayload + 1), secretsync.ErrTooLarge, fmt.Sprint(gsm.MaxPayload + 1)},
		{"oversize and not JSON", []byte(marker + strings.Repeat("\xff", gsm.MaxPayload)), secretsync.ErrTooLarge, ""},
	}
	if gsm.MaxPayload != 64*1024 {
		t.Fatalf("gsm.MaxPayload = %d, want 64 KiB", gsm.MaxPayload)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := secretsync.CheckPayload(tt.data)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckPayload = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("CheckPayload = %v, want %v", err, tt.want)
			}
			if tt.text != "" && !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q lacks %q", err, tt.text)
			}
			if strings.Contains(err.Error(), marker) || strings.Contains(err.Error(), "zzzz") || strings.Contains(err.Error(), "\xff") {
				t.Errorf("error %q quotes the payload", err)
			}
		})
	}
}
