package writer

import "os"

// LockHeld takes the exclusive lock that marks f as in use by a live run,
// the same flock that guards temporary files: the kernel drops it when the
// process dies, so another run can tell a dead run's file (a manifest) from
// a live one's. It blocks until the lock is had.
func LockHeld(f *os.File) error { return lockTemp(f) }

// TryLockAbandoned reports whether no live run holds f's lock; when so, the
// caller holds it until f is closed.
func TryLockAbandoned(f *os.File) (bool, error) { return tryLockStale(f) }
