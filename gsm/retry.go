package gsm

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// RetryPolicy is jittered exponential backoff under an overall deadline.
type RetryPolicy struct {
	Initial    time.Duration // first backoff
	Max        time.Duration // cap on one backoff
	Multiplier float64
	// QuotaFactor stretches backoff after RESOURCE_EXHAUSTED: quotas are per
	// minute, so hammering again within milliseconds only burns more of it.
	QuotaFactor float64
	Attempt     time.Duration // deadline of one attempt
	Overall     time.Duration // budget for one operation, all attempts included
	// AddSpacing and StateSpacing are the least time between two attempts
	// of one AddSecretVersion, and of one version's enable/disable/destroy:
	// GSM allows about 2 adds per second per secret and 1 state change per
	// second per version, and a retry counts against that as well.
	AddSpacing   time.Duration
	StateSpacing time.Duration
}

// DefaultRetry suits CI: quick first retries, patient on quota.
func DefaultRetry() RetryPolicy {
	return RetryPolicy{
		Initial:      100 * time.Millisecond,
		Max:          10 * time.Second,
		Multiplier:   2,
		QuotaFactor:  5,
		Attempt:      30 * time.Second,
		Overall:      2 * time.Minute,
		AddSpacing:   500 * time.Millisecond,
		StateSpacing: time.Second,
	}
}

// retryable reports whether an attempt's failure can succeed later. Only
// UNAVAILABLE, RESOURCE_EXHAUSTED and a single attempt's deadline are; NOT_FOUND,
// PERMISSION_DENIED, UNAUTHENTICATED, INVALID_ARGUMENT and FAILED_PRECONDITION never are.
func retryable(parent context.Context, err error) bool {
	if parent.Err() != nil {
		return false
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded:
		return true
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// do runs call with retries. Every attempt counts as one request (that is
// what quota is charged for); every attempt after the first counts as a retry.
func (c *Client) do(ctx context.Context, counter *counter, call func(ctx context.Context) error) error {
	return c.doSpaced(ctx, counter, 0, call)
}

// doSpaced is do with at least minWait between two attempts.
func (c *Client) doSpaced(ctx context.Context, counter *counter, minWait time.Duration, call func(ctx context.Context) error) error {
	p := c.retry
	parent := ctx
	if p.Overall > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.Overall)
		defer cancel()
	}
	backoff := p.Initial
	var lastAnswer error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			c.stats.retries.Add(1)
		}
		counter.Add(1)
		actx, cancel := ctx, context.CancelFunc(func() {})
		if p.Attempt > 0 {
			actx, cancel = context.WithTimeout(ctx, p.Attempt)
		}
		err := call(actx)
		cancel()
		if err == nil {
			c.lastOK.Store(time.Now().UnixNano())
			return nil
		}
		if parent.Err() == nil && budgetSpent(ctx) && lastAnswer != nil {
			// The budget ran out during this attempt: the server's last
			// answer (quota, unavailable) tells the user more than our own
			// deadline does.
			return lastAnswer
		}
		if !retryable(ctx, err) {
			return err
		}
		lastAnswer = err
		wait := backoff
		if status.Code(err) == codes.ResourceExhausted && p.QuotaFactor > 1 {
			wait = time.Duration(float64(wait) * p.QuotaFactor)
		}
		if p.Max > 0 && wait > p.Max {
			wait = p.Max
		}
		// Full jitter: thousands of CI jobs that failed together must not
		// retry together.
		wait = max(time.Duration(rand.Int64N(int64(wait))+1), minWait)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return err
		}
		// A server that has answered no call for a whole budget is down: the
		// operations still queued must not each wait out a budget of their
		// own, or a run of N secrets would take N/concurrency budgets to fail.
		if p.Overall > 0 && time.Until(time.Unix(0, c.lastOK.Load()).Add(p.Overall)) < wait {
			return err
		}
		c.noteRetry(ctx, err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = time.Duration(float64(backoff) * p.Multiplier)
		if p.Max > 0 && backoff > p.Max {
			backoff = p.Max
		}
	}
}

// noteRetry tells the user once per client that calls are being retried, so
// a run waiting on an unreachable or throttling server does not look hung;
// every retry after that is a debug line.
func (c *Client) noteRetry(ctx context.Context, err error) {
	ev := zerolog.Ctx(ctx).Debug()
	if c.warnedRetry.CompareAndSwap(false, true) {
		ev = zerolog.Ctx(ctx).Warn()
	}
	ev.Str("code", codeName(status.Code(err))).Str("budget", c.retry.Overall.String()).
		Msg("Secret Manager did not serve a call; retrying with backoff (the summary counts retries)")
}

// codeName spells a code as GSM documents it: RESOURCE_EXHAUSTED.
func codeName(c codes.Code) string {
	var b strings.Builder
	for i, r := range c.String() {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

// budgetSpent reports whether ctx's deadline has passed. gRPC fails a call at
// the deadline itself, which can be a moment before ctx.Err() is set.
func budgetSpent(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

func backoffFor(p RetryPolicy, attempt int, code codes.Code) time.Duration {
	d := float64(p.Initial)
	for range attempt {
		d *= p.Multiplier
	}
	if code == codes.ResourceExhausted && p.QuotaFactor > 1 {
		d *= p.QuotaFactor
	}
	if p.Max > 0 && d > float64(p.Max) {
		d = float64(p.Max)
	}
	return time.Duration(rand.Int64N(int64(d)+1) + 1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
