//go:build unix

package secretexec

import "syscall"

var (
	errNotEmpty error = syscall.ENOTEMPTY
	errExist    error = syscall.EEXIST
)
