package writer

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestCleanStaleTemps(t *testing.T) {
	dir := t.TempDir()
	ours := []string{
		".ci-secrets-config.json.0123456789abcdef.tmp",
		".ci-secrets-ssh_config.json.fedcba9876543210.tmp",
		".ci-secrets-.gitignore.00000000000000ff.tmp",
		tempName("config.json"),
	}
	notOurs := []string{
		"config.json",
		".gitignore",
		"notes.tmp",
		".ci-secrets-config.json.tmp", // no random part
		".ci-secrets-config.json.0123456789ABCDEF.tmp",      // not our hex
		".ci-secrets-config.json.0123456789abcdef.tmp.keep", // suffix
		".ci-secrets-config.txt.0123456789abcdef.tmp",       // not a .json
		"x.ci-secrets-config.json.0123456789abcdef.tmp",     // prefix
	}
	for _, n := range append(slices.Clone(ours), notOurs...) {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Named like ours, but not regular files: left alone.
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := ".ci-secrets-config.json.1111111111111111.tmp"
	if err := os.Symlink(victim, filepath.Join(dir, link)); err != nil {
		t.Fatal(err)
	}
	folder := ".ci-secrets-config.json.2222222222222222.tmp"
	if err := os.Mkdir(filepath.Join(dir, folder), 0o700); err != nil {
		t.Fatal(err)
	}

	removed, err := CleanStaleTemps(dir)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, n := range ours {
		want = append(want, filepath.Join(dir, n))
	}
	slices.Sort(want)
	slices.Sort(removed)
	if !slices.Equal(removed, want) {
		t.Errorf("removed %v\nwant %v", removed, want)
	}
	left := names(t, dir)
	wantLeft := append(slices.Clone(notOurs), link, folder)
	slices.Sort(wantLeft)
	if !slices.Equal(left, wantLeft) {
		t.Errorf("left %v\nwant %v", left, wantLeft)
	}
	if got := readFile(t, victim); got != "keep" {
		t.Errorf("link target changed: %q", got)
	}
}

func TestCleanStaleTempsMissingFolder(t *testing.T) {
	removed, err := CleanStaleTemps(filepath.Join(t.TempDir(), "nope"))
	if err != nil || removed != nil {
		t.Errorf("got %v, %v", removed, err)
	}
}

func TestCleanStaleTempsRefusesLinkAndFile(t *testing.T) {
	tmp := t.TempDir()
	real := mkdir(t, tmp, "real")
	tempInReal := filepath.Join(real, ".ci-secrets-config.json.0123456789abcdef.tmp")
	if err := os.WriteFile(tempInReal, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(tmp, "secrets")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	_, err := CleanStaleTemps(link)
	checkErr(t, err, ErrSymlink, link)
	if _, err := os.Lstat(tempInReal); err != nil {
		t.Errorf("removed through the link: %v", err)
	}

	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = CleanStaleTemps(file)
	checkErr(t, err, ErrNotDir, file)
}

func TestPrepareCleansTemps(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, tempName("config.json"))
	if err := os.WriteFile(stale, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := (Layout{Out: dir}).Prepare(t.Context(), dir); err != nil {
		t.Fatal(err)
	}
	noTemps(t, dir)
}
