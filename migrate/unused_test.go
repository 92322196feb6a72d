package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
)

// unusedWorkflow passes secrets to the script's step (ci.sh), its job and
// its file, and to other steps and jobs that the script does not feed.
const unusedWorkflow = `on: push
env:
  WF_LEVEL_CREDS: ${{ secrets.WF_LEVEL_CREDS }}
jobs:
  test:
    env:
      JOB_LEVEL_CREDS: ${{ secrets.JOB_SECRET }}
    steps:
      - name: Write credentials
        run: ./tools/bin/ci.sh all
        env:
          KEEP_CREDS: ${{ secrets.KEEP_CREDS }}
          OLD_CREDS: ${{ secrets.OLD_CREDS }}
          COMMENTED_CREDS: ${{ secrets.COMMENTED_CREDS }}
          DERIVED_BASE_CREDS: ${{ secrets.DERIVED_BASE_CREDS }}
          PRINTED_CREDS: ${{ secrets.PRINTED_CREDS }}
          WITH_CREDS: ${{ secrets.WITH_CREDS }}
          RENAMED_CREDS: ${{ secrets.SHARED_CREDS }}
          ECHOED_CREDS: ${{ secrets.ECHOED_CREDS }}
          KEEP_ALIAS: ${{ secrets.KEEP_CREDS }}
          NAMED_CREDS: ${{ secrets.NAMED_IN_SCRIPT }}
          GITHUB_PROVIDED_SECRETS_JSON: ${{ toJson(secrets) }}
      - uses: example/deploy@v1
        with:
          credentials: ${{ secrets.WITH_CREDS }}
      - run: ./gradlew test
        env:
          OTHER_NAME: ${{ secrets.SHARED_CREDS }}
      - run: echo "$ECHOED_CREDS" | wc -c
  other:
    env:
      OTHER_JOB_CREDS: ${{ secrets.OTHER_JOB_CREDS }}
    steps:
      - run: ./not-ci.sh
`

// unusedScript is the script after --rewrite removed the registrations of
// OLD_CREDS, COMMENTED_CREDS, WF_LEVEL_CREDS, JOB_LEVEL_CREDS and others.
const unusedScript = `read_secrets source-keep "$KEEP_CREDS"
# read_secrets source-old "$COMMENTED_CREDS"
DERIVED=$(echo "$DERIVED_BASE_CREDS" | jq .)
printenv PRINTED_CREDS > /dev/null
jq -r '.NAMED_IN_SCRIPT' <<< "$GITHUB_PROVIDED_SECRETS_JSON" > /dev/null
`

// TestUnusedJobLevel: a job-level env: entry whose job has no other run:
// step feeds only the script, so once the script stops reading the name its
// secret is unused; a second run: step in the job keeps it.
func TestUnusedJobLevel(t *testing.T) {
	s := parseAs(t, "tools/bin/ci.sh", "read_secrets source-keep \"$KEEP_CREDS\"\n")
	const job = "jobs:\n  test:\n    env:\n      KEEP_CREDS: ${{ secrets.KEEP_CREDS }}\n      JOB_LEVEL_CREDS: ${{ secrets.JOB_SECRET }}\n    steps:\n      - uses: actions/checkout@v4\n      - run: ./tools/bin/ci.sh\n"
	for _, c := range []struct {
		yml  string
		want []string
	}{
		{job, []string{"JOB_SECRET"}},
		{job + "      - run: ./gradlew test\n", []string{}},
	} {
		r := BuildReport(s, nil, Options{Workflows: readWorkflows(t, map[string]string{"ci.yml": c.yml})})
		if got := unusedNames(r); !reflect.DeepEqual(got, c.want) {
			t.Errorf("unused %v, want %v, for:\n%s", got, c.want, c.yml)
		}
		if len(c.want) == 1 && r.UnusedGitHubSecrets[0].PassedAt[0].Context != "jobs.test.env.JOB_LEVEL_CREDS" {
			t.Errorf("passed at %+v", r.UnusedGitHubSecrets[0].PassedAt)
		}
	}
}

// parseAs reads src as the script named name.
func parseAs(t *testing.T, name, src string) *Script {
	t.Helper()
	s := parse(t, src)
	s.Name = name
	return s
}

func unusedNames(r *Report) []string {
	out := []string{}
	for _, u := range r.UnusedGitHubSecrets {
		out = append(out, u.Secret)
	}
	return out
}

