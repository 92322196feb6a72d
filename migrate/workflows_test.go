package migrate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadWorkflows(t *testing.T) {
	w, err := ReadWorkflows("testdata/workflows")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"testdata/workflows/broken.yaml", "testdata/workflows/connector-tests.yml"}; !reflect.DeepEqual(w.Files, want) {
		t.Errorf("files %v, want %v (README.md is not a workflow)", w.Files, want)
	}
	var maps []string
	for _, m := range w.EnvMappings {
		maps = append(maps, fmt.Sprintf("%d %s=%s @%s", m.Line, m.Env, m.Secret, m.Context))
	}
	wantMaps := []string{
		"5 AWS_S3_INTEGRATION_TEST_CREDS=AWS_S3_INTEGRATION_TEST_CREDS @env.AWS_S3_INTEGRATION_TEST_CREDS",
		"10 BIGQUERY_INTEGRATION_TEST_CREDS=BIGQUERY_INTEGRATION_TEST_CREDS @jobs.test.env.BIGQUERY_INTEGRATION_TEST_CREDS",
		"11 GH_CREDS=SOURCE_GITHUB_CREDS @jobs.test.env.GH_CREDS",
		"17 MYSQL_SSH_KEY_CREDS=MYSQL_SSH_KEY_CREDS @jobs.test.steps[1].env.MYSQL_SSH_KEY_CREDS",
		"18 SOURCE_HUBSPOT_CREDS=SOURCE_HUBSPOT_CREDS @jobs.test.steps[1].env.SOURCE_HUBSPOT_CREDS",
		"19 SOURCE_HUBSPOT_OAUTH_CREDS=SOURCE_HUBSPOT_OAUTH_CREDS @jobs.test.steps[1].env.SOURCE_HUBSPOT_OAUTH_CREDS",
		"20 SNOWFLAKE_CREDS=SNOWFLAKE_CREDS @jobs.test.steps[1].env.SNOWFLAKE_CREDS",
		"21 STRIPE_TOKEN=STRIPE_TOKEN @jobs.test.steps[1].env.STRIPE_TOKEN",
	}
	if !reflect.DeepEqual(maps, wantMaps) {
		t.Errorf("env mappings:\n%s\nwant\n%s", strings.Join(maps, "\n"), strings.Join(wantMaps, "\n"))
	}
	var refs []string
	for _, r := range w.References {
		refs = append(refs, fmt.Sprintf("%s:%d %s @%s", filepath.Base(r.File), r.Line, r.Secret, r.Context))
	}
	wantRefs := []string{
		"broken.yaml:5 STRIPE_TOKEN @(unparsed file)",
		"connector-tests.yml:24 BIGQUERY_INTEGRATION_TEST_CREDS @jobs.test.steps[2].if",
		"connector-tests.yml:27 BIGQUERY_INTEGRATION_TEST_CREDS @jobs.test.steps[2].with.credentials",
		"connector-tests.yml:31 SOURCE_HUBSPOT_OAUTH_CREDS @jobs.test.steps[3].run",
	}
	if !reflect.DeepEqual(refs, wantRefs) {
		t.Errorf("references:\n%s\nwant\n%s", strings.Join(refs, "\n"), strings.Join(wantRefs, "\n"))
	}
	if len(w.AllSecrets) != 1 || w.AllSecrets[0].Line != 22 {
		t.Errorf("toJson(secrets): %+v", w.AllSecrets)
	}
	if len(w.Warnings) != 1 || !strings.Contains(w.Warnings[0], "broken.yaml is not valid YAML (line 3") {
		t.Errorf("warnings %q", w.Warnings)
	}
	if got := w.SecretsFor("GH_CREDS"); !reflect.DeepEqual(got, []string{"SOURCE_GITHUB_CREDS"}) {
		t.Errorf("SecretsFor(GH_CREDS) = %v", got)
	}
}

func TestReadWorkflowsForms(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", `
on: push
env: &shared
  FOO_CREDS: "${{secrets.source_foo_creds}}"
jobs:
  j:
    uses: ./.github/workflows/reusable.yml
    secrets:
      token: ${{ secrets['BRACKET_TOKEN'] }}
      inherit_ok: ${{ secrets.A_CREDS || secrets.B_CREDS }}
  k:
    env: *shared
    steps:
      - run: echo "${{ secrets.STEP_CREDS }}"
        env:
          LEN: ${{ secrets.X }}-suffix
`)
	w, err := ReadWorkflows(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.EnvMappings) != 1 || w.EnvMappings[0].Env != "FOO_CREDS" || w.EnvMappings[0].Secret != "SOURCE_FOO_CREDS" {
		t.Errorf("env mappings %+v", w.EnvMappings)
	}
	var got []string
	for _, r := range w.References {
		got = append(got, r.Secret)
	}
	if want := []string{"BRACKET_TOKEN", "A_CREDS", "B_CREDS", "STEP_CREDS", "X"}; !reflect.DeepEqual(got, want) {
		t.Errorf("references %v, want %v", got, want)
	}
}

func TestReadWorkflowsErrors(t *testing.T) {
	empty := t.TempDir()
	file := filepath.Join(empty, "x.yml.txt")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ dir, want string }{
		{filepath.Join(empty, "nope"), "no such workflows folder"},
		{file, "is not a folder"},
		{empty, "holds no .yml or .yaml workflow file"},
	} {
		_, err := ReadWorkflows(tt.dir)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrBadInput) {
			t.Errorf("ReadWorkflows(%s) = %v, want %q", tt.dir, err, tt.want)
		}
	}
}

// TestReusableWorkflowSecrets: a call to a reusable workflow passes secrets
// by name (each a reference) or all at once with `secrets: inherit`.
func TestReusableWorkflowSecrets(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "call.yml"), `on: push
jobs:
  all:
    uses: ./.github/workflows/test.yml
    secrets: inherit
  some:
    uses: ./.github/workflows/test.yml
    secrets:
      CREDS: ${{ secrets.PASSED_CREDS }}
`)
	w, err := ReadWorkflows(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.AllSecrets) != 1 || w.AllSecrets[0].Line != 5 || !strings.Contains(w.AllSecrets[0].Context, "inherit") {
		t.Errorf("secrets: inherit: %+v", w.AllSecrets)
	}
	if len(w.References) != 1 || w.References[0].Secret != "PASSED_CREDS" || w.References[0].Line != 9 {
		t.Errorf("references %+v", w.References)
	}
}
