// Package secretexec owns what exec adds to a sync: it records in a private
// manifest, before the first file is written, every file a run will write,
// every folder and .gitignore it will create and every file it moves aside;
// it undoes all of that afterwards (restoring moved files byte for byte,
// with their mode), also for a run that was killed (clean, and the next
// exec or sync in the tree); it runs the command with its output redacted,
// its signals forwarded and its exit status kept; and it sweeps secrets
// files git does not track.
//
// It never reads Secret Manager or decides which secret goes where (that is
// secretsync, labels and writer), never writes a secret file itself, and
// never logs or stores a secret value: a manifest holds paths only.
package secretexec

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/airbytehq/ci-secrets/writer"
)

// StateDir is the folder under the monorepo root holding the manifests.
const StateDir = ".ci-secrets"

const (
	lockName       = "lock"
	manifestPrefix = "exec-"
	manifestSuffix = ".json"
	pendingPrefix  = "pending-"           // a manifest being written, not yet published
	savedPrefix    = ".ci-secrets-saved-" // moved-aside files, next to the original
	stateGitignore = "*\n"
)

// errEmptyManifest: a manifest with no content at all; openManifest still
// tells whether its run is dead.
var errEmptyManifest = errors.New("manifest is empty")

// ErrInUse: a live exec in the same tree will write one of the same files.
var ErrInUse = errors.New("another exec that is still running uses the same secrets files")

// Manifest is what one exec run will write and change. It holds paths only.
type Manifest struct {
	Version    int       `json:"version"`
	RunID      string    `json:"run_id"`
	PID        int       `json:"pid"`
	Started    time.Time `json:"started"`
	Connectors []string  `json:"connectors"`
	// Files the run writes; Saved, when set, is where the file that was
	// there before was moved, to be put back.
	Files []FileEntry `json:"files"`
	// Gitignores the writer will create (the folder had none).
	Gitignores []string `json:"gitignores"`
	// Dirs the run will create, parents first.
	Dirs []string `json:"dirs"`
	// Modes of existing secrets folders the writer narrows to 0700.
	DirModes []DirMode `json:"dir_modes"`
}

// FileEntry is one secrets file of a run.
type FileEntry struct {
	Path  string `json:"path"`
	Saved string `json:"saved,omitempty"`
}

// DirMode is a folder's permission bits before the run.
type DirMode struct {
	Path string      `json:"path"`
	Mode fs.FileMode `json:"mode"`
}

// Undone is what undoing a run (or several) did.
type Undone struct {
	Runs     int      `json:"runs"`
	Removed  []string `json:"removed"`
	Restored []string `json:"restored"`
	// Kept are folders (and their .gitignore) left because something not
	// written by the run is in them, such as updated_configurations/.
	Kept []string `json:"kept"`
	// Live are manifests of runs still going, left alone.
	Live []string `json:"live"`
}

func (u *Undone) add(o Undone) {
	u.Runs += o.Runs
	u.Removed = append(u.Removed, o.Removed...)
	u.Restored = append(u.Restored, o.Restored...)
	u.Kept = append(u.Kept, o.Kept...)
	u.Live = append(u.Live, o.Live...)
}

// state is the .ci-secrets folder of one tree.
type state struct{ dir string }

func stateOf(root string) (state, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return state{}, fmt.Errorf("cannot resolve --root %s: %w", root, err)
	}
	return state{dir: filepath.Join(abs, StateDir)}, nil
}

// ensure creates the state folder (0700, git-ignored) when missing.
func (s state) ensure() error {
	fi, err := os.Lstat(s.dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.Mkdir(s.dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("cannot create %s for exec's manifests: %w; check that you may write to --root", s.dir, err)
		}
	case err != nil:
		return fmt.Errorf("cannot inspect %s: %w", s.dir, err)
	case !fi.IsDir():
		return fmt.Errorf("%s is %s, not a folder; move it away so exec can keep its manifests there", s.dir, writer.DescribeMode(fi.Mode()))
	}
	gi := filepath.Join(s.dir, ".gitignore")
	if _, err := os.Lstat(gi); errors.Is(err, fs.ErrNotExist) {
		if err := os.WriteFile(gi, []byte(stateGitignore), 0o600); err != nil {
			return fmt.Errorf("cannot write %s: %w", gi, err)
		}
	}
	return nil
}

