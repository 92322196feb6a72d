package secretpush

import (
	"context"
	"sync"

	"golang.org/x/time/rate"
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
// so in practice it never waits; it is the guarantee, not the schedule.
type limiter struct {
	mu       sync.Mutex
	adds     map[string]*rate.Limiter // by secret
	disables map[string]*rate.Limiter // by secret + "/" + version
}

func newLimiter() *limiter {
	return &limiter{adds: map[string]*rate.Limiter{}, disables: map[string]*rate.Limiter{}}
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

// add waits until secret may take another AddSecretVersion.
func (l *limiter) add(ctx context.Context, secret string) error {
	return l.get(l.adds, secret, addsPerSecond).Wait(ctx)
}

// disable waits until version of secret may change state again.
func (l *limiter) disable(ctx context.Context, secret, version string) error {
	return l.get(l.disables, secret+"/"+version, disablesPerSecond).Wait(ctx)
}
