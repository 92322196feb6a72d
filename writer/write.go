package writer

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
// path and what happened to it: Wrote (new), Replaced (the file held other
// bytes) or Unchanged (it already held data: not rewritten, only its mode
// narrowed to 0600). file must be a plain "<name>.json" (the rules of
// labels.StemOf). Missing folders are created, the last (dir) with mode 0700;
// an existing dir loses any group and other permission bits (0755 becomes
// 0700; a read-only 0555 becomes 0500 and the write fails). dir must not be a
// symlink; its parents are taken as they are (use Layout.Write to have every
// folder below the monorepo root checked too). The target must be absent or a
// regular file; it ends with mode 0600 even if it was wider. The folder
// receives a .gitignore holding "*" when it has none; an existing one that is
// not a regular file (git does not read a symlinked .gitignore) is refused
// with ErrUnsafeGitignore, and a regular one that does not ignore file draws
// a warning on the context's logger.
//
// The data goes to a temporary file in dir (created 0600, exclusive), is
// synced, and renamed over the target; the folder is then synced. On any error
// or cancellation the temporary file is removed.
func WriteSecret(ctx context.Context, dir, file string, data []byte) (Written, error) {
	return writeFile(ctx, filepath.Dir(filepath.Clean(dir)), dir, file, data, nil)
}

// writeFile is WriteSecret with every folder from base (exclusive) to dir
// checked, and a hook tests use to fail at a given stage.
func writeFile(ctx context.Context, base, dir, file string, data []byte, hook func(stage) error) (Written, error) {
	if err := checkFileName(file); err != nil {
		return Written{}, err
	}
	if err := ctx.Err(); err != nil {
		return Written{}, fmt.Errorf("%s was not written: %w", filepath.Join(dir, file), err)
	}
	root, err := openSecretsDir(base, dir, true)
	if err != nil {
		return Written{}, err
	}
	defer root.Close()
	dir = filepath.Clean(dir)
	target := filepath.Join(dir, file)

	made, err := ensureGitignore(root, dir)
	if err != nil {
		return Written{}, err
	}
	if !made {
		if err := warnUnignored(ctx, root, dir, file); err != nil {
			return Written{}, err
		}
	}
	status, err := compareTarget(root, file, target, data)
	if err != nil || status == Unchanged {
		return Written{Path: target, Status: status}, err
	}

	f, tmp, err := createTemp(root, dir, file, FileMode)
	if err != nil {
		return Written{}, err
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			root.Remove(tmp)
		}
	}()
	fail := func(what string, err error) (Written, error) {
		if ctx.Err() != nil {
			return Written{}, fmt.Errorf("%s was not written: %w", target, ctx.Err())
		}
		return Written{}, ioError(what, target, err)
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
			return Written{}, targetError(target, fi.Mode())
		}
		return fail("cannot put in place", err)
	}
	_ = f.Close()
	done = true
	// The folder is not synced: a crash of the machine before the kernel
	// writes it back can lose the rename (the target is then absent or its
	// previous version), never leave a partial file, and a CI job does not
	// outlive its machine. Syncing it cost a second journal commit per file.
	return Written{Path: target, Status: status}, nil
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

