package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

// repoRoot is the repository's top folder, where action.yml and README.md live.
func repoRoot(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// actionFile is the part of action.yml the tests read.
type actionFile struct {
	Name   string `yaml:"name"`
	Inputs map[string]struct {
		Description string  `yaml:"description"`
		Default     *string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string       `yaml:"using"`
		Steps []actionStep `yaml:"steps"`
	} `yaml:"runs"`
}

type actionStep struct {
	Name             string            `yaml:"name"`
	ID               string            `yaml:"id"`
	If               string            `yaml:"if"`
	Uses             string            `yaml:"uses"`
	Run              string            `yaml:"run"`
	Shell            string            `yaml:"shell"`
	Env              map[string]string `yaml:"env"`
	WorkingDirectory string            `yaml:"working-directory"`
}

func readAction(t *testing.T) actionFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return a
}

// TestActionMetadata checks what the runner needs of a composite action and
// what the issue asks of this one.
func TestActionMetadata(t *testing.T) {
	a := readAction(t)
	if a.Runs.Using != "composite" {
		t.Errorf("runs.using = %q, want composite", a.Runs.Using)
	}
	for _, in := range []string{"connectors", "root", "require", "args", "version"} {
		i, ok := a.Inputs[in]
		if !ok || i.Description == "" || i.Default == nil {
			t.Errorf("input %s missing, or without a description and a default", in)
		}
	}
	if v := a.Outputs["paths"].Value; v != "${{ steps.sync.outputs.paths }}" {
		t.Errorf("output paths = %q, want it taken from the sync step", v)
	}
	ids := map[string]bool{}
	usesSetupGo := false
	for _, s := range a.Runs.Steps {
		ids[s.ID] = true
		if s.Run != "" && s.Shell == "" {
			t.Errorf("step %q runs a script without shell: (composite actions need one)", s.Name)
		}
		if strings.HasPrefix(s.Uses, "actions/setup-go@") {
			usesSetupGo = true
		}
		// Inputs reach scripts through env only: ${{ }} inside a script is
		// pasted into it by the runner, an injection path.
		if strings.Contains(s.Run, "${{") {
			t.Errorf("step %q expands an expression inside its script; pass it through env:", s.Name)
		}
	}
	if !ids["sync"] || !usesSetupGo {
		t.Errorf("want a step with id sync and actions/setup-go (steps: %v)", ids)
	}
}

