package writer

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/airbytehq/ci-secrets/labels"
)

func mkdir(t *testing.T, parts ...string) string {
	t.Helper()
	p := filepath.Join(parts...)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSecretsDir(t *testing.T) {
	root := t.TempDir()
	mkdir(t, root, "airbyte-integrations", "bases", "base-normalization")
	mkdir(t, root, "airbyte-integrations", "connectors", "source-s3")
	elsewhere := mkdir(t, t.TempDir(), "base-linked")
	if err := os.Symlink(elsewhere, filepath.Join(root, "airbyte-integrations", "bases", "base-linked")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "airbyte-integrations", "bases", "base-file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	conn := func(c string) string { return filepath.Join(root, "airbyte-integrations", "connectors", c, "secrets") }
	for _, tc := range []struct {
		layout    Layout
		connector string
		want      string
	}{
		{Layout{Root: root}, "source-s3", conn("source-s3")},
		{Layout{Root: root}, "source-new", conn("source-new")}, // created on write
		{Layout{Root: root}, "base-normalization", filepath.Join(root, "airbyte-integrations", "bases", "base-normalization", "secrets")},
		// A linked or non-folder bases/ entry is refused, not silently
		// bypassed for connectors/.
		{Layout{Root: root}, "base-linked", "error: is a symlink"},
		{Layout{Root: root}, "base-file", "error: exists but is a file"},
		{Layout{Root: root, Out: "secrets/"}, "source-s3", "secrets"},
		{Layout{Out: "/x/y"}, "base-normalization", "/x/y"},
		{Layout{}, "source-s3", filepath.Join("airbyte-integrations", "connectors", "source-s3", "secrets")},
	} {
		got, err := tc.layout.SecretsDir(tc.connector)
		if want, isErr := strings.CutPrefix(tc.want, "error: "); isErr {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%+v.SecretsDir(%q) = %q, %v; want an error saying %q", tc.layout, tc.connector, got, err, want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v.SecretsDir(%q): %v", tc.layout, tc.connector, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%+v.SecretsDir(%q) = %s, want %s", tc.layout, tc.connector, got, tc.want)
		}
	}
}

func TestSecretsDirRefusesBadConnector(t *testing.T) {
	for _, c := range []string{"", "..", "../etc", "a/b", "Source-S3", "-x", "x\x00y"} {
		for _, l := range []Layout{{Root: t.TempDir()}, {Out: "secrets"}} {
			if got, err := l.SecretsDir(c); !errors.Is(err, labels.ErrInvalidLabel) {
				t.Errorf("%+v.SecretsDir(%q) = %q, %v; want an invalid-label error", l, c, got, err)
			}
		}
	}
}

func TestLayoutWrite(t *testing.T) {
	root := t.TempDir()
	mkdir(t, root, "airbyte-integrations", "bases", "base-normalization")
	l := Layout{Root: root}
	for _, c := range []string{"source-s3", "base-normalization"} {
		dir, err := l.SecretsDir(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Prepare(t.Context(), dir); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Prepare created %s", dir)
		}
		w, err := l.Write(t.Context(), dir, "config.json", []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		path := w.Path
		if got := readFile(t, path); got != payload {
			t.Errorf("%s holds %q", path, got)
		}
		if m := perm(t, dir); m != 0o700 {
			t.Errorf("%s mode %v", dir, m)
		}
		if m := perm(t, filepath.Dir(dir)); m != 0o755 && c == "source-s3" && umask022() {
			t.Errorf("connector folder %s mode %v, want 0755", filepath.Dir(dir), m)
		}
	}
}

// umask022 reports whether a new folder asked 0755 gets it, so mode checks
// of parent folders only run where the umask allows them.
func umask022() bool {
	d, err := os.MkdirTemp("", "umask")
	if err != nil {
		return false
	}
	defer os.RemoveAll(d)
	p := filepath.Join(d, "x")
	if err := os.Mkdir(p, 0o755); err != nil {
		return false
	}
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().Perm() == 0o755
}

func TestLayoutWriteOut(t *testing.T) {
	out := filepath.Join(t.TempDir(), "here", "secrets")
	l := Layout{Root: "/nonexistent", Out: out}
	dir, err := l.SecretsDir("source-s3")
	if err != nil {
		t.Fatal(err)
	}
	w, err := l.Write(t.Context(), dir, "config.json", []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	if w.Path != filepath.Join(out, "config.json") {
		t.Errorf("wrote %s", w.Path)
	}
	if m := perm(t, out); m != 0o700 {
		t.Errorf("mode %v", m)
	}
}

// Every folder between the root and the secrets folder must be real: a link
// anywhere on the way could send the file out of the repository.
func TestLayoutWriteRefusesLinksAndFilesOnTheWay(t *testing.T) {
	for _, tc := range []struct {
		name  string
		where []string // relative to root
		link  bool
		want  error
	}{
		{"airbyte-integrations is a link", []string{"airbyte-integrations"}, true, ErrSymlink},
		{"connectors is a link", []string{"airbyte-integrations", "connectors"}, true, ErrSymlink},
		{"connector folder is a link", []string{"airbyte-integrations", "connectors", "source-s3"}, true, ErrSymlink},
		{"secrets is a link", []string{"airbyte-integrations", "connectors", "source-s3", "secrets"}, true, ErrSymlink},
		{"connector folder is a file", []string{"airbyte-integrations", "connectors", "source-s3"}, false, ErrNotDir},
		{"secrets is a file", []string{"airbyte-integrations", "connectors", "source-s3", "secrets"}, false, ErrNotDir},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			elsewhere := t.TempDir()
			p := filepath.Join(append([]string{root}, tc.where...)...)
			mkdir(t, filepath.Dir(p))
			if tc.link {
				if err := os.Symlink(elsewhere, p); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			l := Layout{Root: root}
			dir, err := l.SecretsDir("source-s3")
			if err != nil {
				t.Fatal(err)
			}
			_, err = l.Write(t.Context(), dir, "config.json", []byte(payload))
			checkErr(t, err, tc.want, p)
			if got := names(t, elsewhere); len(got) != 0 {
				t.Errorf("wrote through the link: %v", got)
			}
		})
	}
}

// A plain WriteSecret checks only the secrets folder itself: its parents are
// the caller's choice (for example a --out path under a linked home).
func TestWriteSecretFollowsParentLinks(t *testing.T) {
	tmp := t.TempDir()
	real := mkdir(t, tmp, "real")
	if err := os.Symlink(real, filepath.Join(tmp, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteSecret(t.Context(), filepath.Join(tmp, "link", "secrets"), "config.json", []byte(payload)); err != nil {
		t.Fatal(err)
	}
	if got := names(t, filepath.Join(real, "secrets")); !slices.Equal(got, []string{".gitignore", "config.json"}) {
		t.Errorf("got %v", got)
	}
}

func TestCheckOutFolder(t *testing.T) {
	dir := t.TempDir()
	mk := func(rel string, isDir bool) {
		t.Helper()
		p := filepath.Join(dir, rel)
		var err error
		if isDir {
			err = os.MkdirAll(p, 0o755)
		} else {
			err = os.WriteFile(p, []byte("{}"), 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	mk("fresh", true)
	mk("ours/updated_configurations", true)
	mk("ours/config.json", false)
	mk("ours/.gitignore", false)
	mk("ours/.ci-secrets-config.json.0123456789abcdef.tmp", false)
	mk("src/secrets", true)
	mk("src/setup.py", false)
	mk("src/metadata.yaml", false)
	mk("src/build.gradle", false)
	mk("src/Dockerfile", false)
	mk("src/secrets/notes.txt", false)

	for _, ok := range []string{"fresh", "ours", "missing/new", "src/secrets"} {
		if err := CheckOutFolder(filepath.Join(dir, ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	err := CheckOutFolder(filepath.Join(dir, "src"))
	if !errors.Is(err, ErrNotSecretsFolder) || !strings.Contains(err.Error(), `("Dockerfile", "build.gradle", "metadata.yaml" and 2 more)`) {
		t.Errorf("src: %v", err)
	}
}
