package secretexec

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/rs/zerolog"
)

// Session is one exec run's hold on a tree: its manifest, locked for as
// long as the run lives.
type Session struct {
	st       state
	path     string // the manifest, once published
	f        *os.File
	m        *Manifest
	finished bool
}

// Plan is what a run is about to write.
type Plan struct {
	Root       string   // the monorepo root (--root): where the manifest goes
	Connectors []string // for the manifest and clean's filter
	Files      []string // every file the sync will write
}

// Begin prepares a tree for a run: it finishes the clean-up of dead runs,
// refuses files a live run uses (ErrInUse), records the plan in a new
// manifest (synced before anything else changes), and moves each existing
// file of the plan aside. On error nothing is left changed.
func Begin(ctx context.Context, p Plan, now time.Time) (*Session, Undone, error) {
	st, err := stateOf(p.Root)
	if err != nil {
		return nil, Undone{}, err
	}
	lock, err := st.lock(ctx)
	if err != nil {
		return nil, Undone{}, err
	}
	defer lock.Close()
	undone, live, err := st.recover(ctx, nil)
	if err != nil {
		return nil, undone, err
	}
	m := &Manifest{Version: 1, RunID: newRunID(), PID: os.Getpid(), Started: now.UTC(), Connectors: p.Connectors,
		Files: []FileEntry{}, Gitignores: []string{}, Dirs: []string{}, DirModes: []DirMode{}}
	var moves []FileEntry
	seenDir := map[string]bool{}
	for _, file := range p.Files {
		abs, err := filepath.Abs(file)
		if err != nil {
			return nil, undone, fmt.Errorf("cannot resolve %s: %w", file, err)
		}
		for _, l := range live {
			if slices.ContainsFunc(l.Files, func(f FileEntry) bool { return f.Path == abs }) {
				return nil, undone, fmt.Errorf("%s: %w (pid %d, since %s); wait for it to finish, or give this run its own --root", abs, ErrInUse, l.PID, l.Started.Format(time.RFC3339))
			}
		}
		e := FileEntry{Path: abs}
		if fi, err := os.Lstat(abs); err == nil && fi.Mode().IsRegular() {
			// Not ending in .json: a test listing secrets/*.json must not read it.
			e.Saved = filepath.Join(filepath.Dir(abs), savedPrefix+m.RunID+"-"+filepath.Base(abs)+".saved")
			moves = append(moves, e)
		}
		m.Files = append(m.Files, e)
		dir := filepath.Dir(abs)
		if !seenDir[dir] {
			seenDir[dir] = true
			if err := m.planDir(dir); err != nil {
				return nil, undone, err
			}
		}
	}
	// The manifest is written and locked under a name recover does not read
	// as a manifest, and published by a rename only when complete: a run
	// killed before that leaves a pending file the next holder of the tree
	// lock removes (nothing was written yet), never a manifest that is empty.
	path := filepath.Join(st.dir, manifestPrefix+m.RunID+manifestSuffix)
	pending := filepath.Join(st.dir, pendingPrefix+m.RunID)
	f, err := os.OpenFile(pending, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, undone, fmt.Errorf("cannot create manifest %s: %w", pending, err)
	}
	s := &Session{st: st, path: path, f: f, m: m}
	published := false
	fail := func(err error) (*Session, Undone, error) {
		if published {
			_, _ = m.undo(ctx)
		}
		f.Close()
		os.Remove(pending)
		os.Remove(path)
		st.tidy(lock)
		return nil, undone, err
	}
	if err := writerLock(f); err != nil {
		return fail(err)
	}
	if err := m.write(f); err != nil {
		return fail(err)
	}
	if err := os.Rename(pending, path); err != nil {
		return fail(fmt.Errorf("cannot publish manifest %s: %w", path, err))
	}
	published = true
	syncDir(st.dir)
	for _, e := range moves {
		if err := os.Rename(e.Path, e.Saved); err != nil {
			return fail(fmt.Errorf("cannot move %s aside before the run: %w", e.Path, err))
		}
		zerolog.Ctx(ctx).Debug().Str("path", e.Path).Str("saved", e.Saved).Msg("moved an existing file aside; it is put back after the command")
	}
	return s, undone, nil
}