func readWorkflows(t *testing.T, files map[string]string) *Workflows {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		writeFile(t, filepath.Join(dir, name), text)
	}
	wf, err := ReadWorkflows(dir)
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

// TestUnusedGitHubSecrets: a secret is unused when the workflows pass it
// only to env names of the script's step, job or file that the script no
// longer reads, and nothing else references it.
func TestUnusedGitHubSecrets(t *testing.T) {
	s := parseAs(t, "tools/bin/ci.sh", unusedScript)
	wf := readWorkflows(t, map[string]string{"ci.yml": unusedWorkflow})
	r := BuildReport(s, entries(t, map[string]map[string]string{"SECRET_KEEP_CREDS": {"connector": "source-keep"}}), Options{Workflows: wf, Repo: "o/r"})

	// Not unused: KEEP_CREDS (read, also as KEEP_ALIAS), DERIVED_BASE_CREDS
	// (still read by an assignment), PRINTED_CREDS (named in a command),
	// NAMED_IN_SCRIPT (the script names the secret), WITH_CREDS (a with:
	// input), SHARED_CREDS (another step gets it as OTHER_NAME),
	// ECHOED_CREDS (another step reads the env name), OTHER_JOB_CREDS (a job
	// that does not run the script), JOB_SECRET and WF_LEVEL_CREDS (a job-
	// and a workflow-level entry that also reach ./gradlew test, which may
	// read any variable it is given). COMMENTED_CREDS is named only in a
	// comment.
	if got, want := unusedNames(r), []string{"COMMENTED_CREDS", "OLD_CREDS"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("unused %v, want %v (warnings %v)", got, want, r.Warnings)
	}
	for _, w := range r.Warnings {
		if strings.Contains(w, "unused") {
			t.Errorf("warning %q", w)
		}
	}
	old := r.UnusedGitHubSecrets[1]
	if !reflect.DeepEqual(old.Env, []string{"OLD_CREDS"}) || old.Command != "gh secret delete OLD_CREDS --repo o/r" ||
		len(old.PassedAt) != 1 || old.PassedAt[0].Line != 13 || old.PassedAt[0].Context != "jobs.test.steps[0].env.OLD_CREDS" {
		t.Errorf("OLD_CREDS: %+v", old)
	}
	if r.Summary.UnusedGitHubSecrets != 2 || !strings.HasSuffix(r.SummaryLine(), "; 2 unused GitHub secrets") {
		t.Errorf("summary %+v: %s", r.Summary, r.SummaryLine())
	}
	// Safe-to-delete variables are not repeated as unused.
	for _, d := range r.ToDelete {
		for _, u := range r.UnusedGitHubSecrets {
			if d.Secret == u.Secret {
				t.Errorf("%s both safe to delete and unused", d.Secret)
			}
		}
	}

	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var m struct {
		Unused  []map[string]any `json:"unused_github_secrets"`
		Summary map[string]any   `json:"summary"`
	}
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Unused) != 2 || m.Unused[1]["command"] != "gh secret delete OLD_CREDS --repo o/r" || m.Summary["unused_github_secrets"] != 2.0 {
		t.Errorf("JSON: %s", b.String())
	}

	b.Reset()
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nUNUSED GITHUB SECRETS (the workflows pass them to ci.sh, which no longer reads them, and nothing else references them: safe to delete)\n",
		"\ngh secret delete OLD_CREDS --repo o/r\n",
		"jobs.test.steps[0].env.OLD_CREDS\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "### Unused GitHub secrets\n") || !strings.Contains(b.String(), "```sh\ngh secret delete COMMENTED_CREDS --repo o/r\n") {
		t.Errorf("markdown:\n%s", b.String())
	}
}

