package main

import (
	"io/fs"
	"os"
)

// openPrivate opens a file the user named for output that holds secret
// values (--mask-file, --dump): created 0600, an existing regular file
// restricted to 0600, never written through a symlink to a regular file (a
// planted link could send the values somewhere readable). Pipes and devices
// (/dev/stderr, a FIFO a runner reads) are taken as they are.
func openPrivate(flag, path string, truncate bool) (*os.File, error) {
	mode := os.O_WRONLY | os.O_CREATE
	if truncate {
		mode |= os.O_TRUNC
	} else {
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
