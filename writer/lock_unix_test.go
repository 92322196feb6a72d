//go:build unix

package writer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// A temporary file that a live run holds (its lock) is not stale: the
// clean-up of a concurrent sync leaves it; once the lock is gone it is
// removed like any other.
func TestCleanStaleTempsLeavesLockedTemps(t *testing.T) {
	dir := t.TempDir()
	name := tempName("config.json")
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := lockTemp(f); err != nil {
		t.Fatal(err)
	}
	removed, err := CleanStaleTemps(dir)
	if err != nil || len(removed) != 0 {
		t.Fatalf("removed %v, %v: a temporary file in use was taken for stale", removed, err)
	}
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("the locked temporary file is gone: %v", err)
	}
	f.Close() // the lock goes with the last descriptor, as when a run dies
	removed, err = CleanStaleTemps(dir)
	if err != nil || len(removed) != 1 {
		t.Fatalf("removed %v, %v; want the now stale file", removed, err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale file still there: %v", err)
	}
}

// Runs writing into one folder while others clean it up all succeed, and
// every file ends whole with no temporary file left.
func TestConcurrentWritersAndCleaners(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "airbyte-integrations", "connectors", "source-x", "secrets")
	l := Layout{Root: root}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				if err := l.Prepare(ctx, dir); err != nil {
					errs <- err
				}
				data := fmt.Appendf(nil, `{"writer": %d, "i": %d}`, w, i)
				if _, err := l.Write(ctx, dir, fmt.Sprintf("f%02d.json", i), data); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if tempPattern.MatchString(e.Name()) {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	if len(entries) != 51 { // 50 files and the .gitignore
		t.Errorf("%d entries, want 51", len(entries))
	}
}
