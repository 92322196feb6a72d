package secretexec

import (
	"fmt"
	"os"

	"github.com/airbytehq/ci-secrets/writer"
)

// writerLock marks a manifest as its live run's for as long as f is open.
func writerLock(f *os.File) error {
	if err := writer.LockHeld(f); err != nil {
		return fmt.Errorf("cannot lock manifest %s: %w", f.Name(), err)
	}
	return nil
}