// lock takes the tree's lock, which serialises starting and undoing runs.
// The lock file may be removed by a run tidying up meanwhile; the lock is
// only had once it is taken on the file that is at the path.
func (s state) lock(ctx context.Context) (*os.File, error) {
	path := filepath.Join(s.dir, lockName)
	for range 10 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := s.ensure(); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if errors.Is(err, fs.ErrNotExist) {
			continue // the folder was tidied away meanwhile
		} else if err != nil {
			return nil, fmt.Errorf("cannot open %s: %w", path, err)
		}
		if err := writer.LockHeld(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("cannot lock %s: %w", path, err)
		}
		held, err1 := f.Stat()
		named, err2 := os.Lstat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, named) {
			return f, nil
		}
		f.Close()
	}
	return nil, fmt.Errorf("cannot keep a lock file in %s: something keeps removing it", s.dir)
}

// tidy removes the state folder when no manifest is left in it. The caller
// holds the tree lock (f), which goes with it.
func (s state) tidy(lock *os.File) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if n := e.Name(); n != lockName && n != ".gitignore" {
			return
		}
	}
	_ = os.Remove(filepath.Join(s.dir, ".gitignore"))
	_ = os.Remove(filepath.Join(s.dir, lockName))
	_ = os.Remove(s.dir)
	_ = lock // closed by the caller after this, so waiters see the file gone
}

// manifests lists the manifest files of the tree.
func (s state) manifests() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("cannot list %s: %w", s.dir, err)
	}
	var out []string
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && strings.HasPrefix(n, manifestPrefix) && strings.HasSuffix(n, manifestSuffix) {
			out = append(out, filepath.Join(s.dir, n))
		}
	}
	sort.Strings(out)
	return out, nil
}

// removePending removes manifests that were never published. Begin holds
// the tree lock from creating one to publishing it, so one seen by another
// holder of the lock belongs to a run that died before writing anything.
func (s state) removePending(ctx context.Context) error {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("cannot list %s: %w", s.dir, err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), pendingPrefix) {
			continue
		}
		path := filepath.Join(s.dir, e.Name())
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cannot remove %s, the unfinished manifest of a run killed before it wrote anything: %w; delete it by hand", path, err)
		}
		zerolog.Ctx(ctx).Debug().Str("path", path).Msg("removed the unfinished manifest of a run killed before it wrote anything")
	}
	return nil
}

// syncDir makes a rename in dir durable where the system can (Windows
// cannot sync a folder; the rename is still atomic there).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// openManifest opens a manifest and tells whether its run is dead (its lock
// is then held by f).
func openManifest(path string) (f *os.File, m *Manifest, dead bool, err error) {
	f, err = os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, false, err
	}
	dead, err = writer.TryLockAbandoned(f)
	if err != nil {
		f.Close()
		return nil, nil, false, fmt.Errorf("cannot lock manifest %s: %w", path, err)
	}
	if fi, err := f.Stat(); err == nil && fi.Size() == 0 {
		f.Close()
		return nil, nil, dead, fmt.Errorf("%s: %w", path, errEmptyManifest)
	}
	m = &Manifest{}
	if err := json.NewDecoder(f).Decode(m); err != nil {
		f.Close()
		return nil, nil, dead, fmt.Errorf("manifest %s cannot be read (%v); a run killed while writing it wrote no file yet, so delete it", path, err)
	}
	if m.Version != 1 {
		f.Close()
		return nil, nil, dead, fmt.Errorf("manifest %s has version %d, which this ci-secrets does not know; use the ci-secrets that wrote it", path, m.Version)
	}
	return f, m, dead, nil
}

// write replaces the manifest's content in place and syncs it, so it is
// on disk before the files it announces.
func (m *Manifest) write(f *os.File) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	// Written over the old content first and cut to length after: a run
	// killed in between leaves the new document followed by old bytes,
	// which the decoder never reads, instead of an empty manifest that has
	// lost the files already written.
	data = append(data, '\n')
	if _, err := f.WriteAt(data, 0); err != nil {
		return fmt.Errorf("cannot write manifest %s: %w", f.Name(), err)
	}
	if err := f.Truncate(int64(len(data))); err != nil {
		return fmt.Errorf("cannot write manifest %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("cannot sync manifest %s: %w", f.Name(), err)
	}
	return nil
}