// TestUnusedRefused: nothing is called unused when something may read
// secrets without naming them, and the report says why.
func TestUnusedRefused(t *testing.T) {
	const wfText = `on: push
jobs:
  test:
    steps:
      - run: ./ci.sh
        env:
          OLD_CREDS: ${{ secrets.OLD_CREDS }}
`
	for _, tt := range []struct {
		name, script string
		extra        map[string]string
		want         string // in the warning; "" expects OLD_CREDS unused
	}{
		{"plain", "echo hi\n", nil, ""},
		{"inherit to a workflow of the folder", "echo hi\n", map[string]string{"call.yml": "on: push\njobs:\n  c:\n    uses: ./.github/workflows/ci.yml\n    secrets: inherit\n"}, ""},
		{"inherit to another repository", "echo hi\n", map[string]string{"call.yml": "on: push\njobs:\n  c:\n    uses: org/repo/.github/workflows/w.yml@main\n    secrets: inherit\n"},
			"call.yml:5 (jobs.c.secrets: inherit) passes every GitHub secret at once"},
		{"toJson to an action", "echo hi\n", map[string]string{"act.yml": "on: push\njobs:\n  a:\n    steps:\n      - uses: x/y@v1\n        with:\n          all: ${{ toJson(secrets) }}\n"},
			"passes every GitHub secret at once, and what it runs may read any by name: the secrets passed to ci.sh that it no longer reads (OLD_CREDS)"},
		{"toJson in a job env", "echo hi\n", map[string]string{"job.yml": "on: push\njobs:\n  a:\n    env:\n      ALL: ${{ toJson(secrets) }}\n    steps:\n      - run: make\n"},
			"(jobs.a.env.ALL) passes every GitHub secret at once"},
		{"unparsed workflow", "echo hi\n", map[string]string{"bad.yml": "jobs:\n  x: ${{ toJson(secrets) }}\n bad: [\n"}, "(unparsed file) passes every GitHub secret"},
		{"eval", "eval \"$CMD\"\n", nil, "ci.sh reads variables it does not name (line 1 runs eval)"},
		{"indirect expansion", "n=X; echo \"${!n}\"\n", nil, "line 1 expands a variable by computed name"},
		{"environment dump", "env > /tmp/all\n", nil, "line 1 dumps the whole environment (env)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"ci.yml": wfText}
			for k, v := range tt.extra {
				files[k] = v
			}
			r := BuildReport(parseAs(t, "ci.sh", tt.script), nil, Options{Workflows: readWorkflows(t, files)})
			if tt.want == "" {
				if got := unusedNames(r); !reflect.DeepEqual(got, []string{"OLD_CREDS"}) {
					t.Errorf("unused %v, want [OLD_CREDS] (warnings %v)", got, r.Warnings)
				}
				return
			}
			if len(r.UnusedGitHubSecrets) != 0 || !strings.Contains(strings.Join(r.Warnings, "\n"), tt.want) {
				t.Errorf("unused %v, warnings %q, want one with %q", unusedNames(r), r.Warnings, tt.want)
			}
		})
	}

	// No step runs the script: the secrets cannot be told apart.
	r := BuildReport(parseAs(t, "ci.sh", "echo hi\n"), nil, Options{Workflows: readWorkflows(t, map[string]string{"ci.yml": strings.Replace(wfText, "./ci.sh", "./other.sh", 1)})})
	if len(r.UnusedGitHubSecrets) != 0 || !strings.Contains(strings.Join(r.Warnings, "\n"), "no workflow step runs ci.sh (a run: command naming it), so the GitHub secrets passed to env names it does not read (OLD_CREDS)") {
		t.Errorf("no script step: %v %q", unusedNames(r), r.Warnings)
	}
	// A sourced file may read them: listed, with a warning to check it.
	r = BuildReport(parseAs(t, "ci.sh", ". tools/lib/lib.sh\n"), nil, Options{Workflows: readWorkflows(t, map[string]string{"ci.yml": wfText})})
	if !reflect.DeepEqual(unusedNames(r), []string{"OLD_CREDS"}) || !strings.Contains(strings.Join(r.Warnings, "\n"), "ci.sh sources tools/lib/lib.sh (line 1): check that it does not read $OLD_CREDS (the environment names") {
		t.Errorf("sourced file: %v %q", unusedNames(r), r.Warnings)
	}
	// YAML aliases may reuse the env: block elsewhere.
	r = BuildReport(parseAs(t, "ci.sh", "echo hi\n"), nil, Options{Workflows: readWorkflows(t, map[string]string{"ci.yml": `on: push
jobs:
  test:
    steps:
      - run: ./ci.sh
        env: &creds
          OLD_CREDS: ${{ secrets.OLD_CREDS }}
      - run: make
        env: *creds
`})})
	if len(r.UnusedGitHubSecrets) != 0 {
		t.Errorf("aliases: %v", unusedNames(r))
	}
}

