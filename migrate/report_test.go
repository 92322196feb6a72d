package migrate

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestReportStatus(t *testing.T) {
	s := parse(t, `read_secrets source-a "$A_CREDS"
read_secrets destination-a "$A_CREDS"
read_secrets source-b "$B_CREDS" "oauth.json"
read_secrets source-c "$C_CREDS"
read_secrets source-d "$D_CREDS" "tracker.txt"
read_secrets source-e "$E_CREDS"
`)
	inv := entries(t, map[string]map[string]string{
		"SECRET_A_CREDS":         {"connector": "source-a_destination-a"}, // multi-connector, default config
		"SECRET_SOURCE-B__CREDS": {"connector": "source-b", "filename": "oauth"},
		"SECRET_C1_CREDS":        {"connector": "source-c"},
		"SECRET_C2_CREDS":        {"connector": "source-c"},
		"SECRET_E_CREDS":         {"connector": "source-e", "filename": "config.json"}, // invalid label
		"SECRET_OTHER_CREDS":     {"connector": "source-b"},                            // config.json, not oauth.json
	})
	r := BuildReport(s, inv, Options{})
	type row struct {
		status Status
		gsm    string
		note   string
	}
	want := []row{
		{StatusServed, "SECRET_A_CREDS", ""},
		{StatusServed, "SECRET_A_CREDS", ""},
		{StatusServed, "SECRET_SOURCE-B__CREDS", ""},
		{StatusLeftover, "", "claimed by 2 secrets (SECRET_C1_CREDS, SECRET_C2_CREDS)"},
		{StatusLeftover, "", "serve only .json files"},
		{StatusLeftover, "", "SECRET_E_CREDS names this connector but its labels are invalid"},
	}
	for i, w := range want {
		g := r.Registrations[i]
		if g.Status != w.status || g.GSMSecret != w.gsm || !strings.Contains(g.Note, w.note) || (w.note == "" && g.Note != "") {
			t.Errorf("line %d: %s %q %q, want %s %q %q", g.Line, g.Status, g.GSMSecret, g.Note, w.status, w.gsm, w.note)
		}
	}
	if want := (Summary{Registrations: 6, Served: 3, Leftover: 3, Variables: 5, SafeToDelete: 2}); r.Summary != want {
		t.Errorf("summary %+v, want %+v", r.Summary, want)
	}
	var del []string
	for _, d := range r.ToDelete {
		del = append(del, d.Command)
	}
	if want := []string{"gh secret delete A_CREDS", "gh secret delete B_CREDS"}; !reflect.DeepEqual(del, want) {
		t.Errorf("to delete %v, want %v", del, want)
	}
}

// A variable is safe to delete only when every registration is served and
// nothing else reads its secret.
func TestVariableStatus(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/ci.yml", `
jobs:
  test:
    env:
      A_CREDS: ${{ secrets.SHARED_CREDS }}
      B_CREDS: ${{ secrets.SHARED_CREDS }}
      C_CREDS: ${{ secrets.C_CREDS }}
      D_CREDS: ${{ secrets.D_CREDS }}
      OTHER_NAME: ${{ secrets.D_CREDS }}
      ALL: ${{ toJson(secrets) }}
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
curl -d "$E_CREDS" https://example.com
`)
	inv := entries(t, map[string]map[string]string{
		"SECRET_A_CREDS": {"connector": "source-a"},
		"SECRET_C_CREDS": {"connector": "source-c"},
		"SECRET_D_CREDS": {"connector": "source-d"},
		"SECRET_E_CREDS": {"connector": "source-e"},
	})
	r := BuildReport(s, inv, Options{Workflows: wf, Repo: "o/r"})
	got := map[string]VarStatus{}
	for _, v := range r.Variables {
		got[v.Name] = v.Status
	}
	want := map[string]VarStatus{
		"A_CREDS": VarInUse,        // SHARED_CREDS also feeds B_CREDS, which is leftover
		"B_CREDS": VarLeftover,     // not served
		"C_CREDS": VarSafeToDelete, // toJson(secrets) does not count
		"D_CREDS": VarInUse,        // OTHER_NAME reads D_CREDS too
		"E_CREDS": VarInUse,        // an unrecognized line reads it
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	if len(r.ToDelete) != 1 || r.ToDelete[0].Command != "gh secret delete C_CREDS --repo o/r" {
		t.Errorf("to delete %+v", r.ToDelete)
	}
	for _, v := range r.Variables {
		if v.Name == "A_CREDS" && (v.GitHubSecret != "SHARED_CREDS" || !v.Mapped || len(v.OtherReferences) != 1 ||
			!strings.Contains(v.OtherReferences[0].Context, "B_CREDS also comes from SHARED_CREDS")) {
			t.Errorf("A_CREDS: %+v", v)
		}
	}
}

// TestJSONContract checks the field names docs/cli.md fixes and that
// arrays are never null.
func TestJSONContract(t *testing.T) {
	r := BuildReport(parse(t, "set -e\n"), nil, Options{})
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"registrations", "variables", "commented_out", "duplicates", "unrecognized", "literal_writes", "github_secrets_to_delete", "warnings"} {
		if _, ok := m[k].([]any); !ok {
			t.Errorf("%s is %T, want an array", k, m[k])
		}
	}
	sum, _ := m["summary"].(map[string]any)
	for _, k := range []string{"registrations", "served", "leftover", "variables", "safe_to_delete"} {
		if _, ok := sum[k].(float64); !ok {
			t.Errorf("summary.%s missing", k)
		}
	}

	r = BuildReport(parse(t, `read_secrets source-a "$A_CREDS"`+"\n"), nil, Options{})
	b.Reset()
	_ = r.WriteJSON(&b)
	var full struct {
		Registrations []map[string]any `json:"registrations"`
		Variables     []map[string]any `json:"variables"`
	}
	if err := json.Unmarshal(b.Bytes(), &full); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"line", "connector", "file", "variable", "github_secret", "kind", "status", "gsm_secret"} {
		if _, ok := full.Registrations[0][k]; !ok {
			t.Errorf("registration field %s missing", k)
		}
	}
	for _, k := range []string{"name", "github_secret", "registrations", "served", "status", "other_references"} {
		if _, ok := full.Variables[0][k]; !ok {
			t.Errorf("variable field %s missing", k)
		}
	}
}

func TestMarkdownEscapes(t *testing.T) {
	r := BuildReport(parse(t, "[ -z \"$A_CREDS\" ] || echo \"`id`\" | cat\n"), nil, Options{})
	var b bytes.Buffer
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "``[ -z \"$A_CREDS\" ] \\|\\| echo \"`id`\" \\| cat``") {
		t.Errorf("cell not escaped:\n%s", b.String())
	}
}
