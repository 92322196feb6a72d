package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeGitHub serves repository secrets two per page, and organization
// secrets (or an error status for them).
func fakeGitHub(t *testing.T, repoSecrets, orgSecrets []string, orgStatus int, calls *atomic.Int32) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	page := func(w http.ResponseWriter, r *http.Request, names []string, per int) {
		if got := r.Header.Get("Authorization"); got != "Bearer test-token" {
			http.Error(w, `{"message": "Bad credentials"}`, http.StatusUnauthorized)
			return
		}
		p, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if p == 0 {
			p = 1
		}
		start, end := (p-1)*per, min(p*per, len(names))
		var out struct {
			TotalCount int              `json:"total_count"`
			Secrets    []map[string]any `json:"secrets"`
		}
		out.TotalCount = len(names)
		for _, n := range names[min(start, len(names)):end] {
			out.Secrets = append(out.Secrets, map[string]any{"name": n, "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"})
		}
		if end < len(names) {
			next := *r.URL
			q := next.Query()
			q.Set("page", strconv.Itoa(p+1))
			next.RawQuery = q.Encode()
			w.Header().Set("Link", fmt.Sprintf(`<http://%s%s>; rel="next"`, r.Host, next.String()))
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}
	mux.HandleFunc("GET /repos/o/r/actions/secrets", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		page(w, r, repoSecrets, 2)
	})
	mux.HandleFunc("GET /repos/o/r/actions/organization-secrets", func(w http.ResponseWriter, r *http.Request) {
		if orgStatus != 0 {
			http.Error(w, `{"message": "Resource not accessible by integration"}`, orgStatus)
			return
		}
		page(w, r, orgSecrets, 100)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestCheckGitHub(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/ci.yml", `
jobs:
  j:
    steps:
      - run: ./test.sh
        env:
          A_CREDS: ${{ secrets.A_CREDS }}
      - run: echo ${{ secrets.USED_ELSEWHERE }}
`)
	wf, err := ReadWorkflows(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := parse(t, `read_secrets source-a "$A_CREDS"
read_secrets source-b "$B_CREDS"
read_secrets source-c "$C_CREDS"
read_secrets source-d "$D_CREDS"
read_secrets source-e "$E_CREDS"
`)
	inv := entries(t, map[string]map[string]string{
		"SECRET_A_CREDS": {"connector": "source-a"},
		"SECRET_B_CREDS": {"connector": "source-b"},
		"SECRET_C_CREDS": {"connector": "source-c"},
	})
	r := BuildReport(s, inv, Options{Workflows: wf})
	var calls atomic.Int32
	srv := fakeGitHub(t, []string{"A_CREDS", "D_CREDS", "UNUSED_ONE", "USED_ELSEWHERE", "UNUSED_TWO"}, []string{"C_CREDS"}, 0, &calls)
	gh, err := NewGitHubClient("test-token", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res, err := CheckGitHub(context.Background(), gh, "o/r", r, wf)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 {
		t.Errorf("%d pages read, want 3", calls.Load())
	}
	if len(res.Delete) != 1 || res.Delete[0].Command != "gh secret delete A_CREDS --repo o/r" {
		t.Errorf("delete %+v", res.Delete)
	}
	check := func(name string, got, want []string) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	check("already gone", res.AlreadyGone, []string{"B_CREDS"})
	check("organization", res.Organization, []string{"C_CREDS"})
	check("missing", res.Missing, []string{"E_CREDS"})
	check("unreferenced", res.Unreferenced, []string{"UNUSED_ONE", "UNUSED_TWO"})

	// Idempotent and read-only: a second check says the same.
	res2, err := CheckGitHub(context.Background(), gh, "o/r", r, wf)
	if err != nil || !reflect.DeepEqual(res, res2) {
		t.Errorf("second check differs: %+v %v", res2, err)
	}

	// Without workflows, unreferenced secrets are not looked for.
	res3, err := CheckGitHub(context.Background(), gh, "o/r", r, nil)
	if err != nil || len(res3.Unreferenced) != 0 || len(res3.Notes) != 1 {
		t.Errorf("without workflows: %+v %v", res3, err)
	}
}

func TestCheckGitHubErrors(t *testing.T) {
	r := BuildReport(parse(t, "read_secrets source-a \"$A_CREDS\"\n"), entries(t, map[string]map[string]string{"SECRET_A_CREDS": {"connector": "source-a"}}), Options{})
	var calls atomic.Int32
	srv := fakeGitHub(t, []string{"A_CREDS"}, nil, http.StatusForbidden, &calls)

	bad, _ := NewGitHubClient("wrong-token", srv.URL)
	_, err := CheckGitHub(context.Background(), bad, "o/r", r, nil)
	if !errors.Is(err, ErrGitHub) || !strings.Contains(err.Error(), "token was rejected (401)") || strings.Contains(err.Error(), "wrong-token") {
		t.Errorf("401: %v", err)
	}
	gh, _ := NewGitHubClient("test-token", srv.URL)
	if _, err := CheckGitHub(context.Background(), gh, "o/missing", r, nil); !errors.Is(err, ErrGitHub) || !strings.Contains(err.Error(), "not found (404)") {
		t.Errorf("404: %v", err)
	}
	res, err := CheckGitHub(context.Background(), gh, "o/r", r, nil)
	if err != nil || len(res.Delete) != 1 || !strings.Contains(strings.Join(res.Notes, " "), "organization secrets were not checked") {
		t.Errorf("org 403 must only be a note: %+v %v", res, err)
	}
	for _, repo := range []string{"", "o", "o/", "/r", "o/r/x", "o r/x"} {
		if _, err := CheckGitHub(context.Background(), gh, repo, r, nil); !errors.Is(err, ErrBadInput) {
			t.Errorf("repo %q: %v", repo, err)
		}
	}
	if _, err := NewGitHubClient("t", "ftp://x"); !errors.Is(err, ErrBadInput) {
		t.Errorf("bad URL: %v", err)
	}
}

// What a server sends is printed on one line, without the token, and can
// never start a GitHub Actions workflow command.
func TestServerText(t *testing.T) {
	const token = "ghp_secretTokenValue"
	got := serverText("Validation Failed\nAuthorization: Bearer "+token+"\r::add-mask::x\u2028::stop-commands::s\x1b[31m", token)
	if strings.Contains(got, token) || strings.ContainsAny(got, "\n\r\u2028\x1b") {
		t.Errorf("not scrubbed: %q", got)
	}
	if want := `Validation Failed\nAuthorization: Bearer [redacted]\r::add-mask::x\u2028::stop-commands::s\u001b[31m`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := serverText("::error::boom", ""); strings.HasPrefix(got, "::") {
		t.Errorf("%q starts a workflow command", got)
	}
	if got := serverText(strings.Repeat("x", 5000), ""); len(got) > maxServerText+10 {
		t.Errorf("%d bytes kept", len(got))
	}
}

// Plain http carries the token in clear text: only to this machine.
func TestNewGitHubClientRefusesPlainHTTP(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080/", "http://localhost/api/v3", "http://[::1]:9/", "https://github.example.com/api/v3/"} {
		if _, err := NewGitHubClient("t", u); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	for _, u := range []string{"http://github.example.com/api/v3/", "http://10.0.0.1/", "http://127.0.0.1.example.com/", "ftp://x/"} {
		_, err := NewGitHubClient("t", u)
		if !errors.Is(err, ErrBadInput) {
			t.Errorf("%s accepted (%v)", u, err)
		}
	}
}
