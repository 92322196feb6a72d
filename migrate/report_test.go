package migrate

import (
	"bytes"
	"context"
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
    steps:
      - run: ./test.sh
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
	got := map[string]string{}
	for _, v := range r.Variables {
		got[v.Name] = v.statusText()
	}
	// Status stays one of the two values of docs/cli.md; a served variable
	// whose secret is read elsewhere is leftover and still_referenced.
	want := map[string]string{
		"A_CREDS": "leftover (still referenced)", // SHARED_CREDS also feeds B_CREDS, which is leftover
		"B_CREDS": "leftover",                    // not served
		"C_CREDS": "safe-to-delete",              // toJson(secrets) does not count
		"D_CREDS": "leftover (still referenced)", // OTHER_NAME reads D_CREDS too
		"E_CREDS": "leftover (still referenced)", // an unrecognized line reads it
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

// TestJSONContractValues checks, on a script in all three shapes, that the
// enumerated fields of docs/cli.md hold only the values it names and that
// the summary counts what the arrays hold.
func TestJSONContractValues(t *testing.T) {
	s, err := ReadScriptFile(context.Background(), "testdata/mixed.sh")
	if err != nil {
		t.Fatal(err)
	}
	wf, err := ReadWorkflows("testdata/workflows")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := BuildReport(s, loadInventory(t, "testdata/mixed.inventory.json"), Options{Workflows: wf}).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Registrations []struct {
			Line            int
			Connector, File string
			Variable, Kind  string
			Status          string
			GSMSecret       string `json:"gsm_secret"`
		}
		Variables []struct {
			Name, Status    string
			GitHubSecret    string `json:"github_secret"`
			Registrations   int
			Served          int
			StillReferenced bool `json:"still_referenced"`
		}
		CommentedOut []struct{ Line int } `json:"commented_out"`
		Duplicates   []struct{ Line int }
		Unrecognized []struct{ Line int }
		Summary      struct {
			Registrations, Served, Leftover, Variables int
			SafeToDelete                               int `json:"safe_to_delete"`
		}
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	served := 0
	for _, r := range got.Registrations {
		kinds[r.Kind]++
		switch {
		case r.Line < 1 || r.Connector == "" || r.File == "" || r.Variable == "":
			t.Errorf("incomplete registration %+v", r)
		case r.Kind != "verbatim" && r.Kind != "templated" && r.Kind != "derived":
			t.Errorf("line %d: kind %q", r.Line, r.Kind)
		case r.Status == "served" && r.GSMSecret == "", r.Status == "leftover" && r.GSMSecret != "":
			t.Errorf("line %d: status %q with gsm_secret %q", r.Line, r.Status, r.GSMSecret)
		case r.Status != "served" && r.Status != "leftover":
			t.Errorf("line %d: status %q", r.Line, r.Status)
		}
		if r.Status == "served" {
			served++
		}
	}
	if len(kinds) != 3 {
		t.Errorf("the mixed script should hold all three kinds, got %v", kinds)
	}
	safe, stillRef := 0, 0
	for _, v := range got.Variables {
		switch v.Status {
		case "safe-to-delete":
			safe++
			if v.Served != v.Registrations || v.StillReferenced {
				t.Errorf("%s is safe to delete with %d/%d served, still referenced %v", v.Name, v.Served, v.Registrations, v.StillReferenced)
			}
		case "leftover":
			if v.StillReferenced {
				stillRef++
				if v.Served != v.Registrations {
					t.Errorf("%s: still_referenced is only for fully served variables", v.Name)
				}
			}
		default:
			t.Errorf("%s: status %q is not leftover or safe-to-delete", v.Name, v.Status)
		}
	}
	if stillRef == 0 {
		t.Error("the mixed script should have a served variable still referenced by a workflow")
	}
	sum := got.Summary
	if sum.Registrations != len(got.Registrations) || sum.Served != served || sum.Leftover != sum.Registrations-served ||
		sum.Variables != len(got.Variables) || sum.SafeToDelete != safe {
		t.Errorf("summary %+v does not count the arrays (served %d, safe %d)", sum, served, safe)
	}
	if len(got.CommentedOut) == 0 || len(got.Duplicates) == 0 || len(got.Unrecognized) == 0 {
		t.Errorf("commented_out %v, duplicates %v, unrecognized %v: each should have entries with lines", got.CommentedOut, got.Duplicates, got.Unrecognized)
	}
	for _, l := range [][]struct{ Line int }{got.CommentedOut, got.Duplicates, got.Unrecognized} {
		for _, e := range l {
			if e.Line < 1 {
				t.Errorf("entry without a line: %v", l)
			}
		}
	}
}
