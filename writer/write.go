package writer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"github.com/airbytehq/ci-secrets/labels"
)

// Temporary files are named ".ci-secrets-<file>.<16 hex>.tmp" so that
// CleanStaleTemps can recognise exactly ours and nothing else.
const tempPrefix = ".ci-secrets-"

var tempPattern = regexp.MustCompile(`^\.ci-secrets-(?:[a-z0-9_-]{1,63}\.json|\.gitignore)\.[0-9a-f]{16}\.tmp$`)

func tempName(file string) string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	return tempPrefix + file + "." + hex.EncodeToString(b[:]) + ".tmp"
}

// stage names a point of writeFile where tests may inject a failure.
type stage string

const (
	stageTemp   stage = "temp"   // the temporary file exists, nothing written yet
	stageRename stage = "rename" // the temporary file is complete and synced
)

// WriteSecret writes data to dir/file whole, or not at all, and returns the
// path written. file must be a plain "<name>.json" (the rules of
// labels.StemOf). Missing folders are created, the last (dir) with mode 0700;
// an existing dir loses any group and other permission bits (0755 becomes
// 0700; a read-only 0555 becomes 0500 and the write fails). dir must not be a
// symlink; its parents are taken as they are (use Layout.Write to have every
// folder below the monorepo root checked too). The target must be absent or a
// regular file; it ends with mode 0600 even if it was wider. The folder
// receives a .gitignore holding "*" when it has none.
//
// The data goes to a temporary file in dir (created 0600, exclusive), is
// synced, and renamed over the target; the folder is then synced. On any error
// or cancellation the temporary file is removed.
func WriteSecret(ctx context.Context, dir, file string, data []byte) (string, error) {
	return writeFile(ctx, filepath.Dir(filepath.Clean(dir)), dir, file, data, nil)
}

