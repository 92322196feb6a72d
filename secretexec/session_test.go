package secretexec

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/airbytehq/ci-secrets/writer"
)

func testCtx(t *testing.T) context.Context {
	return zerolog.New(zerolog.NewTestWriter(t)).WithContext(context.Background())
}

// writeAsSync writes what a sync would: the file, 0600, in a 0700 folder
// with a .gitignore, through the real writer.
func writeAsSync(t *testing.T, root, dir, file string) {
	t.Helper()
	l := writer.Layout{Root: root}
	if _, err := l.Write(context.Background(), dir, file, []byte(`{"k": "v"}`)); err != nil {
		t.Fatal(err)
	}
}

func TestBeginRecordsBeforeWritingAndFinishRestores(t *testing.T) {
	ctx := testCtx(t)
	root := t.TempDir()
	dirA := filepath.Join(root, "airbyte-integrations", "connectors", "source-a", "secrets")
	dirB := filepath.Join(root, "airbyte-integrations", "connectors", "source-b", "secrets")
	if err := os.MkdirAll(dirB, 0o755); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dirB, "config.json")
	if err := os.WriteFile(old, []byte("theirs"), 0o644); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chtimes(old, mtime, mtime)
	files := []string{filepath.Join(dirA, "config.json"), filepath.Join(dirA, "oauth.json"), old}
	s, _, err := Begin(ctx, Plan{Root: root, Connectors: []string{"source-a", "source-b"}, Files: files}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	// The manifest is there, private, before any file is written, and the
	// existing file is moved aside.
	fi, err := os.Stat(s.ManifestPath())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("manifest: %v, mode %v", err, fi)
	}
	if fi, err := os.Stat(filepath.Join(root, StateDir)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("state folder: %v %v", err, fi)
	}
	var m Manifest
	if err := json.Unmarshal([]byte(mustRead(t, s.ManifestPath())), &m); err != nil {
		t.Fatal(err)
	}
	wantDirs := []string{filepath.Join(root, "airbyte-integrations", "connectors", "source-a"), dirA}
	if !slices.Equal(m.Dirs, wantDirs) || len(m.Gitignores) != 2 || len(m.DirModes) != 1 || m.DirModes[0].Mode != 0o755 {
		t.Fatalf("manifest: %+v", m)
	}
	if _, err := os.Lstat(old); err == nil {
		t.Fatal("the existing file was not moved aside")
	}
	writeAsSync(t, root, dirA, "config.json")
	writeAsSync(t, root, dirA, "oauth.json")
	writeAsSync(t, root, dirB, "config.json")

	u, err := s.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, old); got != "theirs" {
		t.Errorf("restored content %q", got)
	}
	fi, _ = os.Stat(old)
	if fi.Mode().Perm() != 0o644 || !fi.ModTime().Equal(mtime) {
		t.Errorf("restored mode %v, mtime %v", fi.Mode(), fi.ModTime())
	}
	if fi, _ := os.Stat(dirB); fi.Mode().Perm() != 0o755 {
		t.Errorf("folder mode %v, want 0755 back", fi.Mode())
	}
	for _, gone := range []string{filepath.Dir(dirA), filepath.Join(dirB, ".gitignore"), filepath.Join(root, StateDir)} {
		if _, err := os.Lstat(gone); err == nil {
			t.Errorf("%s is left", gone)
		}
	}
	if len(u.Restored) != 1 || len(u.Removed) != 4 { // 2 files, 2 folders
		t.Errorf("undone: %+v", u)
	}
	if u2, err := s.Finish(ctx); err != nil || u2.Runs != 0 {
		t.Errorf("second Finish: %+v, %v", u2, err)
	}
}