// planDir records what the writer will create for dir: the folders on the
// way that do not exist yet, and dir's .gitignore; or the mode of an
// existing dir, which the writer narrows to 0700.
func (m *Manifest) planDir(dir string) error {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Lstat(d)
		if err == nil {
			if d == dir && fi.IsDir() && fi.Mode().Perm()&^0o700 != 0 {
				m.DirModes = append(m.DirModes, DirMode{Path: dir, Mode: fi.Mode().Perm()})
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cannot inspect %s: %w", d, err)
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if !slices.Contains(m.Dirs, missing[i]) {
			m.Dirs = append(m.Dirs, missing[i])
		}
	}
	gi := filepath.Join(dir, ".gitignore")
	if _, err := os.Lstat(gi); errors.Is(err, fs.ErrNotExist) {
		m.Gitignores = append(m.Gitignores, gi)
	}
	return nil
}

// Track adds files the sync wrote that the plan did not name (a secret
// labelled between the plan and the sync), so they are removed too.
func (s *Session) Track(files []string) error {
	changed := false
	for _, file := range files {
		abs, err := filepath.Abs(file)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(s.m.Files, func(f FileEntry) bool { return f.Path == abs }) {
			s.m.Files = append(s.m.Files, FileEntry{Path: abs})
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return s.m.write(s.f)
}

// RunID names the run (and its manifest).
func (s *Session) RunID() string { return s.m.RunID }

// ManifestPath is where the manifest is.
func (s *Session) ManifestPath() string { return s.path }

// Finish undoes the run and deletes its manifest. It is safe to call twice.
// The manifest stays (for clean) when anything could not be undone.
func (s *Session) Finish(ctx context.Context) (Undone, error) {
	if s.finished {
		return Undone{}, nil
	}
	s.finished = true
	lock, lerr := s.st.lock(context.WithoutCancel(ctx))
	u, err := s.m.undo(ctx)
	if err == nil {
		os.Remove(s.path)
	}
	s.f.Close()
	if lerr == nil {
		if err == nil {
			s.st.tidy(lock)
		}
		lock.Close()
	}
	if err != nil {
		return u, fmt.Errorf("%w; the manifest %s stays, so `ci-secrets clean` can try again", err, s.path)
	}
	return u, nil
}

// recover undoes every dead run whose manifest matches keep (nil: all) and
// returns the live runs' manifests. The caller holds the tree lock.
func (st state) recover(ctx context.Context, keep func(*Manifest) bool) (Undone, []*Manifest, error) {
	log := zerolog.Ctx(ctx)
	if err := st.removePending(ctx); err != nil {
		return Undone{}, nil, err
	}
	paths, err := st.manifests()
	if err != nil {
		return Undone{}, nil, err
	}
	var total Undone
	var live []*Manifest
	var errs []error
	for _, path := range paths {
		f, m, dead, err := openManifest(path)
		if errors.Is(err, errEmptyManifest) {
			// Left by an older ci-secrets killed between creating the
			// manifest and its first write, before any file was written
			// (or, when still locked, one rewriting it: it truncated
			// first). Creating one takes the tree lock, which the caller
			// holds, so it is removed after its own lock is let go.
			if dead {
				os.Remove(path)
				log.Info().Str("path", path).Msg("removed the empty manifest of an exec run killed before it wrote anything")
			} else {
				total.Live = append(total.Live, path)
			}
			continue
		}
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			errs = append(errs, err)
			continue
		}
		if !dead {
			live = append(live, m)
			total.Live = append(total.Live, path)
			f.Close()
			continue
		}
		if keep != nil && !keep(m) {
			f.Close()
			continue
		}
		u, err := m.undo(ctx)
		total.add(u)
		if err != nil {
			errs = append(errs, fmt.Errorf("clean-up of the run of pid %d: %w", m.PID, err))
			f.Close()
			continue
		}
		os.Remove(path)
		f.Close()
		log.Info().Str("path", path).Int("pid", m.PID).Int("removed", len(u.Removed)).Int("restored", len(u.Restored)).
			Msg("finished the clean-up of an exec run that did not end (killed or cancelled)")
	}
	return total, live, errors.Join(errs...)
}

// Recover finishes the clean-up of every dead exec run in the tree at root
// (sync calls it before writing). A tree without manifests costs a stat.
func Recover(ctx context.Context, root string) (Undone, error) {
	return Clean(ctx, root, nil)
}

// Clean undoes the dead runs at root that wrote for any of connectors (nil:
// every dead run); runs still alive are listed in Live and left alone.
func Clean(ctx context.Context, root string, connectors []string) (Undone, error) {
	st, err := stateOf(root)
	if err != nil {
		return Undone{}, err
	}
	if _, err := os.Lstat(st.dir); errors.Is(err, fs.ErrNotExist) {
		return Undone{}, nil
	}
	lock, err := st.lock(ctx)
	if err != nil {
		return Undone{}, err
	}
	defer lock.Close()
	var keep func(*Manifest) bool
	if connectors != nil {
		keep = func(m *Manifest) bool {
			return slices.ContainsFunc(m.Connectors, func(c string) bool { return slices.Contains(connectors, c) })
		}
	}
	u, _, err := st.recover(ctx, keep)
	if err == nil {
		st.tidy(lock)
	}
	return u, err
}
