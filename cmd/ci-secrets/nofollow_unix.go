//go:build unix

package main

import "syscall"

// oNoFollow makes open fail on a symlink, closing the gap between the
// Lstat check and the open.
const oNoFollow = syscall.O_NOFOLLOW
