package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

// reference redacts a whole text at once: every byte covered by any
// occurrence of any pattern, runs merged when they overlap or touch, each
// run one Mask. It is the slow, obvious meaning of the streaming Writer.
func reference(text string, patterns []string) string {
	covered := make([]bool, len(text)+1)
	for _, p := range patterns {
		for i := 0; i+len(p) <= len(text); i++ {
			if text[i:i+len(p)] == p {
				for j := i; j < i+len(p); j++ {
					covered[j] = true
				}
			}
		}
	}
	// Touching runs (one ends where the next starts) merge too: mark
	// boundaries of adjacent occurrences by covering them as one run.
	var b strings.Builder
	for i := 0; i < len(text); {
		if !covered[i] {
			b.WriteByte(text[i])
			i++
			continue
		}
		for i < len(text) && covered[i] {
			i++
		}
		b.WriteString(Mask)
	}
	return b.String()
}

func patternsOf(values []string) []string {
	var out []string
	for _, v := range values {
		out = append(out, Forms(v)...)
	}
	return out
}

// fakeClock lets a test fire the quiet-time flush when it chooses.
type fakeClock struct {
	mu      sync.Mutex
	pending []*fakeTimer
}

type fakeTimer struct {
	f       func()
	stopped bool
	d       time.Duration
}

func (t *fakeTimer) Stop() bool { was := !t.stopped; t.stopped = true; return was }

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{f: f, d: d}
	c.pending = append(c.pending, t)
	return t
}

// fire runs every timer not stopped, as if the quiet time had passed.
func (c *fakeClock) fire() int {
	c.mu.Lock()
	ts := c.pending
	c.pending = nil
	c.mu.Unlock()
	n := 0
	for _, t := range ts {
		if !t.stopped {
			t.stopped = true
			t.f()
			n++
		}
	}
	return n
}

func newTestWriter(values []string) (*Writer, *bytes.Buffer, *fakeClock) {
	var out bytes.Buffer
	clk := &fakeClock{}
	w := NewMatcher(values).NewWriter(&out, Options{AfterFunc: clk.AfterFunc})
	return w, &out, clk
}