func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// undo puts the tree back as the manifest says it was: each file written
// is removed, or replaced by the file moved aside; folders and .gitignore
// files created are removed when nothing else is in them; folder modes are
// restored. Missing files are fine (the run may have died before writing
// them). Errors are collected, so one stuck file does not keep the others.
func (m *Manifest) undo(ctx context.Context) (Undone, error) {
	log := zerolog.Ctx(ctx)
	u := Undone{Runs: 1}
	var errs []error
	// A run killed while writing leaves the writer's temporary files; only
	// those no live process holds are removed.
	swept := map[string]bool{}
	for _, f := range m.Files {
		if dir := filepath.Dir(f.Path); !swept[dir] {
			swept[dir] = true
			removed, err := writer.CleanStaleTemps(dir)
			u.Removed = append(u.Removed, removed...)
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, f := range m.Files {
		if f.Saved != "" {
			if _, err := os.Lstat(f.Saved); err == nil {
				if err := os.Rename(f.Saved, f.Path); err != nil {
					errs = append(errs, fmt.Errorf("cannot put %s back from %s: %w; move it back by hand", f.Path, f.Saved, err))
					continue
				}
				u.Restored = append(u.Restored, f.Path)
				continue
			}
			// Never moved: the file at Path is the one from before.
			continue
		}
		fi, err := os.Lstat(f.Path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			errs = append(errs, fmt.Errorf("cannot inspect %s: %w", f.Path, err))
		case !fi.Mode().IsRegular():
			// Not what the writer makes: leave it for a person to look at.
			log.Warn().Str("path", f.Path).Msg("not removed: it is not a regular file, so ci-secrets did not write it")
		default:
			if err := os.Remove(f.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("cannot remove %s: %w; delete it by hand, it holds a secret", f.Path, err))
				continue
			}
			u.Removed = append(u.Removed, f.Path)
		}
	}
	for _, gi := range m.Gitignores {
		dir := filepath.Dir(gi)
		data, err := os.ReadFile(gi)
		if err != nil || string(data) != writer.Gitignore {
			continue // gone, or not ours
		}
		if others := m.otherEntries(dir); len(others) > 0 {
			// Whatever stays behind (a test's updated_configurations) is
			// still kept out of git.
			u.Kept = append(u.Kept, dir)
			log.Warn().Str("path", dir).Strs("left", others).Msg("kept this secrets folder and its .gitignore: it holds files exec did not write; remove them, or run `ci-secrets clean --untracked-secrets`")
			continue
		}
		if err := os.Remove(gi); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("cannot remove %s: %w", gi, err))
		}
	}
	for i := len(m.Dirs) - 1; i >= 0; i-- {
		d := m.Dirs[i]
		if err := os.Remove(d); err == nil {
			u.Removed = append(u.Removed, d)
		} else if !errors.Is(err, fs.ErrNotExist) && !isNotEmpty(err) {
			errs = append(errs, fmt.Errorf("cannot remove folder %s: %w", d, err))
		}
	}
	for _, dm := range m.DirModes {
		fi, err := os.Lstat(dm.Path)
		if err != nil || !fi.IsDir() || fi.Mode().Perm() == dm.Mode.Perm() {
			continue
		}
		if err := os.Chmod(dm.Path, dm.Mode.Perm()); err != nil {
			errs = append(errs, fmt.Errorf("cannot restore the mode of %s to %#o: %w", dm.Path, dm.Mode.Perm(), err))
		}
	}
	return u, errors.Join(errs...)
}

// otherEntries lists what is in dir besides its .gitignore and the files
// that were there before the run (put back).
func (m *Manifest) otherEntries(dir string) []string {
	before := map[string]bool{}
	for _, f := range m.Files {
		if f.Saved != "" && filepath.Dir(f.Path) == dir {
			before[filepath.Base(f.Path)] = true
		}
	}
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		if e.Name() != ".gitignore" && !before[e.Name()] {
			out = append(out, e.Name())
		}
	}
	return out
}

func isNotEmpty(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && (errors.Is(pe.Err, errNotEmpty) || errors.Is(pe.Err, errExist))
}
