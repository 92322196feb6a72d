package secretpush

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/labels"
	"github.com/airbytehq/ci-secrets/writer"
)

func testCtx(t *testing.T) context.Context {
	return zerolog.New(zerolog.NewTestWriter(t)).WithContext(t.Context())
}

func run(t *testing.T, st Store, tr *tree, opts Options) *Result {
	t.Helper()
	res, err := Run(testCtx(t), st, writer.Layout{Root: tr.root}, opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkNoValues(t, res, tr)
	return res
}

// checkNoValues fails when any secret value of the tree's updates or the
// store appears in the result, its JSON or its error messages.
func checkNoValues(t *testing.T, res *Result, tr *tree) {
	t.Helper()
	out, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, f := range res.Failed {
		text += "\n" + f.Err.Error()
	}
	_ = filepath.WalkDir(tr.root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		data, _ := os.ReadFile(p)
		for _, v := range secretish(data) {
			if strings.Contains(text, v) {
				t.Errorf("value %q of %s appears in the result:\n%s", v, p, text)
			}
		}
		return nil
	})
}

// secretish extracts the test values: every word holding "secret" or "token".
func secretish(data []byte) []string {
	var out []string
	for _, w := range strings.FieldsFunc(string(data), func(r rune) bool { return strings.ContainsRune(" \"{}:,[]\n\t", r) }) {
		if strings.Contains(w, "secret-") || strings.Contains(w, "token-") {
			out = append(out, w)
		}
	}
	return out
}

func failuresWith(t *testing.T, res *Result, target error) []Failure {
	t.Helper()
	var out []Failure
	for _, f := range res.Failed {
		if errors.Is(f.Err, target) {
			out = append(out, f)
		}
	}
	return out
}

func TestPushChanged(t *testing.T) {
	st := newMemStore()
	st.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"}, `{"token": "token-old"}`)
	tr := newTree(t)
	tr.write("source-foo", "config|100.json", `{"token": "token-new"}`)

	res := run(t, st, tr, Options{Connectors: []string{"source-foo"}})
	if !res.OK() || len(res.Pushed) != 1 {
		t.Fatalf("want one push, got %+v", res)
	}
	p := res.Pushed[0]
	if p.Secret != "SECRET_SOURCE-FOO_CREDS" || p.Version != "1" || p.AddedVersion != "2" || p.DisabledVersion != "1" {
		t.Errorf("push = %+v", p)
	}
	if want := filepath.Join(tr.updates("source-foo"), "config|100.json"); len(p.Files) != 1 || p.Files[0].Path != want || p.Files[0].File != "config.json" {
		t.Errorf("files = %+v, want %s", p.Files, want)
	}
	want := []string{`1:off:{"token": "token-old"}`, `2:on:{"token": "token-new"}`}
	if got := st.state("SECRET_SOURCE-FOO_CREDS"); !slices.Equal(got, want) {
		t.Errorf("versions = %q, want %q", got, want)
	}
	if st.calls["ListSecrets"] != 1 {
		t.Errorf("ListSecrets called %d times", st.calls["ListSecrets"])
	}
	// The file is left in place, and a second run finds nothing to do.
	res = run(t, st, tr, Options{Connectors: []string{"source-foo"}})
	if len(res.Unchanged) != 1 || len(res.Pushed) != 0 || res.Unchanged[0].Version != "2" {
		t.Fatalf("second run: %+v", res)
	}
	if st.calls["AddVersion"] != 1 {
		t.Errorf("AddVersion called %d times over two runs", st.calls["AddVersion"])
	}
}

func TestPushUnchangedAsJSON(t *testing.T) {
	st := newMemStore()
	st.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"},
		`{"a": 1, "b": {"token": "token-same", "n": [1.0, 2e3, 12345678901234567890]}}`)
	tr := newTree(t)
	tr.write("source-foo", "config|1.json", "{\n  \"b\": {\"n\": [1, 2000, 12345678901234567890], \"token\": \"token\\u002dsame\"},\n  \"a\": 1.00\n}\n")
	res := run(t, st, tr, Options{Connectors: []string{"source-foo"}})
	if !res.OK() || len(res.Unchanged) != 1 || len(res.Pushed) != 0 || st.calls["AddVersion"] != 0 {
		t.Fatalf("want unchanged, got %+v (calls %v)", res, st.calls)
	}
}

func TestPushNewestWins(t *testing.T) {
	st := newMemStore()
	st.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"}, `{"token": "token-0"}`)
	st.put("SECRET_SOURCE-FOO_OAUTH__CREDS", map[string]string{"connector": "source-foo", "filename": "oauth"}, `{"token": "token-o0"}`)
	tr := newTree(t)
	// By number: 10 beats 9 (numerically, not as text).
	tr.write("source-foo", "config|9.json", `{"token": "token-9"}`)
	tr.write("source-foo", "config|10.json", `{"token": "token-10"}`)
	tr.write("source-foo", "config|2.json", `{"token": "token-2"}`)
	// Equal numbers: the newest modification time wins.
	older := tr.write("source-foo", "oauth|5.json", `{"token": "token-o-older"}`)
	tr.write("source-foo", "oauth|005.json", `{"token": "token-o-newer"}`)
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(older, past, past); err != nil {
		t.Fatal(err)
	}
	res := run(t, st, tr, Options{Connectors: []string{"source-foo"}})
	if !res.OK() || len(res.Pushed) != 2 {
		t.Fatalf("want two pushes, got %+v", res)
	}
	if got := st.state("SECRET_SOURCE-FOO_CREDS"); got[len(got)-1] != `2:on:{"token": "token-10"}` {
		t.Errorf("config versions = %q", got)
	}
	if got := st.state("SECRET_SOURCE-FOO_OAUTH__CREDS"); got[len(got)-1] != `2:on:{"token": "token-o-newer"}` {
		t.Errorf("oauth versions = %q", got)
	}
	var sup []string
	for _, s := range res.Superseded {
		sup = append(sup, filepath.Base(s.Path)+">"+filepath.Base(s.By))
	}
	want := []string{"config|2.json>config|10.json", "config|9.json>config|10.json", "oauth|5.json>oauth|005.json"}
	if !slices.Equal(sup, want) {
		t.Errorf("superseded = %q, want %q", sup, want)
	}
	for _, n := range []string{"config|2.json", "config|9.json", "oauth|5.json"} {
		if _, err := os.Stat(filepath.Join(tr.updates("source-foo"), n)); err != nil {
			t.Errorf("superseded %s was not left in place: %v", n, err)
		}
	}
}

