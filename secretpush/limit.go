package secretpush

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/airbytehq/ci-secrets/internal/wait"
)

// GSM's per-secret write limits (gsm-facts.md): about 2 AddSecretVersion
// requests per second per secret, and 1 enable/disable/destroy per second per
// version. The project-wide write quota (600 per minute) and other CI jobs
// writing at the same time are the gsm client's business: it backs off on
// RESOURCE_EXHAUSTED.
const (
	addsPerSecond     = 2
	disablesPerSecond = 1
)

// limiter spaces writes so one run never exceeds the per-secret limits,
// whatever order the work arrives in. A push writes each secret at most once,
// so in practice it seldom waits; it is the guarantee, not the schedule.
type limiter struct {
	mu       sync.Mutex
	adds     map[string]*rate.Limiter // by secret
	disables map[string]*rate.Limiter // by secret + "/" + version
	// now and sleep are the clock, injected so tests can check the
	// spacing without waiting for it.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

func newLimiter() *limiter {
	return &limiter{
		adds: map[string]*rate.Limiter{}, disables: map[string]*rate.Limiter{},
		now: time.Now, sleep: wait.Sleep,
	}
}

func (l *limiter) get(m map[string]*rate.Limiter, key string, r rate.Limit) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := m[key]
	if !ok {
		lim = rate.NewLimiter(r, 1)
		m[key] = lim
	}
	return lim
}

// wait takes one token from lim, sleeping until it is due.
func (l *limiter) wait(ctx context.Context, lim *rate.Limiter) error {
	now := l.now()
	r := lim.ReserveN(now, 1)
	if err := l.sleep(ctx, r.DelayFrom(now)); err != nil {
		r.CancelAt(l.now())
		return err
	}
	return nil
}

// add waits until secret may take another AddSecretVersion.
func (l *limiter) add(ctx context.Context, secret string) error {
	return l.wait(ctx, l.get(l.adds, secret, addsPerSecond))
}

// disable waits until version of secret may change state again.
func (l *limiter) disable(ctx context.Context, secret, version string) error {
	return l.wait(ctx, l.get(l.disables, secret+"/"+version, disablesPerSecond))
}