func TestMentionsWord(t *testing.T) {
	for _, tt := range []struct {
		text, word string
		dotted     bool
		want       bool
	}{
		{"./tools/bin/ci.sh all", "ci.sh", true, true},
		{"bash ci.sh", "ci.sh", true, true},
		{"./not-ci.sh", "ci.sh", true, false},
		{"./ci.sh.bak", "ci.sh", true, false},
		{"my_ci.sh", "ci.sh", true, false},
		{`echo "$A_CREDS"`, "A_CREDS", false, true},
		{`echo "$A_CREDS_2"`, "A_CREDS", false, false},
		{`X_A_CREDS and A_CREDS`, "A_CREDS", false, true},
		{"", "A", false, false},
	} {
		if got := mentionsWord(tt.text, tt.word, tt.dotted); got != tt.want {
			t.Errorf("mentionsWord(%q, %q) = %v", tt.text, tt.word, got)
		}
	}
}

// TestUnusedAfterRewrite is the life cycle: before --rewrite the served
// secret is safe to delete (the script reads it); after, the script no
// longer names it and the report lists it as unused; CheckGitHub sorts it
// like the other deletable secrets.
func TestUnusedAfterRewrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ci_credentials.sh")
	writeFile(t, path, "read_secrets source-a \"$A_CREDS\"\nread_secrets source-b \"$B_CREDS\"\n")
	wf := readWorkflows(t, map[string]string{"ci.yml": `on: push
jobs:
  test:
    steps:
      - run: tools/bin/ci_credentials.sh
        env:
          A_CREDS: ${{ secrets.SOURCE_A_CREDS }}
          B_CREDS: ${{ secrets.B_CREDS }}
`})
	inv := entries(t, map[string]map[string]string{"SECRET_SOURCE-A_CREDS": {"connector": "source-a"}})
	s, err := ReadScriptFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	r := BuildReport(s, inv, Options{Workflows: wf})
	if len(r.ToDelete) != 1 || r.ToDelete[0].Secret != "SOURCE_A_CREDS" || len(r.UnusedGitHubSecrets) != 0 {
		t.Fatalf("before: to delete %+v, unused %v", r.ToDelete, unusedNames(r))
	}
	if res, err := Rewrite(r, false); err != nil || len(res.Removed) != 1 {
		t.Fatalf("rewrite: %+v %v", res, err)
	}
	const marker = "# ci-secrets migrate: source-a/config.json now comes from Secret Manager (SECRET_SOURCE-A_CREDS); it was $A_CREDS\n"
	if data, _ := os.ReadFile(path); string(data) != marker+"read_secrets source-b \"$B_CREDS\"\n" {
		t.Fatalf("rewritten script %q", data)
	}
	// The marker keeps the verdict: the same secret to delete as before.
	s, err = ReadScriptFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	r = BuildReport(s, inv, Options{Workflows: wf, Repo: "o/r"})
	if len(r.ToDelete) != 1 || r.ToDelete[0].Secret != "SOURCE_A_CREDS" || len(r.UnusedGitHubSecrets) != 0 {
		t.Fatalf("after the rewrite: to delete %+v, unused %v", r.ToDelete, unusedNames(r))
	}
	// A line removed by hand leaves no marker: the secret the workflow
	// still passes under the name is then found unused.
	writeFile(t, path, "read_secrets source-b \"$B_CREDS\"\n")
	s, err = ReadScriptFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	r = BuildReport(s, inv, Options{Workflows: wf, Repo: "o/r"})
	if len(r.ToDelete) != 0 || !reflect.DeepEqual(unusedNames(r), []string{"SOURCE_A_CREDS"}) ||
		!reflect.DeepEqual(r.UnusedGitHubSecrets[0].Env, []string{"A_CREDS"}) {
		t.Fatalf("after: to delete %+v, unused %+v, warnings %v", r.ToDelete, r.UnusedGitHubSecrets, r.Warnings)
	}

	var calls atomic.Int32
	srv := fakeGitHub(t, []string{"B_CREDS", "SOURCE_A_CREDS"}, nil, 0, &calls)
	gh, err := NewGitHubClient("test-token", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res, err := CheckGitHub(context.Background(), gh, "o/r", r, wf)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Delete) != 1 || res.Delete[0].Command != "gh secret delete SOURCE_A_CREDS --repo o/r" || len(res.Unreferenced) != 0 || len(res.AlreadyGone) != 0 {
		t.Errorf("GitHub check %+v", res)
	}
	srv2 := fakeGitHub(t, []string{"B_CREDS"}, nil, 0, &calls)
	gh2, _ := NewGitHubClient("test-token", srv2.URL)
	if res, err := CheckGitHub(context.Background(), gh2, "o/r", r, wf); err != nil || !reflect.DeepEqual(res.AlreadyGone, []string{"SOURCE_A_CREDS"}) {
		t.Errorf("already deleted: %+v %v", res, err)
	}
}
