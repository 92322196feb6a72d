package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// fakeAfter is time.After driven by the test: each call records the wait
// asked for and hands out a channel the test fires.
type fakeAfter struct {
	mu    sync.Mutex
	waits []time.Duration
	chans chan chan time.Time
}

func newFakeAfter() *fakeAfter { return &fakeAfter{chans: make(chan chan time.Time, 16)} }

func (f *fakeAfter) after(d time.Duration) <-chan time.Time {
	c := make(chan time.Time, 1)
	f.mu.Lock()
	f.waits = append(f.waits, d)
	f.mu.Unlock()
	f.chans <- c
	return c
}

// fire ends the oldest wait the reporter asked for.
func (f *fakeAfter) fire(t *testing.T) {
	t.Helper()
	c := <-f.chans
	c <- time.Time{}
}

// syncLog is a log sink the ticking goroutine and the test share.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Split(strings.TrimSpace(l.b.String()), "\n")
}

func TestProgressInCIIsQuietThenPeriodic(t *testing.T) {
	var logs syncLog
	logger := zerolog.New(&logs)
	ctx := logger.WithContext(context.Background())
	var stderr bytes.Buffer
	fa := newFakeAfter()
	p := newProgress(ctx, &streams{stderr: &stderr, stderrIsTTY: false}, "secrets read", fa.after)

	p.update(0, 10)
	p.update(3, 10)
	fa.fire(t) // the quiet period ends: first line
	// The next after() call means the first line was logged.
	next := <-fa.chans
	p.update(7, 10)
	next <- time.Time{}
	<-fa.chans // the third wait has begun: the second line is out
	p.finish()

	got := logs.lines()
	if len(got) != 2 || !strings.Contains(got[0], `"message":"3 of 10 secrets read"`) || !strings.Contains(got[1], `"message":"7 of 10 secrets read"`) {
		t.Errorf("progress lines = %q, want 3 of 10 then 7 of 10", got)
	}
	fa.mu.Lock()
	waits := append([]time.Duration(nil), fa.waits...)
	fa.mu.Unlock()
	if len(waits) != 3 || waits[0] != progressQuiet || waits[1] != progressEvery || waits[2] != progressEvery {
		t.Errorf("waits = %v, want %v then %v each time", waits, progressQuiet, progressEvery)
	}
	if stderr.Len() != 0 {
		t.Errorf("without a terminal nothing is drawn on stderr, got %q", stderr.String())
	}
}

func TestProgressQuickRunPrintsNothing(t *testing.T) {
	var logs syncLog
	ctx := zerolog.New(&logs).WithContext(context.Background())
	fa := newFakeAfter()
	p := newProgress(ctx, &streams{stderr: &bytes.Buffer{}}, "secrets read", fa.after)
	p.update(0, 2)
	p.update(1, 2)
	p.update(2, 2)
	<-fa.chans // waiting out the quiet period when the run ends
	p.finish()
	if s := strings.TrimSpace(logs.b.String()); s != "" {
		t.Errorf("a run that ends within the quiet period logged %q", s)
	}
}

func TestProgressOnTerminal(t *testing.T) {
	var stderr bytes.Buffer
	fa := newFakeAfter()
	p := newProgress(context.Background(), &streams{stderr: &stderr, stderrIsTTY: true}, "secrets read", fa.after)
	p.update(0, 3)
	p.update(2, 3)
	p.update(1, 3) // late callback from another goroutine: ignored
	p.update(3, 3)
	p.finish()
	want := "\r0 of 3 secrets read\x1b[K\r2 of 3 secrets read\x1b[K\r3 of 3 secrets read\x1b[K\r\x1b[K"
	if got := stderr.String(); got != want {
		t.Errorf("terminal output = %q, want %q", got, want)
	}
	if len(fa.waits) != 0 {
		t.Errorf("on a terminal no timer is needed, got waits %v", fa.waits)
	}
}
