//go:build unix

package doctor

import "syscall"

// oNoFollow makes open fail on a link and never block on a pipe swapped in
// between the Lstat check and the open (SameFile then refuses it).
const oNoFollow = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
