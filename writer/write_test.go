package writer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

const payload = `{"password": "SUPERSECRET-hunter2"}`

func perm(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func noTemps(t *testing.T, dir string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			t.Errorf("temporary file %s left in %s", e.Name(), dir)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkErr asserts err wraps want, names path, and holds no payload byte.
func checkErr(t *testing.T, err, want error, path string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want one wrapping %v", err, want)
	}
	if path != "" && !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
	if strings.Contains(err.Error(), "SUPERSECRET") {
		t.Errorf("error %q leaks the payload", err)
	}
}

func TestWriteSecretCreatesFolderFileAndGitignore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "secrets")
	w, err := WriteSecret(t.Context(), dir, "config.json", []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	path := w.Path
	if w.Status != Wrote {
		t.Errorf("status %q, want %q", w.Status, Wrote)
	}
	if want := filepath.Join(dir, "config.json"); path != want {
		t.Errorf("path %s, want %s", path, want)
	}
	if got := readFile(t, path); got != payload {
		t.Errorf("content %q", got)
	}
	if m := perm(t, path); m != 0o600 {
		t.Errorf("file mode %v, want 0600", m)
	}
	if m := perm(t, dir); m != 0o700 {
		t.Errorf("folder mode %v, want 0700", m)
	}
	if got := readFile(t, filepath.Join(dir, ".gitignore")); got != "*\n" {
		t.Errorf(".gitignore holds %q", got)
	}
	if got := names(t, dir); !slices.Equal(got, []string{".gitignore", "config.json"}) {
		t.Errorf("folder holds %v", got)
	}
}

func TestWriteSecretKeepsExistingGitignore(t *testing.T) {
	dir := t.TempDir()
	const mine = "# mine\n*.json\n"
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte(mine), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteSecret(t.Context(), dir, "config.json", []byte(payload)); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, ".gitignore")); got != mine {
		t.Errorf(".gitignore rewritten to %q", got)
	}
}

