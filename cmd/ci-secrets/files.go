package main

import (
	"errors"
	"io/fs"
	"os"

	"github.com/airbytehq/ci-secrets/writer"
)

// openPrivate opens a file the user named for output that holds secret
// values (--mask-file, --dump): created 0600, an existing regular file
// restricted to 0600, never written through a symlink to a regular file (a
// planted link could send the values somewhere readable). Pipes and devices
// (/dev/stderr, a FIFO a runner reads) are taken as they are.
//
// With appendOnly writes go to the end; otherwise the file is opened as it
// is and the caller truncates it when it writes, so opening early (to find
// an unwritable path before the work) never empties a file the work may
// still need, such as a seed that is also the dump.
func openPrivate(flag, path string, appendOnly bool) (*os.File, error) {
	mode := os.O_WRONLY | os.O_CREATE
	if appendOnly {
		mode |= os.O_APPEND
	}
	if li, err := os.Lstat(path); err == nil && li.Mode()&fs.ModeSymlink != 0 {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().IsRegular() || fi.IsDir() {
			return nil, usageErrorf("%s %s is a symlink; it holds secret values, so ci-secrets writes it only as a real file: remove the link or name the file itself", flag, path)
		}
		f, err := os.OpenFile(path, mode&^os.O_CREATE, 0)
		if err != nil {
			return nil, usageErrorf("cannot open %s %s: %w", flag, path, err)
		}
		return f, nil
	}
	f, err := os.OpenFile(path, mode|oNoFollow, 0o600)
	if err != nil {
		return nil, usageErrorf("cannot open %s %s: %w", flag, path, err)
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm() != 0o600 {
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return nil, usageErrorf("cannot make %s %s private (0600): %w", flag, path, err)
		}
	}
	return f, nil
}

// checkFolderFlag refuses a folder flag (--root, --out) that names something
// other than a folder, and with mustExist one that does not exist: a mistake
// in the command line, said once before anything is read, not a failure per
// secret or a silent "nothing to do". want says what to pass instead.
func checkFolderFlag(flag, dir, want string, mustExist bool) error {
	if dir == "" {
		return nil
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !mustExist:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return usageErrorf("%s %s does not exist: pass %s", flag, dir, want)
	case err != nil:
		return usageErrorf("%s %s cannot be used: %w; pass %s", flag, dir, err, want)
	case !fi.IsDir():
		return usageErrorf("%s %s is %s, not a folder: pass %s", flag, dir, writer.DescribeMode(fi.Mode()), want)
	}
	return nil
}
