package writer

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestIgnores(t *testing.T) {
	for _, tc := range []struct {
		gitignore string
		name      string
		want      bool
	}{
		{"*\n", "config.json", true},
		{"*", "config.json", true}, // no final newline
		{"*.json\n", "config.json", true},
		{"*.json\n", "notes.txt", false},
		{"config.json\n", "config.json", true},
		{"config.json\n", "ssh_config.json", false},
		{"/config.json\n", "config.json", true},
		{"**/config.json\n", "config.json", true},
		{"**\n", "config.json", true},
		{"sub/config.json\n", "config.json", false},
		{"config.json/\n", "config.json", false}, // folders only
		{"*/\n", "config.json", false},
		{"*\n!config.json\n", "config.json", false},
		{"*\n!config.json\n", "other.json", true},
		{"!config.json\n*\n", "config.json", true}, // the last match wins
		{"*.json\n!*.json\n*\n", "config.json", true},
		{"# config.json\n", "config.json", false},
		{"\\#config.json\n", "#config.json", true},
		{"\\!config.json\n", "!config.json", true},
		{"config.json   \n", "config.json", true},  // trailing spaces dropped
		{"config.json\\ \n", "config.json", false}, // an escaped one kept
		{"config.json\r\n", "config.json", true},   // CRLF
		{"conf?g.json\n", "config.json", true},
		{"[cx]onfig.json\n", "config.json", true},
		{"[!c]onfig.json\n", "config.json", false},
		{"[^c]onfig.json\n", "config.json", false},
		{"\n\n   \n", "config.json", false},
		{"", "config.json", false},
		{"[\n", "config.json", false}, // a broken pattern matches nothing
		{"secrets\nnode_modules\n*.log\n", "config.json", false},
	} {
		if got := Ignores([]byte(tc.gitignore), tc.name); got != tc.want {
			t.Errorf("Ignores(%q, %q) = %v, want %v", tc.gitignore, tc.name, got, tc.want)
		}
	}
}

// A .gitignore git would not read is refused by Write (and by Prepare,
// before any secret is read), naming it; nothing is written beside it.
func TestWriteRefusesGitignoreGitDoesNotRead(t *testing.T) {
	for name, setup := range map[string]func(t *testing.T, dir string){
		"symlink to a file":   func(t *testing.T, dir string) { mustLink(t, "real-ignore", filepath.Join(dir, ".gitignore")) },
		"dangling symlink":    func(t *testing.T, dir string) { mustLink(t, "nowhere", filepath.Join(dir, ".gitignore")) },
		"symlink out of tree": func(t *testing.T, dir string) { mustLink(t, "/etc/hostname", filepath.Join(dir, ".gitignore")) },
		"folder": func(t *testing.T, dir string) {
			if err := os.Mkdir(filepath.Join(dir, ".gitignore"), 0o700); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			l := Layout{Root: root}
			dir, err := l.SecretsDir("source-x")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "real-ignore"), []byte("*\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			setup(t, dir)
			gi := filepath.Join(dir, ".gitignore")
			perr := l.Prepare(t.Context(), dir)
			_, werr := l.Write(t.Context(), dir, "config.json", []byte(payload))
			for _, err := range []error{perr, werr} {
				if !errors.Is(err, ErrUnsafeGitignore) || !strings.Contains(err.Error(), gi) {
					t.Errorf("error %v: want ErrUnsafeGitignore naming %s", err, gi)
				}
			}
			if _, err := os.Lstat(filepath.Join(dir, "config.json")); err == nil {
				t.Errorf("config.json was written beside a .gitignore git does not read")
			}
			noTemps(t, dir)
		})
	}
}

func mustLink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// A regular .gitignore that does not ignore the file: written all the same,
// with one warning naming the .gitignore and the line to add.
func TestWriteWarnsWhenGitignoreDoesNotIgnore(t *testing.T) {
	for gitignore, warn := range map[string]bool{"*.log\n": true, "*\n!config.json\n": true, "*.json\n": false, "*": false} {
		dir := filepath.Join(t.TempDir(), "secrets")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte(gitignore), 0o644); err != nil {
			t.Fatal(err)
		}
		var logs strings.Builder
		ctx := zerolog.New(&logs).WithContext(t.Context())
		w, err := WriteSecret(ctx, dir, "config.json", []byte(payload))
		if err != nil || w.Status != Wrote {
			t.Fatalf(".gitignore %q: %v, %v", gitignore, w, err)
		}
		got := strings.Contains(logs.String(), `"level":"warn"`) &&
			strings.Contains(logs.String(), "add a line config.json (or * to ignore everything in the folder)") &&
			strings.Contains(logs.String(), filepath.Join(dir, ".gitignore"))
		if got != warn {
			t.Errorf(".gitignore %q: warned %v, want %v; logs:\n%s", gitignore, got, warn, logs.String())
		}
		if b, _ := os.ReadFile(filepath.Join(dir, ".gitignore")); string(b) != gitignore {
			t.Errorf("an existing .gitignore was changed to %q", b)
		}
	}
}

// The status of a write: wrote a new file, replaced a different one, left
// an equal one in place (same inode) with its mode narrowed to 0600.
func TestWriteStatus(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	write := func(data string) Written {
		t.Helper()
		w, err := WriteSecret(t.Context(), dir, "config.json", []byte(data))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	target := filepath.Join(dir, "config.json")
	if w := write(payload); w.Status != Wrote || w.Path != target {
		t.Errorf("first write %+v, want wrote %s", w, target)
	}
	before, _ := os.Stat(target)
	if err := os.Chmod(target, 0o644); err != nil {
		t.Fatal(err)
	}
	if w := write(payload); w.Status != Unchanged {
		t.Errorf("same data: %+v, want unchanged", w)
	}
	after, _ := os.Stat(target)
	if !os.SameFile(before, after) || after.Mode().Perm() != FileMode {
		t.Errorf("unchanged file: same inode %v, mode %v; want the same file, 0600", os.SameFile(before, after), after.Mode().Perm())
	}
	for _, other := range []string{payload + " ", `{"password": "SUPERSECRET-hunter3"}`, ""} {
		if err := os.WriteFile(target, []byte(other), 0o600); err != nil {
			t.Fatal(err)
		}
		if w := write(payload); w.Status != Replaced {
			t.Errorf("file holding %q: %+v, want replaced", other, w)
		}
		if got := readFile(t, target); got != payload {
			t.Errorf("after replacing: %q", got)
		}
	}
	noTemps(t, dir)
}

// In a git repository, git has the last word: a rule higher up (the
// monorepo's own .gitignore) that ignores secrets folders silences the
// warning a folder's unrelated .gitignore would draw.
func TestWriteAsksGitWhenInARepository(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	repo := t.TempDir()
	if out, err := exec.Command(git, "init", "-q", repo).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v: %s", err, out)
	}
	dir := filepath.Join(repo, "airbyte-integrations", "connectors", "source-x", "secrets")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("*.log\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	warned := func() bool {
		var logs strings.Builder
		ctx := zerolog.New(&logs).WithContext(t.Context())
		if _, err := WriteSecret(ctx, dir, "config.json", []byte(payload)); err != nil {
			t.Fatal(err)
		}
		return strings.Contains(logs.String(), "does not make git ignore config.json")
	}
	if !warned() {
		t.Errorf("no warning although nothing in the repository ignores config.json")
	}
	if err := os.WriteFile(filepath.Join(repo, ".gitignore"), []byte("secrets/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if warned() {
		t.Errorf("warned although the repository's .gitignore ignores secrets/")
	}
}
