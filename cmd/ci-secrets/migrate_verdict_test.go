package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

// migrateRepo is the repository a migrate_*.txtar script starts from: its
// files, the folder its first migrate run works in, and that run's script,
// workflows folder and seed.
type migrateRepo struct {
	files             []txtar.File
	cwd               string
	script, workflows string
	seed              string
	workflowsGiven    bool
}

var migrateLineRe = regexp.MustCompile(`ci-secrets emulator .*-- ci-secrets migrate `)

// loadMigrateRepo reads the first migrate run of an archive; ok is false
// when the archive has none against a seed.
func loadMigrateRepo(t *testing.T, path string) (migrateRepo, bool) {
	t.Helper()
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := migrateRepo{files: ar.Files}
	for _, line := range strings.Split(string(ar.Comment), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "cd" {
			r.cwd = f[1]
			continue
		}
		if !migrateLineRe.MatchString(line) {
			continue
		}
		for i := 0; i+1 < len(f); i++ {
			switch f[i] {
			case "--seed":
				// $WORK is the archive's root; other paths are from the cwd.
				if rest, ok := strings.CutPrefix(f[i+1], "$WORK/"); ok {
					r.seed = rest
				} else {
					r.seed = filepath.Join(r.cwd, f[i+1])
				}
			case "--script":
				r.script = f[i+1]
			case "--workflows":
				r.workflows, r.workflowsGiven = f[i+1], true
			}
		}
		return r, r.seed != "" && r.script != ""
	}
	return r, false
}

// verdict is what one report lists to delete.
type verdict struct {
	ToDelete []string `json:"to_delete"`
	Assumed  []string `json:"assumed"`
	Unused   []string `json:"unused"`
}

// migrateReport is the part of migrate's JSON the verdict test reads.
type migrateReport struct {
	Registrations []struct {
		Line      int      `json:"line"`
		Sources   []string `json:"sources"`
		Status    string   `json:"status"`
		GSMSecret string   `json:"gsm_secret"`
	} `json:"registrations"`
	Migrated []struct {
		Variables []string `json:"variables"`
		Status    string   `json:"status"`
		GSMSecret string   `json:"gsm_secret_at_rewrite"`
	} `json:"migrated"`
	Variables []struct {
		Name          string   `json:"name"`
		GitHubSecret  string   `json:"github_secret"`
		GitHubSecrets []string `json:"github_secrets"`
	} `json:"variables"`
	ToDelete []struct {
		Secret    string   `json:"secret"`
		Variables []string `json:"variables"`
	} `json:"github_secrets_to_delete"`
	Assumed []struct {
		Secret    string   `json:"secret"`
		Variables []string `json:"variables"`
	} `json:"github_secrets_to_delete_assumed"`
	Unused []struct {
		Secret  string `json:"secret"`
		Command string `json:"command"`
	} `json:"unused_github_secrets"`
	Actions struct {
		Rewrite struct {
			Removed []struct{} `json:"removed"`
		} `json:"rewrite"`
	} `json:"actions"`
}

func (m migrateReport) verdict() verdict {
	v := verdict{ToDelete: []string{}, Assumed: []string{}, Unused: []string{}}
	for _, d := range m.ToDelete {
		v.ToDelete = append(v.ToDelete, d.Secret)
	}
	for _, d := range m.Assumed {
		v.Assumed = append(v.Assumed, d.Secret)
	}
	for _, u := range m.Unused {
		if u.Command != "" {
			v.Unused = append(v.Unused, u.Secret)
		}
	}
	sort.Strings(v.Unused)
	return v
}

