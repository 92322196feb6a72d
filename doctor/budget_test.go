package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

// fakeBudget is a run bound on an injected clock: the real client's bound
// runs on the wall clock, which a test cannot move.
type fakeBudget struct {
	deadline time.Time
	timeout  time.Duration
	extended []time.Duration
}

func (b *fakeBudget) Deadline() time.Time    { return b.deadline }
func (b *fakeBudget) Timeout() time.Duration { return b.timeout }
func (b *fakeBudget) ExtendTimeout(d time.Duration) {
	b.extended = append(b.extended, d)
	b.deadline = b.deadline.Add(d)
	b.timeout += d
}

// TestFitBudget decides on an injected clock: 2,000 secrets at the default
// pace take 6m36s (1,980 reads after the burst of 20, five a second).
func TestFitBudget(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	now := start.Add(3 * time.Second) // the listing took 3s of the bound
	clock := func() time.Time { return now }
	pacing := 6*time.Minute + 36*time.Second
	bounded := func(timeout time.Duration) *fakeBudget {
		return &fakeBudget{deadline: start.Add(timeout), timeout: timeout}
	}

	t.Run("default bound is extended by the pacing", func(t *testing.T) {
		b := bounded(gsm.DefaultTimeout)
		if err := fitBudget(context.Background(), b, 2000, NewPacer(DefaultReadsPerMinute), false, clock); err != nil {
			t.Fatal(err)
		}
		if len(b.extended) != 1 || b.extended[0] != pacing {
			t.Fatalf("extensions %v, want one of %s", b.extended, pacing)
		}
		if b.timeout != gsm.DefaultTimeout+pacing {
			t.Errorf("bound %s, want the default plus the pacing", b.timeout)
		}
	})
	t.Run("a given bound that fits is kept", func(t *testing.T) {
		b := bounded(10 * time.Minute)
		if err := fitBudget(context.Background(), b, 2000, NewPacer(DefaultReadsPerMinute), true, clock); err != nil {
			t.Fatal(err)
		}
		if len(b.extended) != 0 {
			t.Errorf("a given --timeout was extended: %v", b.extended)
		}
	})
	t.Run("a given bound too short is refused with the numbers", func(t *testing.T) {
		b := bounded(gsm.DefaultTimeout)
		err := fitBudget(context.Background(), b, 2000, NewPacer(DefaultReadsPerMinute), true, clock)
		var te *TimeoutError
		if !errors.As(err, &te) {
			t.Fatalf("err = %v, want *TimeoutError", err)
		}
		want := TimeoutError{Reads: 2000, PerMinute: 300, Pacing: pacing, Timeout: 2 * time.Minute, Left: 117 * time.Second,
			Suggest: 9 * time.Minute} // 3s spent + 6m36s + the default 2m, rounded up
		if *te != want {
			t.Errorf("got %+v\nwant %+v", *te, want)
		}
		for _, s := range []string{"--timeout 2m0s leaves 1m57s", "2000 secrets", "at least 6m36s", "--reads-per-minute 300", "give --timeout 9m0s", "leave --timeout out"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("message lacks %q: %s", s, err)
			}
		}
		if len(b.extended) != 0 {
			t.Errorf("a given --timeout was extended: %v", b.extended)
		}
	})
	t.Run("a given bound already spent is refused", func(t *testing.T) {
		b := bounded(time.Second)
		var te *TimeoutError
		if err := fitBudget(context.Background(), b, 2000, NewPacer(DefaultReadsPerMinute), true, clock); !errors.As(err, &te) || te.Left != 0 {
			t.Fatalf("err = %v, want *TimeoutError with nothing left", err)
		}
	})
	t.Run("no pacing, no bound or a burst: nothing to fit", func(t *testing.T) {
		for _, tc := range []struct {
			b     *fakeBudget
			reads int
			pace  *Pacer
		}{
			{bounded(time.Second), 2000, NewPacer(0)},
			{bounded(time.Second), 20, NewPacer(DefaultReadsPerMinute)},
			{&fakeBudget{}, 2000, NewPacer(DefaultReadsPerMinute)},
		} {
			for _, given := range []bool{false, true} {
				if err := fitBudget(context.Background(), tc.b, tc.reads, tc.pace, given, clock); err != nil || len(tc.b.extended) != 0 {
					t.Errorf("%d reads, given=%v: err %v, extensions %v", tc.reads, given, err, tc.b.extended)
				}
			}
		}
	})
}

// fakeClockPacer paces on a clock that jumps ahead instead of sleeping, so
// a run paced for minutes finishes at once; it counts the waits. Exact for
// one request at a time (Concurrency 1).
func fakeClockPacer(perMinute int) (*Pacer, *int) {
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	waits := new(int)
	p := newPacer(perMinute, func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}, func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		*waits++
		now = now.Add(d)
		return nil
	})
	return p, waits
}

// The real client against the emulator: without --timeout a run's bound
// grows by the pacing of its 60 version reads (40 after the burst, one a
// second) and every secret is read; a given --timeout shorter than that is
// refused before a single version read goes out.
func TestRunFitsTimeoutToPacing(t *testing.T) {
	var secrets []emulator.SeedSecret
	for i := range 60 {
		secrets = append(secrets, seedSecret(fmt.Sprintf("SECRET_SOURCE-T%02d_CREDS", i), map[string]string{"connector": fmt.Sprintf("source-t%02d", i)}, ":{}"))
	}
	root := t.TempDir()

	c, srv := startBounded(t, secrets, emulator.Options{}, gsm.DefaultTimeout)
	pace, waits := fakeClockPacer(60)
	rep, err := Run(context.Background(), c, Options{Scope: Scope{All: true}, Root: root, Pace: pace, Concurrency: 1, Project: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Timeout(); got != gsm.DefaultTimeout+40*time.Second {
		t.Errorf("run bound %s, want the default plus 40s of pacing", got)
	}
	if n := srv.Calls()["ListSecretVersions"]; n != 60 {
		t.Errorf("%d ListSecretVersions, want 60", n)
	}
	if *waits != 40 {
		t.Errorf("%d paced waits, want 40", *waits)
	}
	for _, p := range rep.Problems {
		if p.Kind == KindVersionsUnread {
			t.Errorf("a version read failed: %+v", p)
		}
	}

	c, srv = startBounded(t, secrets, emulator.Options{}, 30*time.Second)
	pace, waits = fakeClockPacer(60)
	_, err = Run(context.Background(), c, Options{Scope: Scope{All: true}, Root: root, Pace: pace, Concurrency: 1, Project: "p", TimeoutGiven: true})
	var te *TimeoutError
	if !errors.As(err, &te) || te.Reads != 60 || te.Pacing != 40*time.Second || te.Timeout != 30*time.Second {
		t.Fatalf("err = %v, want *TimeoutError for 60 reads, 40s of pacing, --timeout 30s", err)
	}
	if n := srv.Calls()["ListSecretVersions"]; n != 0 || *waits != 0 {
		t.Errorf("a refused run still made %d version reads and %d paced waits", n, *waits)
	}
	if c.Timeout() != 30*time.Second {
		t.Errorf("a given --timeout became %s", c.Timeout())
	}
}
