//go:build linux

package writer

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// folderSwapper replaces folders of a tree with symlinks (to decoys outside
// the tree, or to another connector's folder inside it) and back, over and
// over, while the test writes: the race of issue 10 point 2, where a folder
// checked as real became a link before the open.
type folderSwapper struct {
	swaps []swap
	pause chan chan struct{}
	stop  chan struct{}
	done  chan struct{}
	flips int
}

// swap is one folder and the link targets it is swapped for in turn.
type swap struct {
	path    string
	targets []string
}

func startSwapper(t *testing.T, swaps []swap) *folderSwapper {
	s := &folderSwapper{swaps: swaps, pause: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for i := 0; ; i++ {
			select {
			case <-s.stop:
				return
			case resume := <-s.pause:
				<-resume
				continue
			default:
			}
			sw := s.swaps[i%len(s.swaps)]
			// Exchanged atomically (renameat2 RENAME_EXCHANGE), so the
			// folder is never missing: a writer never creates a new one
			// in its place, and the real one always comes back.
			link := sw.path + ".link"
			if err := os.Symlink(sw.targets[(i/len(s.swaps))%len(sw.targets)], link); err != nil {
				t.Errorf("swapper: %v", err)
				return
			}
			if err := exchange(sw.path, link); err != nil {
				t.Errorf("swapper: %v", err)
				return
			}
			s.flips++
			// The link stays a moment, as long as a run's look-then-open
			// takes, so that a writer that follows it would be caught.
			time.Sleep(time.Duration(i%4) * 20 * time.Microsecond)
			if err := exchange(sw.path, link); err != nil {
				t.Errorf("swapper: %v", err)
				return
			}
			if err := os.Remove(link); err != nil {
				t.Errorf("swapper: %v", err)
				return
			}
		}
	}()
	t.Cleanup(s.close)
	return s
}

// hold stops the swapping with every folder real again; the returned
// function resumes it.
func (s *folderSwapper) hold() func() {
	resume := make(chan struct{})
	select {
	case s.pause <- resume:
		return func() { close(resume) }
	case <-s.done:
		return func() {}
	}
}

func (s *folderSwapper) close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

// swapTree is a monorepo root with connectors source-x (the one written)
// and source-y (a link target inside the tree), and decoys outside the
// tree shaped so that a followed link would land a file there.
type swapTree struct {
	root, outside, xSecrets, ySecrets string
	swaps                             []swap
}

func newSwapTree(t *testing.T) swapTree {
	tmp := t.TempDir()
	st := swapTree{root: filepath.Join(tmp, "root"), outside: filepath.Join(tmp, "outside")}
	conns := filepath.Join(st.root, "airbyte-integrations", "connectors")
	st.xSecrets = filepath.Join(conns, "source-x", "secrets")
	st.ySecrets = filepath.Join(conns, "source-y", "secrets")
	for _, d := range []string{st.xSecrets, st.ySecrets, filepath.Join(st.outside, "connectors", "source-x", "secrets"),
		filepath.Join(st.outside, "source-x", "secrets"), filepath.Join(st.outside, "secrets")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(st.ySecrets, "config.json"), []byte(`{"y": "source-y's own"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	st.swaps = []swap{
		{filepath.Join(conns, "source-x"), []string{filepath.Join(st.outside, "source-x"), "source-y"}},
		{filepath.Join(st.root, "airbyte-integrations", "connectors"), []string{filepath.Join(st.outside, "connectors")}},
		{st.xSecrets, []string{filepath.Join(st.outside, "secrets"), "../source-y/secrets"}},
	}
	return st
}

// escapes lists every file outside the tree, and any change to source-y's
// file: places a write through a link would have reached.
func (st swapTree) escapes(t *testing.T) []string {
	var out []string
	_ = filepath.WalkDir(st.outside, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	if b, err := os.ReadFile(filepath.Join(st.ySecrets, "config.json")); err != nil || string(b) != `{"y": "source-y's own"}` {
		out = append(out, filepath.Join(st.ySecrets, "config.json"))
	}
	if es, _ := os.ReadDir(st.ySecrets); len(es) != 1 {
		out = append(out, fmt.Sprintf("%s holds %d entries", st.ySecrets, len(es)))
	}
	return out
}

// TestWriteThroughSwappedFolders writes while folders on the way are
// swapped for symlinks: every write either fails (naming a link) or lands
// exactly at the path it reports, and nothing ever lands outside the tree
// or in the connector a link pointed to.
func TestWriteThroughSwappedFolders(t *testing.T) {
	runs := 500
	if testing.Short() {
		runs = 100
	}
	st := newSwapTree(t)
	l := Layout{Root: st.root}
	sw := startSwapper(t, st.swaps)
	ok, refused := 0, 0
	for i := range runs {
		data := fmt.Sprintf(`{"run": %d}`, i)
		prepErr := l.Prepare(t.Context(), st.xSecrets)
		w, err := l.Write(t.Context(), st.xSecrets, "config.json", []byte(data))
		func() {
			defer sw.hold()() // checked with every folder real again
			if err != nil || prepErr != nil {
				refused++
			}
			if err == nil {
				ok++
				if w.Path != filepath.Join(st.xSecrets, "config.json") {
					t.Fatalf("run %d reported %s", i, w.Path)
				}
				if b, rerr := os.ReadFile(w.Path); rerr != nil || string(b) != data {
					t.Fatalf("run %d reported %s %s, which holds %q (%v)", i, w.Status, w.Path, b, rerr)
				}
			}
			if e := st.escapes(t); len(e) > 0 {
				t.Fatalf("run %d: files outside the tree or in the link's target: %v", i, e)
			}
		}()
	}
	sw.close()
	t.Logf("%d runs against %d folder swaps: %d written at the reported path, %d refused, 0 escapes", runs, sw.flips, ok, refused)
	if ok == 0 {
		t.Errorf("no write succeeded in %d runs: the test proves nothing", runs)
	}
}

func exchange(a, b string) error {
	if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
		return fmt.Errorf("exchange %s and %s: %w", a, b, err)
	}
	return nil
}