func TestWholeSplitLinesJSONBase64(t *testing.T) {
	secret := `pa"ss/wörd-<x>`
	pem := "-----BEGIN KEY-----\nline-one-of-key\nline-two-of-key\n-----END KEY-----"
	values := []string{secret, "line-one-of-key", "line-two-of-key", "-----BEGIN KEY-----", "-----END KEY-----"}
	goJSON, _ := json.Marshal(secret)
	pemJSON, _ := json.Marshal(pem)
	config, _ := json.Marshal(map[string]string{"password": secret, "pem": pem})
	cases := map[string][]string{
		"whole":          {"token=" + secret + "\n"},
		"split":          {"token=pa\"s", "s/w\xc3", "\xb6rd-<x> done\n"},
		"byte by byte":   strings.Split("x "+secret+" y\n", ""),
		"json go":        {string(goJSON) + "\n"},
		"json python":    {`"pa\"ss\/w\u00f6rd-<x>"` + "\n", `"pa\"ss/w\u00f6rd-\u003cx\u003e"` + "\n"},
		"multi-line":     {pem + "\n"},
		"multi-line esc": {string(pemJSON) + "\n"},
		"base64 value":   {base64.StdEncoding.EncodeToString([]byte(secret)) + "\n"},
		"base64 config":  {base64.StdEncoding.EncodeToString(config) + "\n", base64.URLEncoding.EncodeToString([]byte("12" + secret + "34"))},
		"base64 offsets": {base64.StdEncoding.EncodeToString([]byte("a" + secret)), "\n", base64.StdEncoding.EncodeToString([]byte("ab" + secret))},
	}
	for name, writes := range cases {
		t.Run(name, func(t *testing.T) {
			w, out, _ := newTestWriter(values)
			for _, p := range writes {
				if n, err := w.Write([]byte(p)); err != nil || n != len(p) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got := out.String()
			for _, p := range patternsOf(values) {
				if strings.Contains(got, p) {
					t.Fatalf("a form of a value (%d bytes) survived: %q", len(p), got)
				}
			}
			if !strings.Contains(got, Mask) {
				t.Fatalf("nothing was redacted: %q", got)
			}
			if want := reference(strings.Join(writes, ""), patternsOf(values)); got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}
}

func TestLinesPassAtOnceAndTailWaitsForQuiet(t *testing.T) {
	w, out, clk := newTestWriter([]string{"supersecret"})
	// A whole line is written on at once, whatever the values.
	w.Write([]byte("line one\nline two su"))
	if got := out.String(); got != "line one\n" {
		t.Fatalf("after the first write: %q", got)
	}
	// After the quiet time the tail shows, except "su", which may start
	// the value.
	if n := clk.fire(); n != 1 {
		t.Fatalf("%d timers fired, want 1", n)
	}
	if got := out.String(); got != "line one\nline two " {
		t.Fatalf("a possible start of a value was released: %q", got)
	}
	w.Write([]byte("persecret and more"))
	clk.fire()
	if got := out.String(); got != "line one\nline two *** and more" {
		t.Fatalf("after the value: %q", got)
	}
	// A prompt that cannot start a value shows after the quiet time.
	w.Write([]byte(" prompt> "))
	if got := out.String(); got != "line one\nline two *** and more" {
		t.Fatalf("the prompt showed before the quiet time: %q", got)
	}
	clk.fire()
	if got := out.String(); got != "line one\nline two *** and more prompt> " {
		t.Fatalf("after quiet: %q", got)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("x")); err != ErrClosed {
		t.Fatalf("write after close: %v", err)
	}
}

func TestQuietTimeIsTheOptionAndRearmed(t *testing.T) {
	var out bytes.Buffer
	clk := &fakeClock{}
	w := NewMatcher([]string{"supersecret"}).NewWriter(&out, Options{Quiet: 7 * time.Millisecond, AfterFunc: clk.AfterFunc})
	w.Write([]byte("abc"))
	w.Write([]byte("def"))
	if len(clk.pending) != 2 || !clk.pending[0].stopped || clk.pending[1].stopped || clk.pending[1].d != 7*time.Millisecond {
		t.Fatalf("timers: %+v", clk.pending)
	}
	clk.fire()
	if out.String() != "abcdef" {
		t.Fatalf("got %q", out.String())
	}
}

func TestHoldBackIsBounded(t *testing.T) {
	values := []string{"0123456789abcdef"}
	m := NewMatcher(values)
	w, out, _ := newTestWriter(values)
	in := strings.Repeat("x", 1000)
	w.Write([]byte(in))
	if held := len(in) - out.Len(); held >= m.MaxLen() {
		t.Fatalf("held %d bytes, longest form is %d", held, m.MaxLen())
	}
}

func TestNoValuesPassesThrough(t *testing.T) {
	w, out, clk := newTestWriter(nil)
	w.Write([]byte("abc"))
	if out.String() != "abc" || len(clk.pending) != 0 {
		t.Fatalf("got %q, %d timers", out.String(), len(clk.pending))
	}
}

func TestOverlappingAndAdjacentValues(t *testing.T) {
	values := []string{"abcdef", "defghi", "xyz1"}
	for _, in := range []string{"abcdefghi", "abcdefxyz1", "--abcdef--defghi--", "abcdabcdef"} {
		for _, chunk := range []int{1, 2, 3, 5, 100} {
			w, out, clk := newTestWriter(values)
			for i := 0; i < len(in); i += chunk {
				w.Write([]byte(in[i:min(i+chunk, len(in))]))
				clk.fire()
			}
			w.Close()
			if want := reference(in, patternsOf(values)); out.String() != want {
				t.Errorf("%q in chunks of %d: got %q, want %q", in, chunk, out.String(), want)
			}
		}
	}
}

func TestForms(t *testing.T) {
	forms := Forms("a/b\"c\x01é")
	for _, want := range []string{"a/b\"c\x01é", `a/b\"c\u0001é`, `a/b\"c\u0001\u00e9`, `a\/b\"c\u0001é`} {
		found := false
		for _, f := range forms {
			found = found || f == want
		}
		if !found {
			t.Errorf("Forms lacks %q; has %q", want, forms)
		}
	}
	for _, f := range Forms("one-line\nsecond-line") {
		if strings.Contains(f, "\n") {
			t.Errorf("form %q holds a line break", f)
		}
	}
}

// FuzzWriter: for random values and random chunkings (with quiet-time
// flushes at random points), no value survives and the output otherwise
// equals the input: it is exactly the whole-text redaction.
func FuzzWriter(f *testing.F) {
	f.Add("secret-one", "token", "xx secret-one yy\nsecret-token\n", int64(1))
	f.Add("abcd", "bcde", "abcdeabcd\nab", int64(7))
	f.Add("pass\"word", "line1", `"pass\"word"`+"\n"+base64.StdEncoding.EncodeToString([]byte("pass\"word")), int64(3))
	f.Fuzz(func(t *testing.T, v1, v2, text string, seed int64) {
		var values []string
		for _, v := range []string{v1, v2} {
			// Values never hold '*' (a Mask could then form one) and are
			// single lines, as ghactions.MaskValues gives them.
			v = strings.ReplaceAll(v, "*", "")
			for line := range strings.SplitSeq(v, "\n") {
				if len(line) >= minForm {
					values = append(values, line)
				}
			}
		}
		// Put the values in the text so they are not only found by chance.
		rng := rand.New(rand.NewPCG(uint64(seed), 0))
		for _, v := range values {
			for _, form := range Forms(v)[:min(3, len(Forms(v)))] {
				i := rng.IntN(len(text) + 1)
				text = text[:i] + form + text[i:]
			}
		}
		text = strings.ReplaceAll(text, "*", "")
		w, out, clk := newTestWriter(values)
		for rest := text; rest != ""; {
			n := 1 + rng.IntN(min(len(rest), 64))
			if _, err := w.Write([]byte(rest[:n])); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
			if rng.IntN(4) == 0 {
				clk.fire()
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		pats := patternsOf(values)
		got := out.String()
		for _, p := range pats {
			if strings.Contains(got, p) {
				t.Fatalf("a form (%q) survived in %q", p, got)
			}
		}
		if want := reference(text, pats); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}
