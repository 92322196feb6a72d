package gsm_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/gsm/emulator"
	"github.com/airbytehq/ci-secrets/internal/scripted"
)

// A run whose bound is spent before its first call is refused at once; the
// same run given more time by ExtendTimeout goes through, and its messages
// name the extended bound. Asserts outcomes and request counts, not time.
func TestExtendTimeout(t *testing.T) {
	addr, srv := emulator.StartForTest(t, &emulator.Seed{Project: scripted.Project, Secrets: []emulator.SeedSecret{
		{Name: "SECRET_A_CREDS", Labels: map[string]string{"connector": "source-a"}, Versions: []emulator.SeedVersion{{Data: []byte(`{"v": 1}`)}}},
	}}, emulator.Options{})
	dial := func(timeout time.Duration) *gsm.Client { return dialPolicy(t, addr, fastRetry(), timeout) }

	spent := dial(time.Nanosecond)
	if _, err := spent.ListSecrets(context.Background()); !errors.Is(err, gsm.ErrStopped) || !strings.Contains(err.Error(), "--timeout of 1ns") {
		t.Fatalf("a spent bound: %v, want ErrStopped naming --timeout of 1ns", err)
	}
	if n := srv.Calls()["ListSecrets"]; n != 0 {
		t.Fatalf("a spent bound still sent %d ListSecrets", n)
	}

	c := dial(time.Nanosecond)
	before := c.Deadline()
	c.ExtendTimeout(time.Hour)
	if got := c.Deadline().Sub(before); got != time.Hour {
		t.Errorf("deadline moved %s, want 1h", got)
	}
	if got := c.Timeout(); got != time.Hour+time.Nanosecond {
		t.Errorf("Timeout() = %s, want 1h0m0.000000001s", got)
	}
	if _, err := c.ListSecrets(context.Background()); err != nil {
		t.Fatalf("extended: %v", err)
	}
	c.ExtendTimeout(-time.Hour) // never shortens
	if got := c.Timeout(); got != time.Hour+time.Nanosecond {
		t.Errorf("after a negative extension Timeout() = %s", got)
	}

	free := dial(0)
	free.ExtendTimeout(time.Hour)
	if !free.Deadline().IsZero() || free.Timeout() != 0 {
		t.Errorf("an unbounded run got a bound: deadline %v, timeout %s", free.Deadline(), free.Timeout())
	}
}