// TestMigrateVerdictSurvivesRewrite holds every migrate test repository to
// the "done means": the report, then --rewrite, then the report
// again list the same GitHub secrets to delete (plain, name assumed and
// unused), and each secret listed is one GSM serves with an enabled
// version for every registration that read it, and that nothing in the
// rewritten script reads any more. The real binary runs against the
// emulator seeded as the archive's first migrate run is.
func TestMigrateVerdictSurvivesRewrite(t *testing.T) {
	archives, err := filepath.Glob("testdata/script/migrate_*.txtar")
	if err != nil || len(archives) == 0 {
		t.Fatalf("no migrate archives: %v", err)
	}
	checked := 0
	for _, path := range archives {
		repo, ok := loadMigrateRepo(t, path)
		if !ok {
			t.Logf("%s: no migrate run against a seed; not a repository", filepath.Base(path))
			continue
		}
		checked++
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			root := t.TempDir()
			for _, f := range repo.files {
				p := filepath.Join(root, filepath.FromSlash(f.Name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			data, err := os.ReadFile(filepath.Join(root, repo.seed))
			if err != nil {
				t.Fatal(err)
			}
			seed, err := emulator.ParseSeed(strings.NewReader(string(data)))
			if err != nil {
				t.Fatal(err)
			}
			addr, _ := emulator.StartForTest(t, seed, emulator.Options{})
			dir := filepath.Join(root, repo.cwd)
			args := []string{"migrate", "--script", repo.script, "-o", "json"}
			if repo.workflowsGiven {
				args = append(args, "--workflows", repo.workflows)
			}
			run := func(extra ...string) migrateReport {
				t.Helper()
				cmd := program(t, addr, append(args, extra...)...)
				cmd.Dir = dir
				out, err := cmd.Output()
				var ee *exec.ExitError
				if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == exitFailed) {
					t.Fatalf("migrate %v: %v\n%s", extra, err, stderrOf(err))
				}
				assertNoLeak(t, seedValues(seed), string(out))
				var m migrateReport
				if err := json.Unmarshal(out, &m); err != nil {
					t.Fatalf("migrate %v: %v", extra, err)
				}
				return m
			}
			before := run()
			rw := run("--rewrite")
			after := run()
			t.Logf("to delete %+v; rewrite removed %d line(s)", before.verdict(), len(rw.Actions.Rewrite.Removed))
			if b, a := before.verdict(), after.verdict(); !reflect.DeepEqual(b, a) {
				t.Errorf("the delete lists changed with --rewrite:\nbefore %+v\nafter  %+v", b, a)
			}
			rewritten, err := os.ReadFile(filepath.Join(dir, repo.script))
			if err != nil {
				t.Fatal(err)
			}
			wfDir := filepath.Join(dir, ".github", "workflows")
			if repo.workflowsGiven {
				wfDir = filepath.Join(dir, repo.workflows)
			}
			checkDeletable(t, seed, before, after, string(rewritten), workflowLines(t, wfDir))
		})
	}
	if checked < 10 {
		t.Errorf("only %d migrate archives could be loaded as repositories", checked)
	}
}

// checkDeletable is the oracle: every secret listed to delete is read only
// by registrations GSM serves with an enabled version (as the seed has it,
// not as the report says), the rewritten script no longer reads its
// variables outside comments, and the workflows hand it to nothing but
// those variables.
func checkDeletable(t *testing.T, seed *emulator.Seed, before, after migrateReport, script string, workflows []string) {
	t.Helper()
	type deletion struct {
		secret string
		vars   []string
	}
	var all []deletion
	for _, d := range before.ToDelete {
		all = append(all, deletion{d.Secret, d.Variables})
	}
	for _, d := range before.Assumed {
		all = append(all, deletion{d.Secret, d.Variables})
	}
	enabled := map[string]bool{}
	for _, s := range seed.Secrets {
		for _, v := range s.Versions {
			if v.State == "" || strings.EqualFold(v.State, "ENABLED") {
				enabled[s.Name] = true
			}
		}
	}
	code := stripComments(script)
	for _, d := range all {
		// In the workflows, the secret may only be handed to the names
		// being deleted with it (env: entries or run: prefixes).
		use := regexp.MustCompile(`(?i)secrets\s*\.\s*` + d.secret + `\b`)
		for _, l := range workflows {
			if !use.MatchString(l) {
				continue
			}
			passed := false
			for _, name := range d.vars {
				passed = passed || regexp.MustCompile(`(?i)^\s*`+name+`:\s*\$\{\{\s*secrets\.`+d.secret+`\s*\}\}\s*$`).MatchString(l) ||
					regexp.MustCompile(`(?i)(^|\s)`+name+`=["']?\$\{\{\s*secrets\.`+d.secret+`\s*\}\}`).MatchString(l)
			}
			if !passed {
				t.Errorf("%s is listed to delete, but a workflow line reads it otherwise: %q", d.secret, strings.TrimSpace(l))
			}
		}
		for _, name := range d.vars {
			for _, reg := range before.Registrations {
				if !contains(reg.Sources, name) {
					continue
				}
				if reg.Status != "served" || !enabled[reg.GSMSecret] {
					t.Errorf("%s is listed to delete, but line %d reads %s and %q has no enabled version in the seed (status %s)", d.secret, reg.Line, name, reg.GSMSecret, reg.Status)
				}
			}
			for _, m := range after.Migrated {
				if contains(m.Variables, name) && (m.Status != "served" || !enabled[m.GSMSecret]) {
					t.Errorf("%s is listed to delete, but its removed line's secret %q has no enabled version", d.secret, m.GSMSecret)
				}
			}
			if regexp.MustCompile(`\$\{?` + name + `\b`).MatchString(code) {
				t.Errorf("%s is listed to delete, but the rewritten script still reads $%s", d.secret, name)
			}
		}
	}
}

// workflowLines are the lines of every workflow file in dir (none when
// there is no such folder).
func workflowLines(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	files, _ := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Split(string(data), "\n")...)
	}
	return out
}

// stripComments drops the comment lines of a shell script (the markers).
func stripComments(src string) string {
	var keep []string
	for _, l := range strings.Split(src, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}
