//go:build linux

package writer

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/airbytehq/ci-secrets/internal/swaptest"
)

// TestWriteThroughSwappedFolders writes while folders on the way are
// swapped for symlinks: every write either fails (naming a link) or lands
// exactly at the path it reports, and nothing ever lands outside the tree
// or in the connector a link pointed to.
func TestWriteThroughSwappedFolders(t *testing.T) {
	runs := 500
	if testing.Short() {
		runs = 100
	}
	st := swaptest.NewTree(t)
	l := Layout{Root: st.Root}
	sw := swaptest.Start(t, st.Swaps)
	ok, refused := 0, 0
	for i := range runs {
		data := fmt.Sprintf(`{"run": %d}`, i)
		prepErr := l.Prepare(t.Context(), st.XSecrets)
		w, err := l.Write(t.Context(), st.XSecrets, "config.json", []byte(data))
		func() {
			defer sw.Hold()() // checked with every folder real again
			if err != nil || prepErr != nil {
				refused++
			}
			if err == nil {
				ok++
				if w.Path != filepath.Join(st.XSecrets, "config.json") {
					t.Fatalf("run %d reported %s", i, w.Path)
				}
				if b, rerr := os.ReadFile(w.Path); rerr != nil || string(b) != data {
					t.Fatalf("run %d reported %s %s, which holds %q (%v)", i, w.Status, w.Path, b, rerr)
				}
			}
			if e := st.Escapes(); len(e) > 0 {
				t.Fatalf("run %d: files outside the tree or in the link's target: %v", i, e)
			}
		}()
	}
	sw.Close()
	t.Logf("%d runs against %d folder swaps: %d written at the reported path, %d refused, 0 escapes", runs, sw.Flips, ok, refused)
	if ok == 0 {
		t.Errorf("no write succeeded in %d runs: the test proves nothing", runs)
	}
}
