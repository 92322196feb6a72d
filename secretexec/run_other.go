//go:build !unix

package secretexec

import (
	"context"
	"errors"
)

// Run needs process groups and signals as Unix has them.
func (c Command) Run(context.Context) (int, error) {
	return 1, errors.New("exec runs commands only on Unix systems (Linux, macOS)")
}