// lintWorkflow runs actionlint over one workflow placed in a scratch
// repository holding a copy of action.yml, so `uses: ./` is checked against
// the action's real inputs.
func lintWorkflow(t *testing.T, name, workflow string) []*actionlint.Error {
	t.Helper()
	dir := t.TempDir()
	wf := filepath.Join(dir, ".github", "workflows")
	if err := os.MkdirAll(wf, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	action, err := os.ReadFile(filepath.Join(repoRoot(t), "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "action.yml"), action, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(wf, name+".yml")
	if err := os.WriteFile(path, []byte(workflow), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.LintRepository(dir)
	if err != nil {
		t.Fatalf("actionlint: %v", err)
	}
	return errs
}

func TestActionLint(t *testing.T) {
	good := `name: uses the action
on: [pull_request]
permissions:
  contents: read
  id-token: write
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: secrets
        uses: ./
        with:
          connectors: source-s3 destination-s3
          root: .
          require: 'true'
          args: --concurrency 8
      - run: echo "$PATHS"
        env:
          PATHS: ${{ steps.secrets.outputs.paths }}
`
	if errs := lintWorkflow(t, "good", good); len(errs) != 0 {
		t.Errorf("actionlint on a workflow using the action: %v", errs)
	}
	// The linter does check the action: a misspelt input is an error.
	bad := strings.Replace(good, "connectors: source-s3", "connector: source-s3", 1)
	if errs := lintWorkflow(t, "bad", bad); len(errs) == 0 || !strings.Contains(errs[0].Message, "connector") {
		t.Errorf("actionlint accepted an input the action does not have: %v", errs)
	}
}

// readmeYAML returns the README's ```yaml blocks.
func readmeYAML(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?ms)^```ya?ml\n(.*?)^```")
	var out []string
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	return out
}

// asWorkflow makes a README snippet lintable: a whole workflow as it is, a
// list of steps inside a minimal job.
func asWorkflow(snippet string) string {
	if strings.Contains(snippet, "\njobs:") || strings.HasPrefix(snippet, "jobs:") {
		return snippet
	}
	var b strings.Builder
	b.WriteString("on: push\npermissions:\n  id-token: write\n  contents: read\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n")
	// Re-indent the steps under steps: whatever their indentation was.
	lines := strings.Split(strings.TrimRight(snippet, "\n"), "\n")
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if n := len(l) - len(strings.TrimLeft(l, " ")); indent < 0 || n < indent {
			indent = n
		}
	}
	for _, l := range lines {
		if len(l) >= indent {
			l = l[indent:]
		}
		b.WriteString("      " + l + "\n")
	}
	return b.String()
}

func TestReadmeWorkflowsLint(t *testing.T) {
	snippets := readmeYAML(t)
	if len(snippets) < 2 {
		t.Fatalf("README has %d yaml blocks; want the Actions examples", len(snippets))
	}
	var usesAction, wif, key bool
	for i, s := range snippets {
		wf := asWorkflow(s)
		if errs := lintWorkflow(t, fmt.Sprintf("readme%d", i), wf); len(errs) != 0 {
			t.Errorf("README yaml block %d does not lint:\n%s\nerrors: %v", i+1, s, errs)
		}
		usesAction = usesAction || strings.Contains(s, "uses: airbytehq/ci-secrets@")
		wif = wif || (strings.Contains(s, "google-github-actions/auth@") && strings.Contains(s, "workload_identity_provider") && strings.Contains(s, "id-token: write"))
		key = key || strings.Contains(s, "GCP_GSM_CREDENTIALS: ${{ secrets.")
	}
	if !usesAction || !wif || !key {
		t.Errorf("README examples: uses the action %v, workload identity federation %v, key in GCP_GSM_CREDENTIALS %v; want all", usesAction, wif, key)
	}
}

// TestActionStepsAgainstEmulator runs the action's own shell steps, as the
// runner would (inputs substituted, GITHUB_ENV carried from step to step),
// against the emulator, and checks what lands in GITHUB_OUTPUT,
// GITHUB_STEP_SUMMARY and GITHUB_ENV.
func TestActionStepsAgainstEmulator(t *testing.T) {
	root := needBashAndGo(t, "builds the binary from the checkout")
	// The shape of examples/seed.json (a disabled latest, a secret serving
	// two connectors), with values that cannot be mistaken for a path.
	seed, err := emulator.ParseSeed(strings.NewReader(`{"project": "action-project", "secrets": [
	  {"name": "SECRET_SOURCE-S3_CREDS", "labels": {"connector": "source-s3"}, "versions": [
	    {"data": "{\"key\": \"action-old-s3-key\"}", "state": "DISABLED"}, {"data": "{\"key\": \"action-s3-key\"}"}]},
	  {"name": "SECRET_SOURCE-S3_PARQUET__CREDS", "labels": {"connector": "source-s3", "filename": "parquet_config"}, "versions": [
	    {"data": "{\"key\": \"action-parquet-key\"}"}, {"data": "{\"key\": \"action-parquet-broken\"}", "state": "DISABLED"}]},
	  {"name": "SECRET_SOURCE-MYSQL_SSH_CREDS", "labels": {"connector": "source-mysql_destination-mysql", "filename": "ssh_config"}, "versions": [
	    {"data": "{\"password\": \"action-mysql-password\"}"}]},
	  {"name": "SECRET_DESTINATION-BIGQUERY_CREDS", "labels": {"connector": "destination-bigquery"}, "versions": [
	    {"data": "{\"key\": \"action-bq-key\"}"}]}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := emulator.StartForTest(t, seed, emulator.Options{})

	work := t.TempDir()
	for _, c := range []string{"source-s3", "source-mysql"} {
		if err := os.MkdirAll(filepath.Join(work, "repo", "airbyte-integrations", "connectors", c), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{}
	for _, n := range []string{"GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV"} {
		files[n] = filepath.Join(work, strings.ToLower(n))
		if err := os.WriteFile(files[n], nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runnerTemp := filepath.Join(work, "runner-temp")
	if err := os.Mkdir(runnerTemp, 0o755); err != nil {
		t.Fatal(err)
	}
	inputs := map[string]string{"connectors": "source-s3,\nsource-mysql", "root": "repo", "require": "true", "args": "--concurrency 4", "version": ""}
	env := []string{
		"GITHUB_ACTIONS=true", "CI=true", "RUNNER_TEMP=" + runnerTemp, "RUNNER_OS=Linux", "RUNNER_ARCH=X64",
		"SECRET_MANAGER_EMULATOR_HOST=" + addr, "GCP_PROJECT_ID=" + seed.Project,
		"GITHUB_OUTPUT=" + files["GITHUB_OUTPUT"], "GITHUB_STEP_SUMMARY=" + files["GITHUB_STEP_SUMMARY"], "GITHUB_ENV=" + files["GITHUB_ENV"],
		"GOFLAGS=" + os.Getenv("GOFLAGS"),
	}
	env = append(env, "PATH="+os.Getenv("PATH"))
	env = append(env, goEnv()...)
	var stdout, stderr strings.Builder
	ran := 0
	for _, step := range readAction(t).Runs.Steps {
		if !stepEnabled(t, step.If, inputs) || step.Run == "" {
			continue // uses: steps (setup-go) are the runner's business; Go is on PATH here
		}
		ran++
		cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step.Run)
		cmd.Dir = work
		if step.WorkingDirectory != "" {
			cmd.Dir = expand(t, step.WorkingDirectory, inputs, root)
		}
		cmd.Env = append(append([]string{}, env...), readEnvFile(t, files["GITHUB_ENV"])...)
		for k, v := range step.Env {
			cmd.Env = append(cmd.Env, k+"="+expand(t, v, inputs, root))
		}
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("step %q: %v\nstdout:\n%s\nstderr:\n%s", step.Name, err, stdout.String(), stderr.String())
		}
	}
	if ran != 2 {
		t.Errorf("%d shell steps ran, want 2 (build, sync) with no version given", ran)
	}
	assertNoLeak(t, seedValues(seed), stdout.String(), stderr.String())

	ghEnv := readEnvFile(t, files["GITHUB_ENV"])
	if len(ghEnv) != 1 || !strings.HasPrefix(ghEnv[0], "CI_SECRETS_BIN="+runnerTemp) {
		t.Errorf("GITHUB_ENV = %q, want CI_SECRETS_BIN under RUNNER_TEMP", ghEnv)
	}
	outputs := readEnvFile(t, files["GITHUB_OUTPUT"])
	wantPaths := "paths=" + strings.Join([]string{
		"repo/airbyte-integrations/connectors/source-mysql/secrets/ssh_config.json",
		"repo/airbyte-integrations/connectors/source-s3/secrets/config.json",
		"repo/airbyte-integrations/connectors/source-s3/secrets/parquet_config.json",
	}, "\n")
	if !hasString(outputs, wantPaths) || !hasString(outputs, "count=3") || !hasString(outputs, "failed=0") {
		t.Errorf("GITHUB_OUTPUT = %q, want %q, count=3 and failed=0", outputs, wantPaths)
	}
	for _, p := range strings.Split(strings.TrimPrefix(wantPaths, "paths="), "\n") {
		fi, err := os.Stat(filepath.Join(work, p))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want a 0600 file", p, err, fi)
		}
	}
	summary, err := os.ReadFile(files["GITHUB_STEP_SUMMARY"])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"### ci-secrets sync: succeeded",
		"| connector | file | secret | version |",
		"| source-s3 | repo/airbyte-integrations/connectors/source-s3/secrets/config.json | SECRET\\_SOURCE-S3\\_CREDS | 2 |",
		"wrote 3 files, 0 failed; cost: 2 read requests, 4 access requests, 1 fallback, 0 retries",
	} {
		if !strings.Contains(string(summary), want) {
			t.Errorf("step summary lacks %q:\n%s", want, summary)
		}
	}
	assertNoLeak(t, seedValues(seed), string(summary))
	if !strings.Contains(stdout.String(), "::add-mask::") {
		t.Errorf("no mask printed under GITHUB_ACTIONS=true:\n%s", stdout.String())
	}
}

func hasString(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// stepEnabled evaluates the one form of condition the action uses:
// inputs.NAME == ” (or !=). Any other condition fails the test, so a new
// one cannot be skipped unnoticed.
func stepEnabled(t *testing.T, cond string, inputs map[string]string) bool {
	t.Helper()
	if cond == "" {
		return true
	}
	m := regexp.MustCompile(`^inputs\.([a-z_-]+) (==|!=) '([^']*)'$`).FindStringSubmatch(strings.TrimSpace(cond))
	if m == nil {
		t.Fatalf("condition %q is not one the test knows how to evaluate", cond)
	}
	v, ok := inputs[m[1]]
	if !ok {
		t.Fatalf("condition %q names an input the test does not set", cond)
	}
	return (v == m[3]) == (m[2] == "==")
}

// expand substitutes the expressions the runner would: inputs and the
// action's path.
func expand(t *testing.T, s string, inputs map[string]string, actionPath string) string {
	t.Helper()
	re := regexp.MustCompile(`\$\{\{\s*([a-z_.-]+)\s*\}\}`)
	out := re.ReplaceAllStringFunc(s, func(m string) string {
		name := re.FindStringSubmatch(m)[1]
		if name == "github.action_path" {
			return actionPath
		}
		if in, ok := strings.CutPrefix(name, "inputs."); ok {
			if v, ok := inputs[in]; ok {
				return v
			}
		}
		t.Fatalf("expression %s is not one the test can substitute", m)
		return ""
	})
	if strings.Contains(out, "${{") {
		t.Fatalf("unexpanded expression in %q", s)
	}
	return out
}

// readEnvFile parses a GITHUB_ENV or GITHUB_OUTPUT file as the runner does:
// NAME=VALUE lines and NAME<<DELIM ... DELIM blocks, as NAME=VALUE strings.
func readEnvFile(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		if name, delim, ok := strings.Cut(line, "<<"); ok && !strings.Contains(name, "=") {
			var val []string
			closed := false
			for sc.Scan() {
				if sc.Text() == delim {
					closed = true
					break
				}
				val = append(val, sc.Text())
			}
			if !closed {
				t.Fatalf("%s: block %s has no closing %s", path, name, delim)
			}
			out = append(out, name+"="+strings.Join(val, "\n"))
			continue
		}
		if !strings.Contains(line, "=") {
			t.Fatalf("%s: line %q is neither NAME=VALUE nor NAME<<DELIM", path, line)
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// needBashAndGo skips a test that runs shell scripts building the program
// in -short mode or without bash, and returns the repository root.
func needBashAndGo(t *testing.T, why string) string {
	t.Helper()
	if testing.Short() {
		t.Skip(why)
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("the scripts need bash")
	}
	return repoRoot(t)
}

// goEnv passes on what the go command needs to find its caches and modules.
func goEnv() []string {
	var env []string
	for _, k := range []string{"HOME", "GOPATH", "GOCACHE", "GOMODCACHE", "GOPROXY", "GOTOOLCHAIN", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}
