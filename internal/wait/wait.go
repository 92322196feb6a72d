// Package wait owns the one way ci-secrets pauses: for a duration or until
// its context ends, whichever comes first, so a cancelled or timed-out run
// never sits out a back-off, a pacing delay or an emulator's latency.
package wait

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends (returning its error). A d of zero or
// less returns at once, with ctx's error if it has ended.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
