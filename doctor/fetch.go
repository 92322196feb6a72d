package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/internal/wait"
	"github.com/airbytehq/ci-secrets/writer"
)

// Read-quota pacing. GSM allows a project 600 read requests per minute,
// shared by every CI job at once, and each secret's version metadata costs
// one. Doctor spends at most DefaultReadsPerMinute by default, half the
// quota, so a health check of a big project never makes the project's own
// syncs fail; a first burst of readBurst goes out at once so small runs do
// not wait at all.
const (
	DefaultReadsPerMinute = 300
	readBurst             = 20
	DefaultConcurrency    = 8
	MaxConcurrency        = 32
)

// VersionLister is the part of *gsm.Client version checks use.
type VersionLister interface {
	ListVersions(ctx context.Context, secretID, filter string, max int) ([]gsm.Version, error)
}

// Accessor is the part of *gsm.Client drift checks use.
type Accessor interface {
	AccessVersion(ctx context.Context, secretID, version string) (*gsm.Payload, error)
}

// Pacer spaces requests to a rate. Its clock and sleep are injectable so
// the spacing is tested by counting, not by timing.
type Pacer struct {
	lim       *rate.Limiter
	perMinute int // 0: no limit
	mu        sync.Mutex
	now       func() time.Time
	sleep     func(context.Context, time.Duration) error
}

// NewPacer allows perMinute requests a minute after a first burst; a
// perMinute of 0 or less means no limit.
func NewPacer(perMinute int) *Pacer {
	return newPacer(perMinute, time.Now, wait.Sleep)
}

func newPacer(perMinute int, now func() time.Time, sleep func(context.Context, time.Duration) error) *Pacer {
	lim := rate.NewLimiter(rate.Inf, 0)
	if perMinute > 0 {
		lim = rate.NewLimiter(rate.Limit(float64(perMinute)/60), min(readBurst, perMinute))
	}
	return &Pacer{lim: lim, perMinute: max(perMinute, 0), now: now, sleep: sleep}
}

// Wait blocks until one more request may go out.
func (p *Pacer) Wait(ctx context.Context) error {
	p.mu.Lock()
	now := p.now()
	d := p.lim.ReserveN(now, 1).DelayFrom(now)
	p.mu.Unlock()
	if d <= 0 {
		return ctx.Err()
	}
	return p.sleep(ctx, d)
}

// Estimate is how long n requests take at most at this pace, after the burst.
func (p *Pacer) Estimate(n int) time.Duration {
	if p.lim.Limit() == rate.Inf || n <= p.lim.Burst() {
		return 0
	}
	return time.Duration(float64(n-p.lim.Burst()) / float64(p.lim.Limit()) * float64(time.Second))
}

// FetchVersions lists the versions of each secret, concurrency at a time and
// paced, one read request per secret (GSM serves up to 1,000 versions in a
// page). A secret that fails is recorded in errs; the others go on. Only
// an interruption stops the run.
func FetchVersions(ctx context.Context, c VersionLister, ids []string, concurrency int, pace *Pacer) (map[string][]gsm.Version, map[string]error, error) {
	versions := make(map[string][]gsm.Version, len(ids))
	errs := map[string]error{}
	var mu sync.Mutex
	err := forEach(ctx, len(ids), concurrency, func(ctx context.Context, i int) {
		id := ids[i]
		if err := pace.Wait(ctx); err != nil {
			return
		}
		vs, err := c.ListVersions(ctx, id, "", 0)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs[id] = err
			return
		}
		versions[id] = vs
	})
	return versions, errs, err
}

// ReadDrift compares each item's local file (under root) with its version
// in Secret Manager: one access request per file with a secret. Neither
// payload is kept or returned.
func ReadDrift(ctx context.Context, c Accessor, root string, items []DriftItem, concurrency int) ([]DriftResult, error) {
	out := make([]DriftResult, len(items))
	err := forEach(ctx, len(items), concurrency, func(ctx context.Context, i int) {
		it := items[i]
		if it.Secret == "" {
			out[i] = DriftResult{DriftItem: it}
			return
		}
		local, err := readLocal(filepath.Join(root, filepath.FromSlash(it.Path)))
		if err != nil {
			out[i] = DriftResult{DriftItem: it, Err: err}
			return
		}
		p, err := c.AccessVersion(ctx, it.Secret, it.Version)
		if err != nil {
			out[i] = DriftResult{DriftItem: it, Err: err}
			return
		}
		out[i] = Compare(it, local, p.Data())
	})
	return out, err
}

// readLocal reads a secrets file, refusing links and anything larger than a
// payload can be.
func readLocal(p string) ([]byte, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, fmt.Errorf("cannot inspect the local file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("the local file is %s", writer.DescribeMode(fi.Mode()))
	}
	f, err := os.OpenFile(p, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot open the local file: %w", err)
	}
	defer f.Close()
	if got, err := f.Stat(); err != nil || !os.SameFile(got, fi) {
		return nil, errors.New("the local file changed while doctor was reading it")
	}
	data, err := io.ReadAll(io.LimitReader(f, gsm.MaxPayload+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the local file: %w", err)
	}
	if len(data) > gsm.MaxPayload {
		return nil, fmt.Errorf("the local file is larger than a Secret Manager payload (%d bytes)", gsm.MaxPayload)
	}
	return data, nil
}

// forEach runs fn for 0..n-1, at most concurrency at a time, and returns the
// context's error when it was interrupted.
func forEach(ctx context.Context, n, concurrency int, fn func(context.Context, int)) error {
	concurrency = max(1, min(concurrency, MaxConcurrency))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(concurrency, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(ctx, i)
			}
		}()
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	return ctx.Err()
}
