package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Progress of a long run: on a terminal a line on stderr rewritten in place
// ("12 of 300 secrets"); without one (CI) an info log line every few seconds
// once the run has taken longer than progressQuiet, so a slow job does not
// look hung while a quick one stays quiet.
const (
	progressQuiet = 2 * time.Second
	progressEvery = 5 * time.Second
)

// progress reports (done, total) as a run advances. after is time.After in
// the program and a channel a test controls in tests.
type progress struct {
	noun  string // "secrets read", "secrets pushed"
	w     io.Writer
	tty   bool
	log   *zerolog.Logger
	after func(time.Duration) <-chan time.Time

	mu          sync.Mutex
	done, total int
	drawn       bool // a terminal line is on screen and must be cleared
	stop        chan struct{}
	stopped     chan struct{}
}

func newProgress(ctx context.Context, s *streams, noun string, after func(time.Duration) <-chan time.Time) *progress {
	if after == nil {
		after = time.After
	}
	return &progress{noun: noun, w: s.stderr, tty: s.stderrIsTTY, log: zerolog.Ctx(ctx), after: after}
}

// update is the callback the run calls; the first call starts the timer.
func (p *progress) update(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if done < p.done && total == p.total {
		return // callbacks from several goroutines may arrive out of order
	}
	p.done, p.total = done, total
	if p.tty {
		fmt.Fprintf(p.w, "\r%d of %d %s\x1b[K", done, total, p.noun)
		p.drawn = true
		return
	}
	if p.stop == nil && total > 0 {
		p.stop, p.stopped = make(chan struct{}), make(chan struct{})
		go p.tick(p.stop, p.stopped)
	}
}

// tick logs the count after progressQuiet, then every progressEvery.
// The channels are passed in: finish clears the fields under the lock.
func (p *progress) tick(stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	wait := progressQuiet
	for {
		select {
		case <-stop:
			return
		case <-p.after(wait):
		}
		wait = progressEvery
		p.mu.Lock()
		done, total := p.done, p.total
		p.mu.Unlock()
		p.log.Info().Int("done", done).Int("total", total).Msgf("%d of %d %s", done, total, p.noun)
	}
}

// finish stops the timer and clears the terminal line, before the summary
// is printed.
func (p *progress) finish() {
	p.mu.Lock()
	stop, stopped, drawn := p.stop, p.stopped, p.drawn
	p.stop, p.drawn = nil, false
	p.mu.Unlock()
	if stop != nil {
		close(stop)
		<-stopped
	}
	if drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
