//go:build linux

// Package swaptest races a program that writes into a folder tree: it swaps
// folders of the tree for symlinks (to decoys outside the tree, or to
// another connector's folder inside it) and back, atomically and over and
// over, and tells where a write that followed a link would have landed.
// Tests of package writer and end-to-end tests of the command use it.
package swaptest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Swapper replaces folders of a tree with symlinks and back, over and
// over, while the test writes: the race where a folder checked as real
// becomes a link before the open.
type Swapper struct {
	swaps []Swap
	pause chan chan struct{}
	stop  chan struct{}
	done  chan struct{}
	Flips int // swaps made so far (read it after Close)
}

// Swap is one folder and the link targets it is swapped for in turn.
type Swap struct {
	Path    string
	Targets []string
}

// Start swaps the folders of swaps, one after the other, until Close (also
// called at the end of the test).
func Start(t testing.TB, swaps []Swap) *Swapper {
	s := &Swapper{swaps: swaps, pause: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
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
			link := sw.Path + ".link"
			if err := os.Symlink(sw.Targets[(i/len(s.swaps))%len(sw.Targets)], link); err != nil {
				t.Errorf("swapper: %v", err)
				return
			}
			if err := exchange(sw.Path, link); err != nil {
				t.Errorf("swapper: %v", err)
				return
			}
			s.Flips++
			// The link stays a moment, as long as a run's look-then-open
			// takes, so that a writer that follows it would be caught.
			time.Sleep(time.Duration(i%4) * 20 * time.Microsecond)
			if err := exchange(sw.Path, link); err != nil {
				t.Errorf("swapper: %v", err)
				return
			}
			if err := os.Remove(link); err != nil {
				t.Errorf("swapper: %v", err)
				return
			}
			// Real again for a moment too, so runs also get through: a
			// test that only ever sees refusals shows nothing.
			time.Sleep(time.Duration(i%3) * 100 * time.Microsecond)
		}
	}()
	t.Cleanup(s.Close)
	return s
}

// Hold stops the swapping with every folder real again; the returned
// function resumes it.
func (s *Swapper) Hold() func() {
	resume := make(chan struct{})
	select {
	case s.pause <- resume:
		return func() { close(resume) }
	case <-s.done:
		return func() {}
	}
}

// Close stops the swapping for good, every folder real again.
func (s *Swapper) Close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

// Tree is a monorepo root with connectors source-x (the one written) and
// source-y (a link target inside the tree), and decoys outside the tree
// shaped so that a followed link would land a file there.
type Tree struct {
	Root, Outside, XSecrets, YSecrets string
	// Swaps are the folders on the way to source-x's secrets folder
	// (connectors/, source-x/, secrets/) and their link targets.
	Swaps []Swap
}

// YContent is what source-y's config.json holds; nothing may change it.
const YContent = `{"y": "source-y's own"}`

// NewTree makes a Tree in a temporary folder of t.
func NewTree(t testing.TB) Tree {
	tmp := t.TempDir()
	st := Tree{Root: filepath.Join(tmp, "root"), Outside: filepath.Join(tmp, "outside")}
	conns := filepath.Join(st.Root, "airbyte-integrations", "connectors")
	st.XSecrets = filepath.Join(conns, "source-x", "secrets")
	st.YSecrets = filepath.Join(conns, "source-y", "secrets")
	for _, d := range []string{st.XSecrets, st.YSecrets, filepath.Join(st.Outside, "connectors", "source-x", "secrets"),
		filepath.Join(st.Outside, "source-x", "secrets"), filepath.Join(st.Outside, "secrets")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(st.YSecrets, "config.json"), []byte(YContent), 0o600); err != nil {
		t.Fatal(err)
	}
	st.Swaps = []Swap{
		{filepath.Join(conns, "source-x"), []string{filepath.Join(st.Outside, "source-x"), "source-y"}},
		{filepath.Join(st.Root, "airbyte-integrations", "connectors"), []string{filepath.Join(st.Outside, "connectors")}},
		{st.XSecrets, []string{filepath.Join(st.Outside, "secrets"), "../source-y/secrets"}},
	}
	return st
}

// Escapes lists every file outside the tree, and any change to source-y's
// folder: where a write through a link would have landed.
func (st Tree) Escapes() []string {
	var out []string
	_ = filepath.WalkDir(st.Outside, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	if b, err := os.ReadFile(filepath.Join(st.YSecrets, "config.json")); err != nil || string(b) != YContent {
		out = append(out, filepath.Join(st.YSecrets, "config.json"))
	}
	if es, _ := os.ReadDir(st.YSecrets); len(es) != 1 {
		out = append(out, fmt.Sprintf("%s holds %d entries", st.YSecrets, len(es)))
	}
	return out
}

func exchange(a, b string) error {
	if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
		return fmt.Errorf("exchange %s and %s: %w", a, b, err)
	}
	return nil
}