// writeFile is WriteSecret with every folder from base (exclusive) to dir
// checked, and a hook tests use to fail at a given stage.
func writeFile(ctx context.Context, base, dir, file string, data []byte, hook func(stage) error) (path string, err error) {
	if err := checkFileName(file); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%s was not written: %w", filepath.Join(dir, file), err)
	}
	root, err := openSecretsDir(base, dir)
	if err != nil {
		return "", err
	}
	defer root.Close()
	dir = filepath.Clean(dir)
	target := filepath.Join(dir, file)

	if err := ensureGitignore(root, dir); err != nil {
		return "", err
	}
	if err := checkTarget(root, file, target); err != nil {
		return "", err
	}

	f, tmp, err := createTemp(root, dir, file, FileMode)
	if err != nil {
		return "", err
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			root.Remove(tmp)
		}
	}()
	fail := func(what string, err error) (string, error) {
		if ctx.Err() != nil {
			return "", fmt.Errorf("%s was not written: %w", target, ctx.Err())
		}
		return "", ioError(what, target, err)
	}
	// The umask may have narrowed the creation mode; make it exactly 0600.
	if err := f.Chmod(FileMode); err != nil {
		return fail("cannot set the mode of", err)
	}
	if hook != nil {
		if err := hook(stageTemp); err != nil {
			return fail("cannot write", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fail("", err)
	}
	if _, err := f.Write(data); err != nil {
		return fail("cannot write", err)
	}
	if err := f.Sync(); err != nil {
		return fail("cannot sync", err)
	}
	// f stays open (and locked) until the rename: closing it would drop the
	// lock that tells a concurrent run's clean-up this file is in use. The
	// data is synced, so a close error afterwards cannot lose it.
	if hook != nil {
		if err := hook(stageRename); err != nil {
			return fail("cannot write", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fail("", err)
	}
	if err := root.Rename(tmp, file); err != nil {
		if fi, lerr := root.Lstat(file); lerr == nil && !fi.Mode().IsRegular() {
			return "", targetError(target, fi.Mode())
		}
		return fail("cannot put in place", err)
	}
	_ = f.Close()
	done = true
	// The folder is not synced: a crash of the machine before the kernel
	// writes it back can lose the rename (the target is then absent or its
	// previous version), never leave a partial file, and a CI job does not
	// outlive its machine. Syncing it cost a second journal commit per file.
	return target, nil
}

// checkFileName allows only a plain "<token>.json": no separators, no dots
// other than the extension, no control characters.
func checkFileName(file string) error {
	if _, err := labels.StemOf(file); err != nil {
		return fmt.Errorf("refusing to write secret file %q; %w: %w", file, ErrBadFileName, err)
	}
	// Defence in depth: StemOf's charset already excludes all of these.
	if filepath.Base(file) != file || strings.ContainsAny(file, "/\\\x00") || strings.Count(file, ".") != 1 {
		return fmt.Errorf("refusing to write secret file %q; %w", file, ErrBadFileName)
	}
	return nil
}

// openSecretsDir makes sure dir is a real folder reached from base through
// real folders, creating what is missing (dir itself 0700, others 0755),
// narrows dir to at most 0700, and returns it opened as an os.Root, verified to be the
// very folder that was checked (no link swapped in meanwhile). base is the
// user's choice and is created and followed as it is.
func openSecretsDir(base, dir string) (*os.Root, error) {
	base, dir = filepath.Clean(base), filepath.Clean(dir)
	rel, err := filepath.Rel(base, dir)
	if err != nil || escapes(rel) {
		return nil, fmt.Errorf("secrets folder %s is not inside %s; this is a bug in ci-secrets", dir, base)
	}
	if err := os.MkdirAll(base, parentDirMode); err != nil {
		return nil, ioError("cannot create folder", base, err)
	}
	created := false
	if rel != "." {
		cur := base
		parts := strings.Split(rel, string(filepath.Separator))
		for i, p := range parts {
			cur = filepath.Join(cur, p)
			last := i == len(parts)-1
			mode := parentDirMode
			if last {
				mode = DirMode
			}
			// Look before making: on a busy disk a mkdir that finds the
			// folder costs ten times a stat, and most folders exist.
			var err error
			if _, lerr := os.Lstat(cur); errors.Is(lerr, fs.ErrNotExist) {
				err = os.Mkdir(cur, mode)
				if err != nil && !errors.Is(err, fs.ErrExist) {
					return nil, ioError("cannot create folder", cur, err)
				}
				created = last && err == nil
			}
			if _, err := checkFolder(cur, last); err != nil {
				return nil, err
			}
		}
	}
	fi, err := checkFolder(dir, true)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, ioError("cannot open secrets folder", dir, err)
	}
	rfi, err := root.Stat(".")
	if err != nil || !os.SameFile(fi, rfi) {
		root.Close()
		return nil, fmt.Errorf("secrets folder %s was replaced while ci-secrets was opening it; %w: make it a real folder and run again", dir, ErrSymlink)
	}
	// A folder we made gets exactly 0700 whatever the umask; an existing one
	// loses its group and other bits but keeps its owner's (a read-only
	// folder stays read-only).
	want := fi.Mode().Perm() & DirMode
	if created {
		want = DirMode
	}
	if fi.Mode().Perm() != want {
		if err := root.Chmod(".", want); err != nil {
			root.Close()
			return nil, ioError("cannot restrict the mode of secrets folder", dir, err)
		}
	}
	return root, nil
}

// checkFolder refuses a link or a non-folder at path.
func checkFolder(path string, secrets bool) (fs.FileInfo, error) {
	what := "folder"
	if secrets {
		what = "secrets folder"
	}
	fi, err := os.Lstat(path)
	switch {
	case err != nil:
		return nil, ioError("cannot inspect "+what, path, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, fmt.Errorf("%s %s is a symlink; %w: replace it with a real folder", what, path, ErrSymlink)
	case !fi.IsDir():
		return nil, fmt.Errorf("%s %s exists but is %s; %w: move it away and run again", what, path, DescribeMode(fi.Mode()), ErrNotDir)
	}
	return fi, nil
}

// checkTarget allows an absent target or a regular file.
func checkTarget(root *os.Root, file, target string) error {
	fi, err := root.Lstat(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return ioError("cannot inspect", target, err)
	case !fi.Mode().IsRegular():
		return targetError(target, fi.Mode())
	}
	return nil
}

func targetError(target string, m fs.FileMode) error {
	if m&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s is a symlink; %w: delete the link and run again", target, ErrSymlink)
	}
	return fmt.Errorf("%s exists but is %s; %w: move it away and run again", target, DescribeMode(m), ErrNotRegular)
}

// ensureGitignore writes a .gitignore holding "*" unless the folder has one
// (of any kind: an existing entry is never touched). The new file is linked
// into place, so one that appears meanwhile is not overwritten.
func ensureGitignore(root *os.Root, dir string) error {
	const name = ".gitignore"
	path := filepath.Join(dir, name)
	if _, err := root.Lstat(name); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return ioError("cannot inspect", path, err)
	}
	f, tmp, err := createTemp(root, dir, name, gitignoreMode)
	if err != nil {
		return err
	}
	// Removed and closed last: the open file holds the lock that keeps a
	// concurrent run's clean-up away until it is linked in place.
	defer f.Close()
	defer root.Remove(tmp)
	// Not synced on its own: the secret written next in this folder syncs
	// the folder, and on a crash before that the file is simply absent.
	if _, err := f.WriteString(Gitignore); err != nil {
		return ioError("cannot write", path, err)
	}
	if err := root.Link(tmp, name); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		// A file system without hard links: replace instead.
		if err := root.Rename(tmp, name); err != nil {
			return ioError("cannot put in place", path, err)
		}
	}
	return nil
}

