//go:build !unix

package secretexec

import "errors"

var (
	errNotEmpty = errors.New("directory not empty")
	errExist    = errors.New("file exists")
)