// openSecretsDir opens dir as an os.Root reached from base one folder at a
// time, each opened through the handle of the one above it and never
// through a link: a folder on the way that is a symlink is refused, and one
// swapped for a symlink between the look and the open is noticed (the
// folder opened is not the folder looked at) and refused too. No full path
// below base is ever resolved by the kernel, so a folder replaced by a link
// at any moment cannot send the write elsewhere. base is the user's choice
// (--root, or the folder holding --out) and is followed as it is.
//
// With create, what is missing is made (dir itself 0700, the others 0755)
// and dir is narrowed to at most 0700; without, a missing folder on the way
// returns a nil Root and no error.
func openSecretsDir(base, dir string, create bool) (*os.Root, error) {
	base, dir = filepath.Clean(base), filepath.Clean(dir)
	rel, err := filepath.Rel(base, dir)
	if err != nil || escapes(rel) {
		return nil, fmt.Errorf("secrets folder %s is not inside %s; this is a bug in ci-secrets", dir, base)
	}
	if create {
		if err := os.MkdirAll(base, parentDirMode); err != nil {
			return nil, ioError("cannot create folder", base, err)
		}
	}
	if rel == "." {
		// dir is the user's own base: it must still be a real folder.
		fi, err := os.Lstat(dir)
		if errors.Is(err, fs.ErrNotExist) && !create {
			return nil, nil
		}
		if err := checkFolderInfo(dir, true, fi, err); err != nil {
			return nil, err
		}
	}
	cur, err := os.OpenRoot(base)
	if errors.Is(err, fs.ErrNotExist) && !create {
		return nil, nil
	} else if err != nil {
		return nil, ioError("cannot open folder", base, err)
	}
	fi, err := cur.Stat(".")
	if err != nil {
		cur.Close()
		return nil, ioError("cannot inspect folder", base, err)
	}
	created := false
	if rel != "." {
		path := base
		parts := strings.Split(rel, string(filepath.Separator))
		for i, p := range parts {
			path = filepath.Join(path, p)
			last := i == len(parts)-1
			next, nfi, made, err := openChild(cur, p, path, last, create)
			cur.Close()
			if err != nil || next == nil {
				return nil, err
			}
			cur, fi, created = next, nfi, last && made
		}
	}
	// A folder we made gets exactly 0700 whatever the umask; an existing one
	// loses its group and other bits but keeps its owner's (a read-only
	// folder stays read-only).
	want := fi.Mode().Perm() & DirMode
	if created {
		want = DirMode
	}
	if create && fi.Mode().Perm() != want {
		if err := cur.Chmod(".", want); err != nil {
			cur.Close()
			return nil, ioError("cannot restrict the mode of secrets folder", dir, err)
		}
	}
	return cur, nil
}

// openChild opens the folder name inside parent (path names it for
// messages), making it first when create is set and it is missing. It
// returns a nil Root when the folder is missing and create is not set.
func openChild(parent *os.Root, name, path string, secrets, create bool) (*os.Root, fs.FileInfo, bool, error) {
	made := false
	// Look before making: on a busy disk a mkdir that finds the folder
	// costs ten times a stat, and most folders exist.
	fi, err := parent.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		if !create {
			return nil, nil, false, nil
		}
		mode := parentDirMode
		if secrets {
			mode = DirMode
		}
		err = parent.Mkdir(name, mode)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, nil, false, ioError("cannot create folder", path, err)
		}
		made = err == nil
		fi, err = parent.Lstat(name)
	}
	if err := checkFolderInfo(path, secrets, fi, err); err != nil {
		return nil, nil, false, err
	}
	child, err := parent.OpenRoot(name)
	for try := 0; err != nil; try++ {
		// os.Root refuses a link that leads out of parent; one swapped in
		// since the look is the usual reason. If the folder looked at is
		// back by now, opening it again tells a swap from a real error.
		li, lerr := parent.Lstat(name)
		if lerr != nil || !os.SameFile(fi, li) {
			return nil, nil, false, swappedError(path, secrets)
		}
		if try == 2 {
			return nil, nil, false, ioError("cannot open folder", path, err)
		}
		child, err = parent.OpenRoot(name)
	}
	cfi, err := child.Stat(".")
	if err != nil || !os.SameFile(fi, cfi) {
		// os.Root follows a link that stays inside parent: the folder
		// opened must be the very one looked at.
		child.Close()
		return nil, nil, false, swappedError(path, secrets)
	}
	return child, cfi, made, nil
}

func swappedError(path string, secrets bool) error {
	what := "folder"
	if secrets {
		what = "secrets folder"
	}
	return fmt.Errorf("%s %s was replaced while ci-secrets was opening it; %w: make it a real folder and run again", what, path, ErrSymlink)
}