func TestWriteSecretReplacesWiderFileAndNarrowsFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "ssh_config.json")
	if err := os.WriteFile(target, []byte(`{"old": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(target, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteSecret(t.Context(), dir, "ssh_config.json", []byte(payload)); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, target); got != payload {
		t.Errorf("content %q", got)
	}
	if m := perm(t, target); m != 0o600 {
		t.Errorf("file mode %v, want 0600", m)
	}
	if m := perm(t, dir); m != 0o700 {
		t.Errorf("folder mode %v, want 0700", m)
	}
	noTemps(t, dir)
}

func TestWriteSecretRefusesTargetThatIsNotARegularFile(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(outside, []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		make func(target string) error
		want error
	}{
		{"symlink", func(p string) error { return os.Symlink(outside, p) }, ErrSymlink},
		{"dangling symlink", func(p string) error { return os.Symlink(outside+"-missing", p) }, ErrSymlink},
		{"folder", func(p string) error { return os.Mkdir(p, 0o700) }, ErrNotRegular},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(dir, "config.json")
			if err := tc.make(target); err != nil {
				t.Fatal(err)
			}
			_, err := WriteSecret(t.Context(), dir, "config.json", []byte(payload))
			checkErr(t, err, tc.want, target)
			if got := readFile(t, outside); got != "untouched" {
				t.Errorf("link target now holds %q", got)
			}
			if _, err := os.Lstat(outside + "-missing"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("dangling link target was created")
			}
			noTemps(t, dir)
		})
	}
}

func TestWriteSecretRefusesSymlinkedSecretsFolder(t *testing.T) {
	tmp := t.TempDir()
	real := filepath.Join(tmp, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "secrets")
	if err := os.Symlink(real, dir); err != nil {
		t.Fatal(err)
	}
	_, err := WriteSecret(t.Context(), dir, "config.json", []byte(payload))
	checkErr(t, err, ErrSymlink, dir)
	want := fmt.Sprintf("secrets folder %s is a symlink; ci-secrets refuses to write through links: replace it with a real folder", dir)
	if err.Error() != want {
		t.Errorf("error\n %s\nwant\n %s", err, want)
	}
	if got := names(t, real); len(got) != 0 {
		t.Errorf("wrote through the link: %v", got)
	}
}

func TestWriteSecretRefusesFolderThatIsAFile(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "secrets")
	if err := os.WriteFile(dir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := WriteSecret(t.Context(), dir, "config.json", []byte(payload))
	checkErr(t, err, ErrNotDir, dir)
	if got := names(t, tmp); !slices.Equal(got, []string{"secrets"}) {
		t.Errorf("left %v", got)
	}
}

// TestWriteSecretReadOnlyFolder cannot run as root, which ignores modes (and
// chattr +i needs a file system and tool we cannot count on). The failures
// that root can show are covered by TestWriteSecretFailureLeavesNothing.
func TestWriteSecretReadOnlyFolder(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root can write into a read-only folder")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("*\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	_, err := WriteSecret(t.Context(), dir, "config.json", []byte(payload))
	checkErr(t, err, fs.ErrPermission, dir)
	if !strings.Contains(err.Error(), "check that you may write there") {
		t.Errorf("error %q gives no hint", err)
	}
	if got := names(t, dir); !slices.Equal(got, []string{".gitignore"}) {
		t.Errorf("left %v", got)
	}
	if m := perm(t, dir); m != 0o500 {
		t.Errorf("folder mode %v, want 0500 (narrowed, still read-only)", m)
	}
}

func TestWriteSecretRefusesBadFileNames(t *testing.T) {
	for _, name := range []string{
		"", "../x.json", "/abs.json", "a/b.json", `a\b.json`, ".json", "x.txt", "x", "x.json.json",
		"x\x00.json", "..json", ".x.json", "X.json", "x y.json", "x.JSON", "é.json",
		strings.Repeat("a", 64) + ".json",
	} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			tmp := t.TempDir()
			dir := filepath.Join(tmp, "secrets")
			_, err := WriteSecret(t.Context(), dir, name, []byte(payload))
			checkErr(t, err, ErrBadFileName, "")
			if got := names(t, tmp); len(got) != 0 {
				t.Errorf("created %v", got)
			}
		})
	}
}

func TestWriteSecretCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	tmp := t.TempDir()
	_, err := WriteSecret(ctx, filepath.Join(tmp, "secrets"), "config.json", []byte(payload))
	checkErr(t, err, context.Canceled, "")
	if got := names(t, tmp); len(got) != 0 {
		t.Errorf("created %v", got)
	}
}

// TestWriteSecretFailureLeavesNothing fails a write after its temporary file
// exists, in ways that work even as root, and checks that no temporary file
// is left and an older target is untouched.
func TestWriteSecretFailureLeavesNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   stage
		do   func(cancel func(), target string) error
		want error
	}{
		{"cancelled with temp created", stageTemp, func(cancel func(), _ string) error { cancel(); return nil }, context.Canceled},
		{"cancelled before rename", stageRename, func(cancel func(), _ string) error { cancel(); return nil }, context.Canceled},
		{"write error", stageTemp, func(func(), string) error { return fs.ErrPermission }, fs.ErrPermission},
		{"target became a folder", stageRename, func(_ func(), target string) error {
			if err := os.Remove(target); err != nil {
				return err
			}
			return os.Mkdir(target, 0o700)
		}, ErrNotRegular},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(dir, "config.json")
			if err := os.WriteFile(target, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var sawTemp bool
			hook := func(s stage) error {
				if s != tc.at {
					return nil
				}
				for _, n := range names(t, dir) {
					sawTemp = sawTemp || strings.HasPrefix(n, tempPrefix)
				}
				return tc.do(cancel, target)
			}
			_, err := writeFile(ctx, filepath.Dir(dir), dir, "config.json", []byte(payload), hook)
			checkErr(t, err, tc.want, target)
			if !sawTemp {
				t.Error("the hook ran before the temporary file existed")
			}
			noTemps(t, dir)
			if fi, err := os.Lstat(target); err == nil && fi.Mode().IsRegular() {
				if got := readFile(t, target); got != "old" {
					t.Errorf("target now holds %q", got)
				}
			}
		})
	}
}

func TestWriteSecretConcurrentFilesInOneFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = WriteSecret(t.Context(), dir, fmt.Sprintf("f%d.json", i), []byte(payload))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := len(names(t, dir)); got != 17 {
		t.Errorf("%d entries, want 16 files and .gitignore", got)
	}
	if got := readFile(t, filepath.Join(dir, ".gitignore")); got != "*\n" {
		t.Errorf(".gitignore holds %q", got)
	}
	noTemps(t, dir)
}
