// Package redact replaces secret values in a stream of output with "***" as
// the output flows: a value split across writes is still caught, lines stay
// lines, each stream keeps its order, and at most the longest value's length
// is held back (flushed after a short quiet time when it cannot start a
// value), so nothing waits for the end of the stream.
//
// It owns the matching (one Aho–Corasick automaton for every form of every
// value, see Forms) and the hold-back rules. It does no I/O beyond the
// writer it is handed, never logs, and never reports a value: not in an
// error, not in a count.
package redact

import (
	"bytes"
	"errors"
	"io"
	"sort"
	"sync"
	"time"

	ahocorasick "github.com/petar-dambovaliev/aho-corasick"
)

// Mask is what a redacted run of output becomes.
const Mask = "***"

// DefaultQuiet is how long held bytes wait for more output before the part
// of them that cannot start a value is written.
const DefaultQuiet = 50 * time.Millisecond

// Matcher finds the forms of a set of values. It is immutable and shared by
// every stream of one command.
type Matcher struct {
	ac     ahocorasick.AhoCorasick
	sorted []string // the patterns, sorted, to tell a prefix of one
	first  [256]bool
	maxLen int
}

// NewMatcher returns a Matcher for every form (see Forms) of values. A
// Matcher of no value passes output through untouched.
func NewMatcher(values []string) *Matcher {
	seen := map[string]bool{}
	var pats []string
	for _, v := range values {
		for _, f := range Forms(v) {
			if !seen[f] {
				seen[f] = true
				pats = append(pats, f)
			}
		}
	}
	m := &Matcher{sorted: pats}
	sort.Strings(m.sorted)
	for _, p := range pats {
		m.first[p[0]] = true
		m.maxLen = max(m.maxLen, len(p))
	}
	if len(pats) > 0 {
		b := ahocorasick.NewAhoCorasickBuilder(ahocorasick.Opts{MatchKind: ahocorasick.LeftMostLongestMatch, DFA: true})
		m.ac = b.Build(pats)
	}
	return m
}

// Patterns is the number of forms searched for.
func (m *Matcher) Patterns() int { return len(m.sorted) }

// MaxLen is the length of the longest form: what a stream may hold back.
func (m *Matcher) MaxLen() int { return m.maxLen }

// covered appends to runs the spans of buf[from:] covered by any
// occurrence of any pattern, merged when they overlap or touch; a span
// covering [0, carry) (carry >= 0) is merged in first. The iterator yields,
// for each position where some pattern starts, the longest one there, so the
// union of what it yields is the union of every occurrence.
func (m *Matcher) covered(buf []byte, carry int, runs []span) []span {
	if carry >= 0 {
		runs = append(runs, span{0, carry})
	}
	if len(m.sorted) == 0 {
		return runs
	}
	it := m.ac.IterByte(buf)
	for mt := it.Next(); mt != nil; mt = it.Next() {
		s, e := mt.Start(), mt.End()
		if n := len(runs); n > 0 && s <= runs[n-1].end {
			runs[n-1].end = max(runs[n-1].end, e)
			continue
		}
		runs = append(runs, span{s, e})
	}
	return runs
}

// pendingFrom is where the longest suffix of buf that is a proper prefix of
// some pattern starts (len(buf) when none is): the bytes from there on may
// still become a value.
func (m *Matcher) pendingFrom(buf []byte) int {
	for i := max(0, len(buf)-m.maxLen+1); i < len(buf); i++ {
		if m.first[buf[i]] && m.isProperPrefix(buf[i:]) {
			return i
		}
	}
	return len(buf)
}

func (m *Matcher) isProperPrefix(b []byte) bool {
	s := string(b)
	i := sort.SearchStrings(m.sorted, s)
	for ; i < len(m.sorted) && len(m.sorted[i]) >= len(s) && m.sorted[i][:len(s)] == s; i++ {
		if len(m.sorted[i]) > len(s) {
			return true
		}
	}
	return false
}

type span struct{ start, end int }

// Timer is a pending call of time.AfterFunc.
type Timer interface{ Stop() bool }

// Options tune a Writer.
type Options struct {
	// Quiet is how long held bytes wait for more output (DefaultQuiet when 0).
	Quiet time.Duration
	// AfterFunc schedules f after d; nil means time.AfterFunc. Tests inject
	// a clock here.
	AfterFunc func(d time.Duration, f func()) Timer
}