// ioError words a file-system error as a sentence naming path, with a hint
// for the usual cause.
func ioError(what, path string, err error) error {
	hint := ""
	switch {
	case errors.Is(err, fs.ErrPermission):
		hint = ": check that you may write there (owner and mode of the folder)"
	case errors.Is(err, syscall.ENOSPC):
		hint = ": the disk is full"
	case errors.Is(err, syscall.EROFS):
		hint = ": the file system is read-only"
	}
	if what == "" {
		return fmt.Errorf("%s was not written: %w%s", path, err, hint)
	}
	return fmt.Errorf("%s %s: %w%s", what, path, err, hint)
}

func isNotDir(err error) bool { return errors.Is(err, syscall.ENOTDIR) }

// CleanStaleTemps removes the temporary files an earlier, killed run left in
// dir: regular files named like ours (".ci-secrets-<file>.<hex>.tmp"), and
// nothing else. A missing dir has nothing to clean. It returns the paths
// removed. Do not call it while another ci-secrets run writes into dir.
func CleanStaleTemps(dir string) (removed []string, err error) {
	dir = filepath.Clean(dir)
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, ioError("cannot inspect secrets folder", dir, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, fmt.Errorf("secrets folder %s is a symlink; %w: replace it with a real folder", dir, ErrSymlink)
	case !fi.IsDir():
		return nil, fmt.Errorf("secrets folder %s exists but is %s; %w: move it away and run again", dir, DescribeMode(fi.Mode()), ErrNotDir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, ioError("cannot open secrets folder", dir, err)
	}
	defer root.Close()
	d, err := root.Open(".")
	if err != nil {
		return nil, ioError("cannot list secrets folder", dir, err)
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return nil, ioError("cannot list secrets folder", dir, err)
	}
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || !tempPattern.MatchString(e.Name()) {
			continue
		}
		gone, err := removeIfStale(root, e.Name())
		if err != nil {
			errs = append(errs, ioError("cannot remove stale temporary file", filepath.Join(dir, e.Name()), err))
			continue
		}
		if gone {
			removed = append(removed, filepath.Join(dir, e.Name()))
		}
	}
	return removed, errors.Join(errs...)
}

// removeIfStale removes a temporary file unless a live run (another sync in
// the same folder) is still writing it, which its lock tells.
func removeIfStale(root *os.Root, name string) (bool, error) {
	f, err := root.OpenFile(name, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	defer f.Close()
	stale, err := tryLockStale(f)
	if err != nil || !stale {
		return false, err
	}
	if err := root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	return true, nil
}

// createTemp creates and locks a new temporary file for file in root. A
// concurrent run's clean-up may remove it between the creation and the lock
// (it saw no lock yet); that is noticed once the lock is held, and a new one
// is made. Each clean-up pass can take one attempt at most, so the bound is
// generous: on a loaded machine several runs cleaning one folder can win a
// few races in a row, while only a process that removes every file it sees
// exhausts it.
func createTemp(root *os.Root, dir, file string, mode fs.FileMode) (*os.File, string, error) {
	for range 64 {
		tmp := tempName(file)
		f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return nil, "", ioError("cannot create a temporary file in", dir, err)
		}
		if err := lockTemp(f); err != nil {
			f.Close()
			root.Remove(tmp)
			return nil, "", ioError("cannot lock a temporary file in", dir, err)
		}
		opened, err1 := f.Stat()
		named, err2 := root.Lstat(tmp)
		if err1 == nil && err2 == nil && os.SameFile(opened, named) {
			return f, tmp, nil
		}
		f.Close()
	}
	return nil, "", fmt.Errorf("cannot keep a temporary file in %s: another process keeps removing it; make sure only ci-secrets writes there", dir)
}
