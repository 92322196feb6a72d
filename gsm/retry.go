package gsm

import (
	"context"
	"errors"
	"fmt"
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
	// Connect is how long calls keep trying while no connection to the
	// server can be made at all (refused, no such host, failed TLS, not
	// gRPC): a starting emulator has time to come up, a wrong address
	// fails in seconds, not after the whole Overall budget.
	Connect time.Duration
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
		Connect:      10 * time.Second,
	}
}

// retryable reports whether an attempt's failure can succeed later. Only
// UNAVAILABLE, RESOURCE_EXHAUSTED and a single attempt's deadline are; NOT_FOUND,
// PERMISSION_DENIED, UNAUTHENTICATED, INVALID_ARGUMENT and FAILED_PRECONDITION never are.
func retryable(parent context.Context, err error) bool {
	if parent.Err() != nil {
		return false
	}
	if oversized(err) {
		return false // the same answer would come again
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

// doSpaced is do with at least minWait between two attempts. Three budgets
// bound it: Overall for this operation, the run's deadline (--timeout) for
// every operation together, and Connect while no server can be reached.
// When the run's budget is spent, or no connection could be made for
// Connect, the client halts: this call and every later one fail at once, so
// the secrets still queued do not each wait out a budget of their own.
func (c *Client) doSpaced(ctx context.Context, counter *counter, minWait time.Duration, call func(ctx context.Context) error) error {
	if err := c.haltedErr(); err != nil {
		return err
	}
	p := c.retry
	parent := ctx
	ctx, cancelRun := c.runContext(ctx)
	defer cancelRun()
	if p.Overall > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.Overall)
		defer cancel()
	}
	backoff := p.Initial
	var lastAnswer error
	var lastUnreachable bool
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			c.stats.retries.Add(1)
		}
		counter.Add(1)
		o := &observed{}
		actx, cancel := context.WithCancel(context.WithValue(ctx, observedKey{}, o))
		if p.Attempt > 0 {
			actx, cancel = context.WithTimeout(actx, p.Attempt)
		}
		err := call(actx)
		cancel()
		now := time.Now()
		if err == nil {
			c.lastOK.Store(now.UnixNano())
			c.lastConn.Store(now.UnixNano())
			return nil
		}
		if o.connected {
			c.lastConn.Store(now.UnixNano())
		}
		if parent.Err() != nil {
			return err
		}
		if errors.Is(err, ErrStopped) || errors.Is(err, ErrUnreachable) {
			return err // a check made inside call found the client halted
		}
		if c.runSpent(now) {
			return c.halt(c.stoppedError(fmt.Sprintf("the run's --timeout of %s is spent", c.Timeout()), err))
		}
		// An attempt cut short by the operation's own budget says nothing
		// about the connection.
		spent := budgetSpent(ctx)
		unreachable := !spent && transportFailure(err, o)
		if unreachable && now.Sub(time.Unix(0, c.lastConn.Load())) >= p.Connect {
			return c.halt(c.unreachable(err))
		}
		if spent && lastAnswer != nil {
			if lastUnreachable {
				// No connection for a whole budget: the operations
				// queued behind this one would find none either.
				return c.halt(c.unreachable(lastAnswer))
			}
			// The budget ran out during this attempt: the server's last
			// answer (quota, unavailable) tells the user more than our own
			// deadline does.
			return lastAnswer
		}
		if !retryable(ctx, err) {
			return err
		}
		lastAnswer, lastUnreachable = err, unreachable
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
		next := now.Add(wait)
		switch {
		case c.runSpent(next):
			// This operation cannot retry in time; others may still
			// finish before the deadline, so the client does not halt yet.
			return c.stoppedError(fmt.Sprintf("the run's --timeout of %s ends before another attempt", c.Timeout()), err)
		case unreachable && next.Sub(time.Unix(0, c.lastConn.Load())) > p.Connect:
			return c.halt(c.unreachable(err))
		case p.Overall > 0 && next.Sub(time.Unix(0, c.lastOK.Load())) > p.Overall:
			// A server that has answered no call for a whole budget is
			// down: the operations still queued must not each retry for a
			// budget of their own. (The run's deadline, not this, is what
			// fails them at once: one method failing for a while is not
			// the whole server gone.)
			if unreachable {
				return c.halt(c.unreachable(err))
			}
			return err
		}
		if dl, ok := ctx.Deadline(); ok && dl.Before(next) {
			if unreachable {
				return c.halt(c.unreachable(err))
			}
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