// checkFolderInfo refuses a link or a non-folder, given what Lstat said.
func checkFolderInfo(path string, secrets bool, fi fs.FileInfo, err error) error {
	what := "folder"
	if secrets {
		what = "secrets folder"
	}
	switch {
	case err != nil:
		return ioError("cannot inspect "+what, path, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s %s is a symlink; %w: replace it with a real folder", what, path, ErrSymlink)
	case !fi.IsDir():
		return fmt.Errorf("%s %s exists but is %s; %w: move it away and run again", what, path, DescribeMode(fi.Mode()), ErrNotDir)
	}
	return nil
}

// compareTarget allows an absent target (Wrote) or a regular file, and
// tells whether that file already holds data (Unchanged: its mode is then
// narrowed to 0600 through the very file read, and nothing is written) or
// something else (Replaced).
func compareTarget(root *os.Root, file, target string, data []byte) (Status, error) {
	// Another sync of the same connector may rename its copy into place
	// between the look and the open: the file then differs from the one
	// looked at without being anything but a regular file, so look again.
	for try := 0; ; try++ {
		status, raced, err := compareOnce(root, file, target, data)
		if !raced {
			return status, err
		}
		if try == 3 {
			// Still changing under us: only regular files were seen, and
			// the rename that follows replaces the name, never a file a
			// link points at.
			return Replaced, nil
		}
	}
}

// compareOnce is one look at the target; raced reports that the file opened
// was a regular file other than the one looked at.
func compareOnce(root *os.Root, file, target string, data []byte) (status Status, raced bool, err error) {
	fi, err := root.Lstat(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Wrote, false, nil
	case err != nil:
		return "", false, ioError("cannot inspect", target, err)
	case !fi.Mode().IsRegular():
		return "", false, targetError(target, fi.Mode())
	case fi.Size() != int64(len(data)):
		return Replaced, false, nil
	}
	// O_NONBLOCK: a FIFO swapped in after the look must not hang the run.
	f, err := root.OpenFile(file, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return "", true, nil // removed since the look (a clean-up, a rename)
	}
	if err != nil {
		return "", false, ioError("cannot read", target, err)
	}
	defer f.Close()
	ofi, err := f.Stat()
	if err != nil {
		return "", false, ioError("cannot inspect", target, err)
	}
	if !os.SameFile(fi, ofi) {
		if ofi.Mode().IsRegular() {
			return "", true, nil
		}
		return "", false, fmt.Errorf("%s was replaced while ci-secrets was reading it; %w: make it a regular file (or remove it) and run again", target, ErrNotRegular)
	}
	old, err := io.ReadAll(io.LimitReader(f, int64(len(data))+1))
	if err != nil {
		return "", false, ioError("cannot read", target, err)
	}
	if !bytes.Equal(old, data) {
		return Replaced, false, nil
	}
	if ofi.Mode().Perm() != FileMode {
		if err := f.Chmod(FileMode); err != nil {
			return "", false, ioError("cannot set the mode of", target, err)
		}
	}
	return Unchanged, false, nil
}

func targetError(target string, m fs.FileMode) error {
	if m&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s is a symlink; %w: delete the link and run again", target, ErrSymlink)
	}
	return fmt.Errorf("%s exists but is %s; %w: move it away and run again", target, DescribeMode(m), ErrNotRegular)
}

// ensureGitignore writes a .gitignore holding "*" unless the folder has one,
// and reports whether it wrote it. An existing one is never touched, but one
// that is not a regular file is refused (checkGitignore). The new file is
// linked into place, so one that appears meanwhile is not overwritten.
func ensureGitignore(root *os.Root, dir string) (bool, error) {
	const name = gitignoreName
	path := filepath.Join(dir, name)
	if fi, err := root.Lstat(name); err == nil {
		return false, gitignoreInfoError(path, fi, nil)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, ioError("cannot inspect", path, err)
	}
	f, tmp, err := createTemp(root, dir, name, gitignoreMode)
	if err != nil {
		return false, err
	}
	// Removed and closed last: the open file holds the lock that keeps a
	// concurrent run's clean-up away until it is linked in place.
	defer f.Close()
	defer root.Remove(tmp)
	// Not synced on its own: the secret written next in this folder syncs
	// the folder, and on a crash before that the file is simply absent.
	if _, err := f.WriteString(Gitignore); err != nil {
		return false, ioError("cannot write", path, err)
	}
	if err := root.Link(tmp, name); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another run's, or someone else's: check it like any other.
			return false, checkGitignore(root, dir)
		}
		// A file system without hard links: replace instead.
		if err := root.Rename(tmp, name); err != nil {
			return false, ioError("cannot put in place", path, err)
		}
	}
	return true, nil
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
// removed. Temporary files another ci-secrets run is still writing (it holds
// their lock) are left alone.
func CleanStaleTemps(dir string) (removed []string, err error) {
	dir = filepath.Clean(dir)
	root, err := openSecretsDir(filepath.Dir(dir), dir, false)
	if err != nil || root == nil {
		return nil, err
	}
	defer root.Close()
	return cleanStaleIn(root, dir)
}

// cleanStaleIn is CleanStaleTemps in an open secrets folder.
func cleanStaleIn(root *os.Root, dir string) (removed []string, err error) {
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