// Writer redacts what is written to it and passes the rest on to the
// underlying writer, in order. Write and Close may be called from one
// goroutine at a time (one stream); the quiet-time flush runs on its own
// and is synchronised with them.
type Writer struct {
	m     *Matcher
	w     io.Writer
	opts  Options
	mu    sync.Mutex
	held  []byte // bytes not yet decided: they may be the start of a value
	carry int    // held[:carry] is covered by a run whose Mask was written; -1: none open
	timer Timer
	out   []byte
	runs  []span
	err   error
	done  bool
}

// NewWriter returns a Writer redacting m's values on their way to w.
func (m *Matcher) NewWriter(w io.Writer, opts Options) *Writer {
	if opts.Quiet <= 0 {
		opts.Quiet = DefaultQuiet
	}
	if opts.AfterFunc == nil {
		opts.AfterFunc = func(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
	}
	return &Writer{m: m, w: w, opts: opts, carry: -1}
}

// ErrClosed is returned by a Write after Close.
var ErrClosed = errors.New("redact: write after close")

// Write redacts p as far as it can be decided and writes that on; it holds
// back only the bytes after the last line break that may still turn out to
// be part of a value (fewer than the longest form's length). It returns
// len(p) unless the underlying writer failed.
func (r *Writer) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return 0, ErrClosed
	}
	if r.err != nil {
		return 0, r.err
	}
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	if len(r.held) == 0 && r.carry < 0 && r.m.maxLen == 0 {
		if _, err := r.w.Write(p); err != nil {
			r.err = err
			return 0, err
		}
		return len(p), nil
	}
	r.held = append(r.held, p...)
	// No form holds a line break, so nothing before the last one can still
	// change; past it, a form may be under way in the last maxLen-1 bytes.
	cut := len(r.held) - (r.m.maxLen - 1)
	if nl := bytes.LastIndexByte(r.held, '\n'); nl+1 > cut {
		cut = nl + 1
	}
	if err := r.emit(max(cut, 0)); err != nil {
		return 0, err
	}
	if len(r.held) > 0 {
		r.timer = r.opts.AfterFunc(r.opts.Quiet, r.quiet)
	}
	return len(p), nil
}

// quiet writes the held bytes that cannot start a value, after no output
// came for the quiet time: a prompt or a progress line shows without
// waiting for a line break.
func (r *Writer) quiet() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done || r.err != nil || len(r.held) == 0 {
		return
	}
	r.timer = nil
	_ = r.emit(r.m.pendingFrom(r.held)) // an error is kept for the next Write
}

// Close writes what is still held (redacted) and stops the quiet timer. It
// does not close the underlying writer.
func (r *Writer) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return r.err
	}
	r.done = true
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	if r.err != nil {
		return r.err
	}
	return r.emit(len(r.held))
}

// emit decides held[:cut] and writes it on: every run of covered bytes that
// starts there becomes one Mask (a run already open writes nothing more).
// A run that reaches cut or beyond stays open in the bytes kept.
func (r *Writer) emit(cut int) error {
	if cut == 0 {
		return nil // nothing decided; an open run stays open
	}
	buf := r.held
	r.runs = r.m.covered(buf, r.carry, r.runs[:0])
	out := r.out[:0]
	pos, carry := 0, -1
	for i, sp := range r.runs {
		if sp.start >= cut {
			break
		}
		out = append(out, buf[pos:sp.start]...)
		if !(i == 0 && r.carry >= 0 && sp.start == 0) {
			out = append(out, Mask...)
		}
		pos = sp.end
		if sp.end >= cut {
			// Open until the next byte is seen: a value starting right
			// after it (in a later write) continues this run.
			pos, carry = cut, sp.end-cut
			break
		}
	}
	if pos < cut {
		out = append(out, buf[pos:cut]...)
		pos = cut
	}
	r.carry = carry
	r.held = append(r.held[:0], buf[pos:]...)
	r.out = out
	if len(out) == 0 {
		return nil
	}
	if _, err := r.w.Write(out); err != nil {
		r.err = err
		return err
	}
	return nil
}
