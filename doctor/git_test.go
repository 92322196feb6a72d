package doctor

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func needGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: this test needs a real git repository")
	}
}

func gitIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.email=t@example.com", "-c", "user.name=t"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func files(t testing.TB, root string, m map[string]string) {
	t.Helper()
	for p, data := range m {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAskGit(t *testing.T) {
	needGit(t)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	root := t.TempDir()
	c := "airbyte-integrations/connectors/"
	files(t, root, map[string]string{
		c + "source-a/secrets/.gitignore":  "*\n",
		c + "source-a/secrets/config.json": "{}",
		c + "source-b/secrets/config.json": "{}",
		c + "source-b/secrets/other.json":  "{}",
		"tools/secrets/kept.json":          "{}",
		c + "source-b/metadata.yaml":       "data: {}\n",
	})
	gitIn(t, root, "init", "-q", ".")
	gitIn(t, root, "add", c+"source-b/secrets/config.json", "tools/secrets/kept.json", c+"source-b/metadata.yaml")
	gitIn(t, root, "commit", "-q", "-m", "x")
	probes := []string{c + "source-a/secrets/config.json", c + "source-b/secrets/config.json", c + "source-b/secrets/other.json", c + "source-c/secrets/config.json"}
	g, err := AskGit(context.Background(), root, probes)
	if err != nil {
		t.Fatal(err)
	}
	if !g.Available {
		t.Fatalf("git unavailable: %s", g.Reason)
	}
	if got := strings.Join(g.Tracked, ","); got != c+"source-b/secrets/config.json,tools/secrets/kept.json" {
		t.Errorf("tracked = %s", got)
	}
	if got := strings.Join(g.NotIgnored, ","); got != strings.Join(probes[1:], ",") {
		t.Errorf("not ignored = %s, want %s", got, strings.Join(probes[1:], ","))
	}

	// From a subfolder of the repository, paths stay relative to the root given.
	sub := filepath.Join(root, "airbyte-integrations")
	g, err = AskGit(context.Background(), sub, []string{"connectors/source-a/secrets/config.json"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(g.Tracked, ",") != "connectors/source-b/secrets/config.json" || len(g.NotIgnored) != 0 {
		t.Errorf("from a subfolder: tracked %v, not ignored %v", g.Tracked, g.NotIgnored)
	}
}

func TestAskGitNotARepository(t *testing.T) {
	needGit(t)
	root := t.TempDir()
	t.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(root))
	g, err := AskGit(context.Background(), root, []string{"secrets/config.json"})
	if err != nil {
		t.Fatal(err)
	}
	if g.Available || !strings.Contains(g.Reason, "is not inside a git work tree") {
		t.Errorf("outside a repository: %+v", g)
	}
}

func TestAskGitMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	g, err := AskGit(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if g.Available || g.Reason != "git is not installed (not found on PATH)" {
		t.Errorf("without git: %+v", g)
	}
}
