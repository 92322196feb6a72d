package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
)

// Every served registration the rewrite cannot remove.
const manualScript = `#!/usr/bin/env bash
set -e
if [ -n "$CI" ]; then
  read_secrets source-if "$IF_CREDS"
fi
read_secrets source-line "$LINE_CREDS"; echo "same line"
mkdir -p x && read_secrets source-and "$AND_CREDS"
read_secrets source-ok "$OK_CREDS"
read_secrets source-shared-a "$SHARED_CREDS"
echo a; read_secrets source-shared-b "$SHARED_CREDS"
read_secrets source-left "$LEFT_CREDS"
`

// manualReport is the report of manualScript with everything but
// source-left served.
func manualReport(t *testing.T, path string) *Report {
	t.Helper()
	s, err := ReadScriptFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]map[string]string{}
	for _, r := range s.Registrations {
		if r.Connector != "source-left" {
			secrets["SECRET_"+strings.ToUpper(r.Connector)+"_CREDS"] = map[string]string{"connector": r.Connector}
		}
	}
	return BuildReport(s, entries(t, secrets), Options{})
}

func TestManualEditKeepsVariablesLeftover(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ci.sh")
	writeFile(t, path, manualScript)
	r := manualReport(t, path)

	status := map[string]Variable{}
	for _, v := range r.Variables {
		status[v.Name] = v
	}
	for name, line := range map[string]int{"IF_CREDS": 4, "LINE_CREDS": 6, "AND_CREDS": 7, "SHARED_CREDS": 10} {
		v := status[name]
		if v.Status != VarLeftover || v.Served != v.Registrations || len(v.ManualEdits) != 1 || v.ManualEdits[0].Line != line {
			t.Errorf("%s: %+v, want leftover needing a manual edit of line %d", name, v, line)
		}
	}
	if v := status["OK_CREDS"]; v.Status != VarSafeToDelete || len(v.ManualEdits) != 0 {
		t.Errorf("OK_CREDS: %+v", v)
	}
	if r.Summary.NeedsManualEdit != 4 || r.Summary.SafeToDelete != 1 || r.Summary.Served != 6 {
		t.Errorf("summary %+v", r.Summary)
	}
	if len(r.ToDelete) != 1 || r.ToDelete[0].Secret != "OK_CREDS" {
		t.Errorf("to delete %+v", r.ToDelete)
	}

	// The report and the rewrite agree, registration by registration.
	res, err := Rewrite(r, true)
	if err != nil {
		t.Fatal(err)
	}
	kept := map[int]string{}
	for _, k := range res.Kept {
		kept[k.Line] = k.Reason
	}
	removed := map[int]bool{}
	for _, rm := range res.Removed {
		removed[rm.Line] = true
	}
	for _, reg := range r.Registrations {
		switch {
		case reg.Status != StatusServed:
			if reg.ManualEdit != "" || removed[reg.Line] || kept[reg.Line] != "" {
				t.Errorf("leftover line %d: %+v", reg.Line, reg)
			}
		case reg.ManualEdit != "":
			if kept[reg.Line] != reg.ManualEdit || removed[reg.Line] {
				t.Errorf("line %d: report says %q, rewrite kept %q (removed %v)", reg.Line, reg.ManualEdit, kept[reg.Line], removed[reg.Line])
			}
		default:
			if !removed[reg.Line] || kept[reg.Line] != "" {
				t.Errorf("line %d is removable per the report but the rewrite did not remove it", reg.Line)
			}
		}
	}
	for line, sub := range map[int]string{4: "only statement(s) of an if", 6: "shares its line", 7: "part of a larger command", 10: "shares its line"} {
		if !strings.Contains(kept[line], sub) {
			t.Errorf("line %d kept for %q, want %q", line, kept[line], sub)
		}
	}

	// Every format says so, and none has a delete line for them.
	r.Actions = &Actions{Rewrite: res}
	for _, format := range Formats {
		var b bytes.Buffer
		if err := r.Write(&b, format); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, name := range []string{"IF_CREDS", "LINE_CREDS", "AND_CREDS", "SHARED_CREDS"} {
			if strings.Contains(out, "gh secret delete "+name) {
				t.Errorf("%s: a delete line for %s, whose line stays", format, name)
			}
		}
		if !strings.Contains(out, "gh secret delete OK_CREDS") {
			t.Errorf("%s: no delete line for OK_CREDS", format)
		}
		if format != FormatJSON && !strings.Contains(out, "needs a manual edit: line 7 (source-and/config.json, AND_CREDS): part of a larger command") {
			t.Errorf("%s does not name the manual edit:\n%s", format, out)
		}
	}
	var table bytes.Buffer
	_ = r.WriteTable(&table)
	for _, want := range []string{
		"leftover (needs a manual edit: line 4)",
		"NEEDS A MANUAL EDIT (served, but --rewrite cannot remove the line",
		"needs a manual edit: line 6 (source-line/config.json) was kept: shares its line with another statement; remove the registration by hand",
	} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	var js bytes.Buffer
	_ = r.WriteJSON(&js)
	var doc struct {
		Registrations []map[string]any `json:"registrations"`
		Variables     []map[string]any `json:"variables"`
		Summary       map[string]any   `json:"summary"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, v := range doc.Variables {
		if v["status"] != "leftover" && v["status"] != "safe-to-delete" {
			t.Errorf("status %v outside the contract", v["status"])
		}
		if v["name"] == "AND_CREDS" {
			edits, _ := v["manual_edits"].([]any)
			if v["status"] != "leftover" || len(edits) != 1 || edits[0].(map[string]any)["line"] != 7.0 {
				t.Errorf("AND_CREDS in JSON: %v", v)
			}
		}
	}
	if doc.Summary["needs_manual_edit"] != 4.0 {
		t.Errorf("summary %v", doc.Summary)
	}

	// Once the lines are edited by hand, the secrets can go.
	if _, err := Rewrite(manualReport(t, path), false); err != nil {
		t.Fatal(err)
	}
	edited, _ := os.ReadFile(path)
	fixed := strings.NewReplacer(
		"if [ -n \"$CI\" ]; then\n  read_secrets source-if \"$IF_CREDS\"\nfi\n", "",
		"read_secrets source-line \"$LINE_CREDS\"; echo \"same line\"\n", "echo \"same line\"\n",
		"mkdir -p x && read_secrets source-and \"$AND_CREDS\"\n", "mkdir -p x\n",
		"echo a; read_secrets source-shared-b \"$SHARED_CREDS\"\n", "echo a\n",
	).Replace(string(edited))
	writeFile(t, path, fixed)
	after := manualReport(t, path)
	live := 0
	for _, v := range after.Variables {
		if v.Registrations > 0 {
			live++
		}
	}
	if after.Summary.NeedsManualEdit != 0 || after.Summary.Leftover != 1 || live != 1 {
		t.Errorf("after the manual edit: %+v", after.Summary)
	}
}

// The only statement of a block body, when several served registrations
// fill it: all stay (bash refuses an empty body), and are counted by
// statement, not registration.
func TestManualEditBlockCountsStatements(t *testing.T) {
	s := parse(t, `if true; then
  read_secrets source-a "$A_CREDS"
  read_secrets source-b "$B_CREDS"
fi
if true; then
  read_secrets source-c "$C_CREDS"
  echo keep
fi
`)
	regs := servedAllBut(t, s)
	why := manualEdits(s, regs)
	want := []bool{true, true, false}
	for i, reg := range regs {
		if (why[i] != "") != want[i] {
			t.Errorf("line %d: %q", reg.Line, why[i])
		}
	}
}

func TestApplyGitHubCheck(t *testing.T) {
	s := parse(t, `read_secrets source-a "$A_CREDS"
read_secrets source-b "$B_CREDS"
read_secrets source-c "$C_CREDS"
`)
	inv := entries(t, map[string]map[string]string{
		"SECRET_A_CREDS": {"connector": "source-a"},
		"SECRET_B_CREDS": {"connector": "source-b"},
		"SECRET_C_CREDS": {"connector": "source-c"},
	})
	r := BuildReport(s, inv, Options{Repo: "o/r"})
	r.UnusedGitHubSecrets = []UnusedSecret{
		{Secret: "UNUSED_GONE", Command: "gh secret delete UNUSED_GONE --repo o/r"},
		{Secret: "UNUSED_THERE", Command: "gh secret delete UNUSED_THERE --repo o/r"},
	}
	var calls atomic.Int32
	srv := fakeGitHub(t, []string{"A_CREDS", "UNUSED_THERE"}, []string{"C_CREDS"}, 0, &calls)
	gh, err := NewGitHubClient("test-token", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	g, err := CheckGitHub(context.Background(), gh, "o/r", r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g.AlreadyGone, []string{"B_CREDS", "UNUSED_GONE"}) || !reflect.DeepEqual(g.Organization, []string{"C_CREDS"}) {
		t.Fatalf("check %+v", g)
	}
	for i := 0; i < 2; i++ { // applying again changes nothing
		r.ApplyGitHubCheck(g)
		if len(r.ToDelete) != 1 || r.ToDelete[0].Command != "gh secret delete A_CREDS --repo o/r" {
			t.Errorf("to delete %+v", r.ToDelete)
		}
		if u := r.UnusedGitHubSecrets; u[0].Command != "" || u[0].GitHub != GitHubAlreadyGone || u[1].Command == "" {
			t.Errorf("unused %+v", u)
		}
	}
	for _, format := range Formats {
		var b bytes.Buffer
		if err := r.Write(&b, format); err != nil {
			t.Fatal(err)
		}
		for _, gone := range []string{"B_CREDS", "C_CREDS", "UNUSED_GONE"} {
			if strings.Contains(b.String(), "gh secret delete "+gone) {
				t.Errorf("%s: delete line for %s, which is no repository secret:\n%s", format, gone, b.String())
			}
		}
		if !strings.Contains(b.String(), "gh secret delete A_CREDS --repo o/r") {
			t.Errorf("%s: no delete line for A_CREDS", format)
		}
	}
	var b bytes.Buffer
	_ = r.WriteTable(&b)
	for _, want := range []string{"SAFE TO DELETE as far as the script goes", "already gone: B_CREDS", "# UNUSED_GONE: already gone (nothing to delete)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestGitHubNotJSON(t *testing.T) {
	r := BuildReport(parse(t, "read_secrets source-a \"$A_CREDS\"\n"), entries(t, map[string]map[string]string{"SECRET_A_CREDS": {"connector": "source-a"}}), Options{})
	for _, tt := range []struct {
		name   string
		status int
		ctype  string
		want   string
	}{
		{"html page", http.StatusOK, "text/html; charset=utf-8", "answered something that is not JSON (HTTP 200, text/html; charset=utf-8: invalid character '<'"},
		{"proxy error", http.StatusBadGateway, "text/html", "answered something that is not JSON (HTTP 502, text/html)"},
		{"no content type", http.StatusOK, "", "answered something that is not JSON (HTTP 200, "},
		{"html 404", http.StatusNotFound, "text/html", "not found (404): check OWNER/NAME, and that the token can see the repository; the reply was not JSON (text/html), so also check that GITHUB_API_URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if tt.ctype != "" {
					w.Header().Set("Content-Type", tt.ctype)
				} else {
					w.Header()["Content-Type"] = nil
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte("<html><body>Sign in</body></html>"))
			}))
			defer srv.Close()
			gh, err := NewGitHubClient("secret-token-value", srv.URL+"/web")
			if err != nil {
				t.Fatal(err)
			}
			_, err = CheckGitHub(context.Background(), gh, "o/r", r, nil)
			if err == nil || !errors.Is(err, ErrGitHub) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			msg := err.Error()
			if strings.Contains(msg, "secret-token-value") || strings.Contains(msg, "Sign in") {
				t.Errorf("error leaks the token or the body: %s", msg)
			}
			if tt.status != http.StatusNotFound {
				var nj *NotJSONError
				if !errors.As(err, &nj) || !strings.Contains(msg, "the GitHub API at "+srv.URL+"/web/repos/o/r/actions/secrets") || !strings.Contains(msg, "check that GITHUB_API_URL") || !strings.Contains(msg, "proxy") {
					t.Errorf("message %s", msg)
				}
			}
		})
	}
}

// Two variables fed by one GitHub secret: while one of them needs a manual
// edit, the secret is still read, so the other is not deletable either.
func TestManualEditHoldsSharedSecret(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/ci.yml", "jobs:\n  j:\n    steps:\n      - run: ./test.sh\n        env:\n          A_CREDS: ${{ secrets.SHARED_CREDS }}\n          B_CREDS: ${{ secrets.SHARED_CREDS }}\n")
	wf, err := ReadWorkflows(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := parse(t, "echo x; read_secrets source-a \"$A_CREDS\"\nread_secrets source-b \"$B_CREDS\"\n")
	inv := entries(t, map[string]map[string]string{
		"SECRET_A_CREDS": {"connector": "source-a"},
		"SECRET_B_CREDS": {"connector": "source-b"},
	})
	r := BuildReport(s, inv, Options{Workflows: wf})
	if len(r.ToDelete) != 0 {
		t.Errorf("to delete %+v", r.ToDelete)
	}
	for _, v := range r.Variables {
		if v.Status != VarLeftover {
			t.Errorf("%s: %s", v.Name, v.Status)
		}
		if v.Name == "B_CREDS" && (!v.StillReferenced || len(v.OtherReferences) != 1 || !strings.Contains(v.OtherReferences[0].Context, "A_CREDS also comes from SHARED_CREDS and its line needs a manual edit")) {
			t.Errorf("B_CREDS: %+v", v)
		}
	}
}
