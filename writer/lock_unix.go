//go:build unix

package writer

import (
	"errors"
	"os"
	"syscall"
)

// A run holds an exclusive flock on each temporary file it is writing, so a
// sync running at the same time in the same folder can tell a file in use
// from one a killed run left behind: the kernel drops a dead process's
// locks, and nothing else.

// lockTemp takes the lock of a temporary file this run created.
func lockTemp(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// tryLockStale reports whether the temporary file f is stale: no live run
// holds its lock. It then holds the lock until f is closed.
func tryLockStale(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, syscall.EWOULDBLOCK):
		return false, nil
	}
	return false, err
}