func TestLiveRunIsLeftAloneDeadRunIsCleaned(t *testing.T) {
	ctx := testCtx(t)
	root := t.TempDir()
	dir := filepath.Join(root, "out", "secrets")
	file := filepath.Join(dir, "config.json")
	s, _, err := Begin(ctx, Plan{Root: root, Connectors: []string{"source-a"}, Files: []string{file}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	writeAsSync(t, root, dir, "config.json")

	// Live: clean leaves it, and a second run of the same file is refused.
	u, err := Clean(ctx, root, nil)
	if err != nil || len(u.Live) != 1 || u.Runs != 0 {
		t.Fatalf("clean of a live run: %+v, %v", u, err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatal("clean removed a live run's file")
	}
	if _, _, err := Begin(ctx, Plan{Root: root, Files: []string{file}}, time.Now()); !errors.Is(err, ErrInUse) {
		t.Fatalf("second Begin of the same file: %v", err)
	}
	// A run of another connector is fine alongside.
	other := filepath.Join(root, "other", "secrets", "config.json")
	s2, _, err := Begin(ctx, Plan{Root: root, Connectors: []string{"source-b"}, Files: []string{other}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	// Dead (its lock dropped as the kernel drops a killed process's):
	// a filtered clean of another connector leaves it, then clean undoes it.
	s.f.Close()
	if u, err := Clean(ctx, root, []string{"source-z"}); err != nil || u.Runs != 0 {
		t.Fatalf("clean of another connector: %+v, %v", u, err)
	}
	u, err = Clean(ctx, root, []string{"source-a"})
	if err != nil || u.Runs != 1 || len(u.Live) != 1 {
		t.Fatalf("clean of a dead run: %+v, %v", u, err)
	}
	if _, err := os.Lstat(filepath.Join(root, "out")); err == nil {
		t.Error("the dead run's folders are left")
	}
	if _, err := s2.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(root, StateDir)); err == nil {
		t.Error("the state folder is left")
	}
}

func TestUndoKeepsFoldersWithForeignFiles(t *testing.T) {
	ctx := testCtx(t)
	root := t.TempDir()
	dir := filepath.Join(root, "c", "secrets")
	s, _, err := Begin(ctx, Plan{Root: root, Files: []string{filepath.Join(dir, "config.json")}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	writeAsSync(t, root, dir, "config.json")
	if err := os.MkdirAll(filepath.Join(dir, "updated_configurations"), 0o700); err != nil {
		t.Fatal(err)
	}
	u, err := s.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(u.Kept, []string{dir}) {
		t.Errorf("kept %v", u.Kept)
	}
	if mustRead(t, filepath.Join(dir, ".gitignore")) != writer.Gitignore {
		t.Error("the .gitignore of a folder with leftovers was removed")
	}
	if _, err := os.Lstat(filepath.Join(dir, "config.json")); err == nil {
		t.Error("the secret is left")
	}
}

func TestCorruptManifestIsReported(t *testing.T) {
	ctx := testCtx(t)
	root := t.TempDir()
	st, _ := stateOf(root)
	if err := st.ensure(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(st.dir, "exec-0000000000000000.json"), []byte("{half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Clean(ctx, root, nil); err == nil {
		t.Fatal("a corrupt manifest was silently ignored")
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// A run killed at any moment before its manifest is complete leaves nothing
// clean must refuse: an unpublished manifest (this ci-secrets) or an empty
// one (an older ci-secrets that created it in place) is removed, as the run
// wrote no file yet; one an older run still holds is left as live.
func TestManifestKilledBeforeCompleteIsRemoved(t *testing.T) {
	ctx := testCtx(t)
	root := t.TempDir()
	st, _ := stateOf(root)
	if err := st.ensure(); err != nil {
		t.Fatal(err)
	}
	pending := filepath.Join(st.dir, pendingPrefix+"00000000000000aa")
	empty := filepath.Join(st.dir, manifestPrefix+"00000000000000bb"+manifestSuffix)
	for path, content := range map[string]string{pending: `{"version": 1, "fil`, empty: ""} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	held := filepath.Join(st.dir, manifestPrefix+"00000000000000cc"+manifestSuffix)
	hf, err := os.OpenFile(held, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := writer.LockHeld(hf); err != nil {
		t.Fatal(err)
	}
	u, err := Clean(ctx, root, nil)
	if err != nil {
		t.Fatalf("clean after a kill before the manifest was complete: %v", err)
	}
	if u.Runs != 0 || !slices.Equal(u.Live, []string{held}) {
		t.Errorf("clean: %+v, want no run undone and %s live", u, held)
	}
	for _, path := range []string{pending, empty} {
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is left (%v)", filepath.Base(path), err)
		}
	}
	if _, err := os.Lstat(held); err != nil {
		t.Errorf("the manifest a live run holds was removed: %v", err)
	}
	hf.Close()
	if _, err := Clean(ctx, root, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(st.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the state folder is left once every run is gone (%v)", err)
	}
}

// Begin publishes only a complete manifest: at no point after it returns is
// there an unpublished one, and the published one decodes.
func TestBeginPublishesCompleteManifest(t *testing.T) {
	ctx := testCtx(t)
	root := t.TempDir()
	file := filepath.Join(root, "c", "secrets", "config.json")
	s, _, err := Begin(ctx, Plan{Root: root, Connectors: []string{"source-c"}, Files: []string{file}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Finish(ctx)
	entries, err := os.ReadDir(filepath.Join(root, StateDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), pendingPrefix) {
			t.Errorf("Begin left the unpublished manifest %s", e.Name())
		}
	}
	var m Manifest
	if err := json.Unmarshal([]byte(mustRead(t, s.ManifestPath())), &m); err != nil || m.RunID != s.RunID() || len(m.Files) != 1 || m.Files[0].Path != file {
		t.Errorf("published manifest %s: %+v, %v", s.ManifestPath(), m, err)
	}
}