func TestPushRefusals(t *testing.T) {
	st := newMemStore()
	st.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"}, `{"token": "token-0"}`)
	st.put("SECRET_SOURCE-FOO_BIG__CREDS", map[string]string{"connector": "source-foo", "filename": "big"}, `{"token": "token-big0"}`)
	st.put("SECRET_SOURCE-FOO_ARR__CREDS", map[string]string{"connector": "source-foo", "filename": "arr"}, `{"token": "token-arr0"}`)
	st.put("SECRET_SOURCE-FOO_LINK__CREDS", map[string]string{"connector": "source-foo", "filename": "link"}, `{"token": "token-link0"}`)
	st.put("SECRET_SOURCE-FOO_BAD__CREDS", map[string]string{"connector": "source-foo", "filename": "bad"}, `{"token": "token-bad0"}`)
	tr := newTree(t)
	tr.write("source-foo", "config|3.json", `{"token": "token-broken`)
	tr.write("source-foo", "config|2.json", `{"token": "token-valid-but-older"}`)
	tr.write("source-foo", "big|1.json", `{"token": "token-big`+strings.Repeat("x", gsm.MaxPayload)+`"}`)
	tr.write("source-foo", "arr|1.json", `["token-in-array"]`)
	target := tr.write("source-foo", "elsewhere.txt", `{"token": "token-elsewhere"}`)
	if err := os.Symlink(target, filepath.Join(tr.updates("source-foo"), "link|1.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(tr.updates("source-foo"), "bad|1.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(tr.updates("source-foo"), "bad|2.json"), 0o600); err != nil {
		t.Fatal(err)
	}
	tr.write("source-foo", "Config|1.json", `{"token": "token-caps"}`)
	tr.write("source-foo", "config.json", `{"token": "token-nopipe"}`)
	tr.write("source-foo", ".hidden|1.json", `{"token": "token-hidden"}`)

	res := run(t, st, tr, Options{Connectors: []string{"source-foo"}})
	if len(res.Pushed) != 0 || st.calls["AddVersion"] != 0 {
		t.Fatalf("nothing may be pushed, got %+v", res.Pushed)
	}
	if st.calls["ListSecrets"] != 0 {
		t.Errorf("nothing to push, yet ListSecrets was called")
	}
	byName := map[string]error{}
	for _, f := range res.Failed {
		byName[filepath.Base(f.Path)] = f.Err
	}
	for name, want := range map[string]error{
		"config|3.json": ErrNotJSON, // the newest is broken: the older one is not used instead
		"big|1.json":    ErrTooLarge,
		"arr|1.json":    ErrNotJSON,
		"link|1.json":   ErrSymlink,
		"bad|2.json":    ErrNotRegular, // the newest is a pipe: never opened
		"bad|1.json":    ErrNotRegular, // an older folder: refused all the same
		"Config|1.json": labels.ErrBadUpdatedName,
		"config.json":   labels.ErrBadUpdatedName,
		"elsewhere.txt": labels.ErrBadUpdatedName,
	} {
		if err := byName[name]; !errors.Is(err, want) {
			t.Errorf("%s: error %v, want %v", name, err, want)
		}
	}
	if len(res.Failed) != 9 {
		t.Errorf("want 9 failures, got %d: %+v", len(res.Failed), res.Failed)
	}
	if msg := byName["config|3.json"].Error(); !strings.Contains(msg, "syntax error at byte") && !strings.Contains(msg, "ends before") {
		t.Errorf("invalid JSON message: %s", msg)
	}
}

// An older update that is a link (or not a regular file) is refused, and
// reported only as that: not also as superseded, and --clean leaves it alone
// without a second failure about it.
func TestPushRefusedOlderUpdateReportedOnce(t *testing.T) {
	for _, dry := range []bool{true, false} {
		st := newMemStore()
		st.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"}, `{"token": "token-0"}`)
		tr := newTree(t)
		target := filepath.Join(tr.root, "outside.json")
		if err := os.WriteFile(target, []byte(`{"token": "token-outside"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		tr.write("source-foo", "config|2.json", `{"token": "token-2"}`)
		link := filepath.Join(tr.updates("source-foo"), "config|1.json")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(tr.updates("source-foo"), "config|0.json"), 0o700); err != nil {
			t.Fatal(err)
		}
		tr.write("source-foo", "config|00.json", `{"token": "token-older"}`)
		res := run(t, st, tr, Options{Connectors: []string{"source-foo"}, DryRun: dry, Clean: true})
		if len(res.Pushed)+len(res.Planned) != 1 {
			t.Fatalf("dry run %v: want one push, got %+v", dry, res)
		}
		var sup []string
		for _, s := range res.Superseded {
			sup = append(sup, filepath.Base(s.Path))
		}
		if want := []string{"config|00.json"}; !slices.Equal(sup, want) {
			t.Errorf("dry run %v: superseded %q, want %q", dry, sup, want)
		}
		var failed []string
		for _, f := range res.Failed {
			failed = append(failed, filepath.Base(f.Path)+": "+f.Err.Error())
		}
		want := []string{"config|0.json: refused: it is a folder; ci-secrets reads only regular files", "config|1.json: refused: it is a symlink; ci-secrets refuses to read through links"}
		if !slices.Equal(failed, want) {
			t.Errorf("dry run %v: failed\n%q\nwant\n%q", dry, failed, want)
		}
		var removed []string
		for _, r := range res.Removed {
			removed = append(removed, filepath.Base(r))
		}
		if want := []string{"config|00.json", "config|2.json"}; !slices.Equal(removed, want) {
			t.Errorf("dry run %v: removed %q, want %q", dry, removed, want)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("dry run %v: the refused link was not left in place: %v", dry, err)
		}
	}
}

func TestPushFolderLinks(t *testing.T) {
	st := newMemStore()
	st.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"}, `{"token": "token-0"}`)
	st.put("SECRET_SOURCE-BAR_CREDS", map[string]string{"connector": "source-bar"}, `{"token": "token-0"}`)
	tr := newTree(t)
	// updated_configurations of source-foo is a link to another folder.
	elsewhere := filepath.Join(tr.root, "elsewhere")
	os.MkdirAll(elsewhere, 0o700)
	os.WriteFile(filepath.Join(elsewhere, "config|1.json"), []byte(`{"token": "token-linked"}`), 0o600)
	os.MkdirAll(filepath.Dir(tr.updates("source-foo")), 0o700)
	if err := os.Symlink(elsewhere, tr.updates("source-foo")); err != nil {
		t.Fatal(err)
	}
	// The secrets folder of source-bar is a link.
	os.MkdirAll(filepath.Join(elsewhere, "secrets", labels.UpdatedDir), 0o700)
	os.WriteFile(filepath.Join(elsewhere, "secrets", labels.UpdatedDir, "config|1.json"), []byte(`{"token": "token-linked2"}`), 0o600)
	os.MkdirAll(filepath.Join(tr.root, "airbyte-integrations", "connectors", "source-bar"), 0o755)
	if err := os.Symlink(filepath.Join(elsewhere, "secrets"), filepath.Join(tr.root, "airbyte-integrations", "connectors", "source-bar", "secrets")); err != nil {
		t.Fatal(err)
	}
	res := run(t, st, tr, Options{Connectors: []string{"source-foo", "source-bar"}})
	if got := failuresWith(t, res, ErrSymlink); len(got) != 2 {
		t.Fatalf("want 2 link refusals, got %+v", res.Failed)
	}
	if st.calls["AddVersion"] != 0 {
		t.Error("pushed through a link")
	}
}

func TestPushNoSecretAndConflict(t *testing.T) {
	st := newMemStore()
	st.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"}, `{"token": "token-a"}`)
	st.put("SECRET_SOURCE-FOO_OTHER__CREDS", map[string]string{"connector": "source-foo_source-bar"}, `{"token": "token-b"}`)
	st.put("SECRET_SOURCE-FOO_BROKEN__CREDS", map[string]string{"connector": "source-foo", "filename": "Oauth"}, `{"token": "token-c"}`)
	// A name that looks like it serves source-foo/oauth.json but has no label: never guessed.
	st.put("SECRET_SOURCE-FOO_OAUTH__CREDS", map[string]string{"connector": "source-baz"}, `{"token": "token-d"}`)
	tr := newTree(t)
	tr.write("source-foo", "config|1.json", `{"token": "token-new"}`)
	tr.write("source-foo", "oauth|1.json", `{"token": "token-new2"}`)
	res := run(t, st, tr, Options{Connectors: []string{"source-foo"}})
	if len(res.Pushed) != 0 || st.calls["AddVersion"] != 0 || st.calls["Access"] != 0 {
		t.Fatalf("nothing may be read or pushed: %+v %v", res, st.calls)
	}
	conf := failuresWith(t, res, ErrConflict)
	if len(conf) != 1 || !strings.Contains(conf[0].Err.Error(), "SECRET_SOURCE-FOO_CREDS, SECRET_SOURCE-FOO_OTHER__CREDS") {
		t.Errorf("conflict: %+v", conf)
	}
	none := failuresWith(t, res, ErrNoSecret)
	if len(none) != 1 {
		t.Fatalf("no-secret: %+v", res.Failed)
	}
	msg := none[0].Err.Error()
	for _, want := range []string{"connector=source-foo", "filename=oauth", "never creates", "SECRET_SOURCE-FOO_BROKEN__CREDS mentions source-foo"} {
		if !strings.Contains(msg, want) {
			t.Errorf("no-secret message lacks %q: %s", want, msg)
		}
	}
}

func TestPushMultiConnectorSecret(t *testing.T) {
	lbl := map[string]string{"connector": "source-mysql_destination-mysql", "filename": "ssh"}
	t.Run("equal updates push once", func(t *testing.T) {
		st := newMemStore()
		st.put("SECRET_MYSQL_SSH_CREDS", lbl, `{"key": "secret-old"}`)
		tr := newTree(t)
		tr.write("source-mysql", "ssh|1.json", `{"key": "secret-new"}`)
		tr.write("destination-mysql", "ssh|7.json", `{ "key" : "secret-new" }`)
		res := run(t, st, tr, Options{Connectors: []string{"source-mysql", "destination-mysql"}})
		if !res.OK() || len(res.Pushed) != 1 || len(res.Pushed[0].Files) != 2 || st.calls["AddVersion"] != 1 {
			t.Fatalf("want one push of two files, got %+v", res)
		}
	})
	t.Run("different updates push nothing", func(t *testing.T) {
		st := newMemStore()
		st.put("SECRET_MYSQL_SSH_CREDS", lbl, `{"key": "secret-old"}`)
		tr := newTree(t)
		tr.write("source-mysql", "ssh|1.json", `{"key": "secret-a"}`)
		tr.write("destination-mysql", "ssh|1.json", `{"key": "secret-b"}`)
		res := run(t, st, tr, Options{Connectors: []string{"source-mysql", "destination-mysql"}})
		conf := failuresWith(t, res, ErrConflict)
		if len(conf) != 2 || st.calls["AddVersion"] != 0 || st.calls["Access"] != 0 {
			t.Fatalf("want both refused, got %+v", res)
		}
		for _, f := range conf {
			if f.Secret != "SECRET_MYSQL_SSH_CREDS" || !strings.Contains(f.Err.Error(), "destination-mysql/ssh.json") || !strings.Contains(f.Err.Error(), "source-mysql/ssh.json") {
				t.Errorf("conflict failure %+v: %v", f, f.Err)
			}
		}
	})
}

func TestPushDisableFails(t *testing.T) {
	st := newMemStore()
	st.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"}, `{"token": "token-1"}`, `{"token": "token-2"}`)
	st.versions["SECRET_SOURCE-FOO_CREDS"][0].enabled = false
	st.disableErr = func(string, string) error {
		return errors.New("disable version 2 of SECRET_SOURCE-FOO_CREDS: still UNAVAILABLE after retrying")
	}
	tr := newTree(t)
	tr.write("source-foo", "config|1.json", `{"token": "token-3"}`)
	res := run(t, st, tr, Options{Connectors: []string{"source-foo"}, Project: "proj", Location: "europe-west1"})
	if len(res.Pushed) != 0 || len(res.Failed) != 1 {
		t.Fatalf("want one failure, got %+v", res)
	}
	f := res.Failed[0]
	var de *DisableError
	if !errors.As(f.Err, &de) || f.AddedVersion != "3" || f.StillEnabledVersion != "2" || f.Secret != "SECRET_SOURCE-FOO_CREDS" {
		t.Fatalf("failure = %+v (%v)", f, f.Err)
	}
	want := "version 3 was added and serves the new content, but version 2 is still enabled: disable it with `gcloud secrets versions disable 2 --secret=SECRET_SOURCE-FOO_CREDS --location=europe-west1 --project=proj`"
	if !strings.Contains(f.Err.Error(), want) {
		t.Errorf("message:\n%s\nwant it to contain:\n%s", f.Err, want)
	}
	js, _ := json.Marshal(f)
	for _, w := range []string{`"added_version":"3"`, `"still_enabled_version":"2"`} {
		if !strings.Contains(string(js), w) {
			t.Errorf("JSON %s lacks %s", js, w)
		}
	}
}

func TestPushAddFails(t *testing.T) {
	st := newMemStore()
	st.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"}, `{"token": "token-1"}`)
	st.addErr = func(string) error { return status.Error(codes.PermissionDenied, "denied") }
	tr := newTree(t)
	tr.write("source-foo", "config|1.json", `{"token": "token-2"}`)
	res := run(t, st, tr, Options{Connectors: []string{"source-foo"}})
	if len(res.Failed) != 1 || st.calls["DisableVersion"] != 0 || !strings.Contains(res.Failed[0].Err.Error(), "still serves version 1") {
		t.Fatalf("got %+v %v", res.Failed, st.calls)
	}
}

// An add that ends in an ambiguous failure is followed by one look at the
// secret; when the update is not there, the failure says what the secret
// serves. A failure that is not ambiguous costs no look.
func TestPushAddFailsAmbiguously(t *testing.T) {
	for _, tt := range []struct {
		err      error
		accesses int
		want     string
	}{
		{status.Error(codes.Unavailable, "unavailable"), 2, "SECRET_SOURCE-FOO_CREDS serves version 1, not the update"},
		{status.Error(codes.DeadlineExceeded, "deadline"), 2, "SECRET_SOURCE-FOO_CREDS serves version 1, not the update"},
		{context.DeadlineExceeded, 2, "SECRET_SOURCE-FOO_CREDS serves version 1, not the update"},
		{status.Error(codes.InvalidArgument, "bad"), 1, "SECRET_SOURCE-FOO_CREDS still serves version 1"},
		{errors.New("add a version to SECRET_SOURCE-FOO_CREDS: permission denied"), 1, "SECRET_SOURCE-FOO_CREDS still serves version 1"},
	} {
		st := newMemStore()
		st.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"}, `{"token": "token-1"}`)
		st.addErr = func(string) error { return tt.err }
		tr := newTree(t)
		tr.write("source-foo", "config|1.json", `{"token": "token-2"}`)
		res := run(t, st, tr, Options{Connectors: []string{"source-foo"}})
		if len(res.Failed) != 1 || !strings.Contains(res.Failed[0].Err.Error(), tt.want) || st.calls["Access"] != tt.accesses || st.calls["DisableVersion"] != 0 {
			t.Errorf("%v: failed %v, calls %v; want %q and %d accesses", tt.err, res.Failed, st.calls, tt.want, tt.accesses)
		}
	}
}

// Every failure of the add that does not prove it had no effect is looked
// at before anything is reported: when the add went through (its answer
// lost with INTERNAL, ABORTED, ...), the push finishes the job (disables the
// version it replaced) instead of saying the old version still serves, which
// a re-run would then have called unchanged for ever.
func TestPushAddAnswerLost(t *testing.T) {
	for _, err := range []error{
		status.Error(codes.Internal, "internal"),
		status.Error(codes.Aborted, "aborted"),
		status.Error(codes.Unknown, "unknown"),
		status.Error(codes.DataLoss, "data loss"),
		status.Error(codes.Canceled, "canceled by the server"),
		status.Error(codes.Unavailable, "unavailable"),
		status.Error(codes.DeadlineExceeded, "deadline"),
		fmt.Errorf("add a version to SECRET_SOURCE-FOO_CREDS: still Unavailable after retrying: %w", status.Error(codes.Unavailable, "unavailable")),
		fmt.Errorf("add a version to SECRET_SOURCE-FOO_CREDS: %w: the add was not answered and checking whether it went through failed too", gsm.ErrOutcomeUnknown),
	} {
		t.Run(err.Error(), func(t *testing.T) {
			st := newMemStore()
			st.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"}, `{"token": "token-1"}`, `{"token": "token-2"}`)
			st.versions["SECRET_SOURCE-FOO_CREDS"][0].enabled = false
			st.addLost = func(string) error { return err }
			tr := newTree(t)
			tr.write("source-foo", "config|1.json", `{"token": "token-3"}`)
			res := run(t, st, tr, Options{Connectors: []string{"source-foo"}})
			if !res.OK() || len(res.Pushed) != 1 {
				t.Fatalf("want one push, got %+v", res)
			}
			if p := res.Pushed[0]; p.AddedVersion != "3" || p.DisabledVersion != "2" {
				t.Errorf("push = %+v", p)
			}
			want := []string{`1:off:{"token": "token-1"}`, `2:off:{"token": "token-2"}`, `3:on:{"token": "token-3"}`}
			if got := st.state("SECRET_SOURCE-FOO_CREDS"); !slices.Equal(got, want) {
				t.Errorf("versions = %q, want %q", got, want)
			}
			if st.calls["AddVersion"] != 1 || st.calls["Access"] != 2 || st.calls["DisableVersion"] != 1 {
				t.Errorf("calls = %v, want 1 add, 2 accesses (the compare and the look), 1 disable", st.calls)
			}
		})
	}
}

// The codes with which GSM refuses a request before acting, and the client's
// own errors without a gRPC status, prove that the add had no effect: no
// look, the failure says what the secret still serves. Any other code is
// looked at first.
func TestPushAddFailureClassified(t *testing.T) {
	noEffect := []error{
		errors.New("add a version to SECRET_SOURCE-FOO_CREDS: the payload is 70000 bytes, over GSM's 65536-byte limit"),
		fmt.Errorf("add a version to SECRET_SOURCE-FOO_CREDS: %w: the caller needs roles/secretmanager.secretVersionAdder", gsm.ErrPermission),
	}
	for _, c := range []codes.Code{codes.InvalidArgument, codes.PermissionDenied, codes.Unauthenticated, codes.NotFound,
		codes.FailedPrecondition, codes.ResourceExhausted, codes.AlreadyExists, codes.OutOfRange, codes.Unimplemented} {
		noEffect = append(noEffect, status.Error(c, "refused"))
		noEffect = append(noEffect, fmt.Errorf("add a version to SECRET_SOURCE-FOO_CREDS: %w", status.Error(c, "refused")))
	}
	uncertain := []error{
		status.Error(codes.Internal, "internal"),
		status.Error(codes.Aborted, "aborted"),
		fmt.Errorf("add a version to SECRET_SOURCE-FOO_CREDS: %w", status.Error(codes.Internal, "internal")),
		fmt.Errorf("add a version to SECRET_SOURCE-FOO_CREDS: %w", gsm.ErrOutcomeUnknown),
		fmt.Errorf("add a version to SECRET_SOURCE-FOO_CREDS: %w", context.Canceled),
	}
	for _, tt := range []struct {
		errs     []error
		accesses int
		want     string
	}{
		{noEffect, 1, "; SECRET_SOURCE-FOO_CREDS still serves version 1"},
		{uncertain, 2, "; SECRET_SOURCE-FOO_CREDS serves version 1, not the update"},
	} {
		for _, err := range tt.errs {
			if got := gsm.MayHaveTakenEffect(err); got != (tt.accesses == 2) {
				t.Errorf("gsm.MayHaveTakenEffect(%v) = %v", err, got)
			}
			st := newMemStore()
			st.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"}, `{"token": "token-1"}`)
			st.addErr = func(string) error { return err }
			tr := newTree(t)
			tr.write("source-foo", "config|1.json", `{"token": "token-2"}`)
			res := run(t, st, tr, Options{Connectors: []string{"source-foo"}})
			if len(res.Failed) != 1 || !strings.HasSuffix(res.Failed[0].Err.Error(), tt.want) || !errors.Is(res.Failed[0].Err, err) ||
				st.calls["Access"] != tt.accesses || st.calls["DisableVersion"] != 0 {
				t.Errorf("%v: failed %v, calls %v; want %q and %d accesses", err, res.Failed, st.calls, tt.want, tt.accesses)
			}
		}
	}
}

// A re-run that finds the update already in place says so, and when the
// version just before it is still enabled (what a push that added it but
// could not disable its predecessor leaves) it warns, naming both versions
// and the gcloud command, at the cost of one metadata read, and disables
// nothing: two enabled versions may be deliberate.
func TestPushUnchangedWarnsAboutEnabledPredecessor(t *testing.T) {
	const id = "SECRET_SOURCE-FOO_CREDS"
	lbl := map[string]string{"connector": "source-foo"}
	for _, tt := range []struct {
		name       string
		setup      func(st *memStore)
		lists      int
		warn       bool
		alsoEnable string
	}{
		{"predecessor enabled", func(st *memStore) {
			st.put(id, lbl, `{"token": "token-1"}`, `{"token": "token-2"}`)
		}, 1, true, "1"},
		{"predecessor disabled", func(st *memStore) {
			st.put(id, lbl, `{"token": "token-1"}`, `{"token": "token-2"}`)
			st.versions[id][0].enabled = false
		}, 1, false, ""},
		{"an older version enabled, not the one just before", func(st *memStore) {
			st.put(id, lbl, `{"token": "token-0"}`, `{"token": "token-1"}`, `{"token": "token-2"}`)
			st.versions[id][1].enabled = false
		}, 1, false, ""},
		{"version 1 has no predecessor", func(st *memStore) {
			st.put(id, lbl, `{"token": "token-2"}`)
		}, 0, false, ""},
		{"the check fails: no warning, no failure", func(st *memStore) {
			st.put(id, lbl, `{"token": "token-1"}`, `{"token": "token-2"}`)
			st.listVersErr = status.Error(codes.PermissionDenied, "no versions.list")
		}, 1, false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, dry := range []bool{false, true} {
				st := newMemStore()
				tt.setup(st)
				before := st.state(id)
				tr := newTree(t)
				tr.write("source-foo", "config|1.json", `{"token":"token-2"}`)
				res := run(t, st, tr, Options{Connectors: []string{"source-foo"}, DryRun: dry, Project: "proj"})
				if !res.OK() || len(res.Unchanged) != 1 || len(res.Pushed)+len(res.Planned) != 0 {
					t.Fatalf("dry run %v: want unchanged, got %+v", dry, res)
				}
				p := res.Unchanged[0]
				if p.AlsoEnabledVersion != tt.alsoEnable || (p.Warning != "") != tt.warn {
					t.Errorf("dry run %v: unchanged = %+v", dry, p)
				}
				if tt.warn {
					want := id + ": version 2 already holds the update, but version 1 before it is still enabled"
					cmd := "disable it with `gcloud secrets versions disable 1 --secret=" + id + " --project=proj`"
					if !strings.HasPrefix(p.Warning, want) || !strings.HasSuffix(p.Warning, cmd) {
						t.Errorf("warning:\n%s\nwant it to start with %q and end with %q", p.Warning, want, cmd)
					}
				}
				if st.calls["ListVersions"] != tt.lists || st.calls["AddVersion"]+st.calls["DisableVersion"] != 0 {
					t.Errorf("dry run %v: calls = %v, want %d ListVersions and no write", dry, st.calls, tt.lists)
				}
				if got := st.state(id); !slices.Equal(got, before) {
					t.Errorf("versions changed: %q, was %q", got, before)
				}
			}
		})
	}
}

// After its add, a push lists the enabled versions once (one read request)
// and disables every one older than its own, not only the one it replaced,
// so the secret ends with one enabled version; the predecessor check of the
// unchanged path is not paid on top.
func TestPushChangedLeavesOneEnabledVersion(t *testing.T) {
	st := newMemStore()
	st.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"}, `{"token": "token-1"}`, `{"token": "token-2"}`)
	tr := newTree(t)
	tr.write("source-foo", "config|1.json", `{"token": "token-3"}`)
	res := run(t, st, tr, Options{Connectors: []string{"source-foo"}})
	if !res.OK() || len(res.Pushed) != 1 || res.Pushed[0].Warning != "" || st.calls["ListVersions"] != 1 {
		t.Fatalf("got %+v, calls %v", res, st.calls)
	}
	if p := res.Pushed[0]; p.DisabledVersion != "2" || !slices.Equal(p.AlsoDisabledVersions, []string{"1"}) {
		t.Errorf("push = %+v; want 2 disabled, and 1 as well", p)
	}
	want := []string{`1:off:{"token": "token-1"}`, `2:off:{"token": "token-2"}`, `3:on:{"token": "token-3"}`}
	if got := st.state("SECRET_SOURCE-FOO_CREDS"); !slices.Equal(got, want) {
		t.Errorf("versions = %q, want %q", got, want)
	}
}

// A version newer than the one added is another writer's: it is left
// enabled and reported; listing failures fall back to disabling the version
// replaced.
func TestPushReportsNewerWriterAndFallsBack(t *testing.T) {
	st := newMemStore()
	st.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"}, `{"token": "token-1"}`)
	// Another writer adds right after this push's add.
	st.addLost = func(id string) error {
		st.versions[id] = append(st.versions[id], memVersion{data: []byte(`{"token": "other"}`), enabled: true})
		st.addLost = nil
		return nil
	}
	tr := newTree(t)
	tr.write("source-foo", "config|1.json", `{"token": "token-2"}`)
	res := run(t, st, tr, Options{Connectors: []string{"source-foo"}})
	if !res.OK() || len(res.Pushed) != 1 {
		t.Fatalf("got %+v", res)
	}
	if p := res.Pushed[0]; p.AddedVersion != "2" || p.NewerVersion != "3" || !strings.Contains(p.Warning, "another writer added version 3 after this push added version 2") {
		t.Errorf("push = %+v; want the newer version 3 reported", p)
	}
	if got := st.state("SECRET_SOURCE-FOO_CREDS"); !slices.Equal(got, []string{`1:off:{"token": "token-1"}`, `2:on:{"token": "token-2"}`, `3:on:{"token": "other"}`}) {
		t.Errorf("versions = %q: the other writer's version must stay enabled (it disables ours)", got)
	}

	st = newMemStore()
	st.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"}, `{"token": "token-1"}`, `{"token": "token-2"}`)
	st.listVersErr = errors.New("list versions of SECRET_SOURCE-FOO_CREDS: permission denied")
	tr = newTree(t)
	tr.write("source-foo", "config|1.json", `{"token": "token-3"}`)
	res = run(t, st, tr, Options{Connectors: []string{"source-foo"}})
	if !res.OK() || len(res.Pushed) != 1 || res.Pushed[0].DisabledVersion != "2" || st.calls["DisableVersion"] != 1 {
		t.Fatalf("got %+v, calls %v; want the replaced version disabled", res, st.calls)
	}
}

func TestPushNoEnabledVersion(t *testing.T) {
	st := newMemStore()
	st.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"})
	tr := newTree(t)
	tr.write("source-foo", "config|1.json", `{"token": "token-2"}`)
	res := run(t, st, tr, Options{Connectors: []string{"source-foo"}})
	if len(res.Failed) != 1 || !errors.Is(res.Failed[0].Err, gsm.ErrNoEnabledVersion) || st.calls["AddVersion"] != 0 {
		t.Fatalf("got %+v", res.Failed)
	}
}

func TestPushDryRun(t *testing.T) {
	st := newMemStore()
	st.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"}, `{"token": "token-1"}`)
	st.put("SECRET_SOURCE-FOO_SAME__CREDS", map[string]string{"connector": "source-foo", "filename": "same"}, `{"token": "token-s"}`)
	tr := newTree(t)
	tr.write("source-foo", "config|1.json", `{"token": "token-2"}`)
	tr.write("source-foo", "same|1.json", `{"token":"token-s"}`)
	res := run(t, st, tr, Options{Connectors: []string{"source-foo"}, DryRun: true, Clean: true})
	if !res.OK() || len(res.Planned) != 1 || res.Planned[0].Version != "1" || len(res.Unchanged) != 1 || len(res.Pushed) != 0 {
		t.Fatalf("got %+v", res)
	}
	if st.calls["AddVersion"]+st.calls["DisableVersion"] != 0 {
		t.Errorf("a dry run wrote: %v", st.calls)
	}
	if len(res.Removed) != 2 {
		t.Errorf("dry run should list 2 files it would remove, got %q", res.Removed)
	}
	for _, n := range []string{"config|1.json", "same|1.json"} {
		if _, err := os.Stat(filepath.Join(tr.updates("source-foo"), n)); err != nil {
			t.Errorf("a dry run removed %s", n)
		}
	}
}

func TestPushClean(t *testing.T) {
	st := newMemStore()
	st.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"}, `{"token": "token-1"}`)
	tr := newTree(t)
	tr.write("source-foo", "config|1.json", `{"token": "token-old-update"}`)
	tr.write("source-foo", "config|2.json", `{"token": "token-2"}`)
	tr.write("source-foo", "nobody|1.json", `{"token": "token-nobody"}`) // fails: kept
	tr.write("source-foo", ".keep", ``)
	res, err := Run(testCtx(t), st, writer.Layout{Root: tr.root}, Options{Connectors: []string{"source-foo"}, Clean: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Pushed) != 1 || len(res.Removed) != 2 || len(res.Failed) != 1 {
		t.Fatalf("got %+v", res)
	}
	entries, _ := os.ReadDir(tr.updates("source-foo"))
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if !slices.Equal(left, []string{".keep", "nobody|1.json"}) {
		t.Errorf("left %q", left)
	}
}

func TestPushLayouts(t *testing.T) {
	st := newMemStore()
	st.put("SECRET_BASE-NORMALIZATION_CREDS", map[string]string{"connector": "base-normalization"}, `{"token": "token-1"}`)
	st.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"}, `{"token": "token-1"}`)
	st.put("SECRET_SOURCE-BAR_CREDS", map[string]string{"connector": "source-bar"}, `{"token": "token-1"}`)
	tr := newTree(t)
	bases := filepath.Join(tr.root, "airbyte-integrations", "bases", "base-normalization", "secrets", labels.UpdatedDir)
	os.MkdirAll(bases, 0o700)
	os.WriteFile(filepath.Join(bases, "config|1.json"), []byte(`{"token": "token-b"}`), 0o600)
	tr.write("source-foo", "config|1.json", `{"token": "token-f"}`)
	// source-bar has a connector folder but no updates: --all skips it.
	os.MkdirAll(filepath.Join(tr.root, "airbyte-integrations", "connectors", "source-bar", "secrets"), 0o700)

	res := run(t, st, tr, Options{All: true})
	if !res.OK() || len(res.Pushed) != 2 || st.calls["ListSecrets"] != 1 {
		t.Fatalf("got %+v", res)
	}
	if len(res.NoUpdates) != 0 {
		t.Errorf("--all reported connectors without updates: %q", res.NoUpdates)
	}
	// Named explicitly, a connector without updates is reported, not failed.
	res = run(t, st, tr, Options{Connectors: []string{"source-bar", "source-none"}})
	if !res.OK() || !slices.Equal(res.NoUpdates, []string{"source-bar", "source-none"}) {
		t.Errorf("got %+v", res)
	}

	// --out: the folder given is the secrets folder.
	out := filepath.Join(t.TempDir(), "secrets")
	os.MkdirAll(filepath.Join(out, labels.UpdatedDir), 0o700)
	os.WriteFile(filepath.Join(out, labels.UpdatedDir, "config|1.json"), []byte(`{"token": "token-o"}`), 0o600)
	res, err := Run(testCtx(t), st, writer.Layout{Out: out}, Options{Connectors: []string{"source-bar"}})
	if err != nil || !res.OK() || len(res.Pushed) != 1 || res.Pushed[0].Secret != "SECRET_SOURCE-BAR_CREDS" {
		t.Fatalf("--out: %v %+v", err, res)
	}
}

func TestPushMasksEverythingRead(t *testing.T) {
	st := newMemStore()
	st.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"}, `{"token": "token-current"}`)
	tr := newTree(t)
	tr.write("source-foo", "config|1.json", `{"token": "token-update"}`)
	tr.write("source-foo", "broken|1.json", `{"token": "token-broken-update"`)
	var masked []string
	var order []string
	st.onAccess = func(string) { order = append(order, "access") }
	mask := func(p []byte) error {
		masked = append(masked, string(p))
		order = append(order, "mask")
		return nil
	}
	run(t, st, tr, Options{Connectors: []string{"source-foo"}, Mask: mask})
	joined := strings.Join(masked, "\n")
	for _, v := range []string{"token-current", "token-update", "token-broken-update"} {
		if !strings.Contains(joined, v) {
			t.Errorf("%s was not masked", v)
		}
	}
	// The updates are masked before Secret Manager is even asked.
	if len(order) < 3 || order[0] != "mask" || order[1] != "mask" || order[2] != "access" {
		t.Errorf("order %q", order)
	}

	// A mask that cannot be emitted stops the push of what it covers.
	st2 := newMemStore()
	st2.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"}, `{"token": "token-current"}`)
	res := run(t, st2, tr, Options{Connectors: []string{"source-foo"}, Mask: func([]byte) error { return errors.New("disk full") }})
	if len(res.Pushed) != 0 || st2.calls["AddVersion"] != 0 {
		t.Errorf("pushed without masks: %+v", res)
	}
}

func TestPushInterruptedFinishesStartedPush(t *testing.T) {
	st := newMemStore()
	st.put("SECRET_SOURCE-FOO_CREDS", map[string]string{"connector": "source-foo"}, `{"token": "token-1"}`)
	tr := newTree(t)
	tr.write("source-foo", "config|1.json", `{"token": "token-2"}`)
	ctx, cancel := context.WithCancel(testCtx(t))
	st.addErr = func(string) error { cancel(); return nil } // interrupted during the add
	res, err := Run(ctx, st, writer.Layout{Root: tr.root}, Options{Connectors: []string{"source-foo"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if len(res.Pushed) != 1 || st.calls["DisableVersion"] != 1 {
		t.Fatalf("the disable after the add must still run: %+v %v", res, st.calls)
	}
}

func TestPushListFails(t *testing.T) {
	st := newMemStore()
	st.listErr = errors.New("list secrets in projects/p: permission denied")
	tr := newTree(t)
	tr.write("source-foo", "config|1.json", `{"token": "token-2"}`)
	if _, err := Run(testCtx(t), st, writer.Layout{Root: tr.root}, Options{Connectors: []string{"source-foo"}}); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("err = %v", err)
	}
}

// The limiter spaces writes to one secret (adds, 2 a second) and to one
// version (state changes, 1 a second), and holds nothing else up. A fake
// clock that moves only when the limiter sleeps makes the spacing exact.
func TestLimiterSpacesWrites(t *testing.T) {
	l := newLimiter()
	clock := time.Unix(1_700_000_000, 0)
	var slept []time.Duration
	l.now = func() time.Time { return clock }
	l.sleep = func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		clock = clock.Add(d)
		return nil
	}
	ctx := t.Context()
	step := func(name string, f func() error, want time.Duration) {
		t.Helper()
		slept = nil
		if err := f(); err != nil {
			t.Fatal(err)
		}
		if len(slept) != 1 || slept[0] != want {
			t.Errorf("%s waited %v, want %v", name, slept, want)
		}
	}
	step("first add to S", func() error { return l.add(ctx, "S") }, 0)
	step("second add to S", func() error { return l.add(ctx, "S") }, 500*time.Millisecond)
	step("third add to S", func() error { return l.add(ctx, "S") }, 500*time.Millisecond)
	// Other secrets and versions are not held up.
	step("first add to T", func() error { return l.add(ctx, "T") }, 0)
	step("disable S/1", func() error { return l.disable(ctx, "S", "1") }, 0)
	step("disable S/2", func() error { return l.disable(ctx, "S", "2") }, 0)
	step("second disable S/1", func() error { return l.disable(ctx, "S", "1") }, time.Second)
	// Time passing frees the limit.
	clock = clock.Add(time.Second)
	step("disable S/1 a second later", func() error { return l.disable(ctx, "S", "1") }, 0)

	// A wait cut short by cancellation gives its turn back.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	l.sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	if err := l.add(cctx, "S"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled add: %v", err)
	}
}
