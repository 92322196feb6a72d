package secretpush_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
	"github.com/airbytehq/ci-secrets/secretpush"
	"github.com/airbytehq/ci-secrets/writer"
)

// Two pushes of one secret at once (two CI jobs refreshing the same
// credentials), each with a client of its own, as two processes would have:
// both read version 2, both add, and the secret must end with exactly one
// enabled version, the newest, every time. Before push listed the enabled
// versions after its add, each disabled only version 2 and both new versions
// stayed enabled (10 runs of 10).
func TestConcurrentPushesLeaveOneEnabledVersion(t *testing.T) {
	const runs = 10
	for run := range runs {
		t.Run(fmt.Sprint(run), func(t *testing.T) {
			// Latency with jitter spreads the interleavings of the two
			// pushes' reads, adds, lists and disables across runs.
			addr, srv := emulator.StartForTest(t, parseSeed(t), emulator.Options{Latency: time.Millisecond, Jitter: 4 * time.Millisecond, Seed: int64(run + 1)})
			var wg sync.WaitGroup
			results := make([]*secretpush.Result, 2)
			errs := make([]error, 2)
			for i := range 2 {
				c := dial(t, addr)
				root := t.TempDir()
				update(t, root, "source-foo", "config|1.json", fmt.Sprintf(`{"token": "token-writer-%d"}`, i))
				wg.Go(func() {
					results[i], errs[i] = secretpush.Run(ctxFor(t), c, writer.Layout{Root: root}, secretpush.Options{Connectors: []string{"source-foo"}})
				})
			}
			wg.Wait()
			var warned int
			for i := range 2 {
				if errs[i] != nil || !results[i].OK() || len(results[i].Pushed) != 1 {
					t.Fatalf("push %d: %v %+v", i, errs[i], results[i])
				}
				if results[i].Pushed[0].NewerVersion != "" {
					warned++
				}
			}
			got := versions(t, srv, "SECRET_SOURCE-FOO_CREDS")
			var enabled []string
			for _, v := range got {
				if strings.HasPrefix(v, "ENABLED:") {
					enabled = append(enabled, v)
				}
			}
			if len(got) != 4 || len(enabled) != 1 || !strings.HasPrefix(got[3], "ENABLED:") {
				t.Fatalf("versions = %q; want 4 versions, only the newest enabled", got)
			}
			// The push whose version lost is told so when it saw the
			// other's (it may not have: then the other disabled its own).
			if warned > 1 {
				t.Errorf("both pushes report a newer version from the other")
			}
		})
	}
}
