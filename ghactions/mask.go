// Package ghactions keeps secret values out of GitHub Actions logs: it picks
// the values of a JSON payload worth masking and prints them as
// "::add-mask::" workflow commands, before anything else could print them.
//
// It owns the masking rules and the workflow-command escaping. It never logs,
// never writes a value anywhere but the Masker's writer, never talks to
// Secret Manager and never touches secret files.
package ghactions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"
	"sync"
	"unicode/utf8"
)

// MinLength is the shortest value, in runes, that is masked: shorter ones
// ("us", "1", "yes") would blank out ordinary words all over the log.
const MinLength = 4

// MaxDepth bounds how many levels of JSON held inside JSON strings are
// unwrapped. Nesting of arrays and objects within one document is walked
// without recursion and has no limit.
const MaxDepth = 64

// MaskValues returns the values of payload that must be masked:
//
//   - every string value of the JSON document, at any depth of objects and
//     arrays; keys, numbers, booleans and null are not secret and not masked;
//   - a string that itself holds a JSON object or array is masked whole and
//     its own string values too (up to MaxDepth levels of such nesting);
//   - a multi-line value is masked line by line, split on "\n", "\r\n" and
//     a lone "\r" alike: the runner reads its log with .NET's ReadLine,
//     which ends a line at each of the three, and matches a mask only
//     within one line, so a value holding any of them is never matched
//     whole;
//   - each line is trimmed of surrounding white space (masking the trimmed
//     text also hides the padded one) and skipped when it has fewer than
//     MinLength runes;
//   - a payload that is not valid JSON is masked line by line as a whole, in
//     addition to the strings read before the error.
//
// The result is deduplicated, in order of first appearance.
func MaskValues(payload []byte) []string {
	c := collector{seen: map[string]bool{}}
	if !c.walk(payload, 0) {
		c.lines(string(payload))
	}
	return c.out
}

type collector struct {
	seen map[string]bool
	out  []string
}

func (c *collector) add(v string) {
	if utf8.RuneCountInString(v) < MinLength || c.seen[v] {
		return
	}
	c.seen[v] = true
	c.out = append(c.out, v)
}

// lines adds each line of s, trimmed.
func (c *collector) lines(s string) {
	for line := range Lines(s) {
		c.add(strings.TrimSpace(line))
	}
}

// Lines yields the lines of s as the GitHub runner splits its log: at
// "\r\n", "\n" or a lone "\r". The separators are not part of the lines.
func Lines(s string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for {
			i := strings.IndexAny(s, "\r\n")
			if i < 0 {
				yield(s)
				return
			}
			if !yield(s[:i]) {
				return
			}
			if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			s = s[i+1:]
		}
	}
}

// walk adds the string values of the JSON text data and reports whether it
// was valid JSON. It reads tokens, so deep nesting costs heap, not stack.
func (c *collector) walk(data []byte, depth int) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // numbers are skipped; never fail on 1e999
	// One frame per open container. In an object tokens alternate key and
	// value, a nested container counting as one value.
	type frame struct{ object, keyNext bool }
	var stack []frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return len(stack) == 0 // an unclosed container is not valid JSON
		}
		if err != nil {
			return false
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		isKey := false
		if n := len(stack); n > 0 && stack[n-1].object {
			isKey = stack[n-1].keyNext
			stack[n-1].keyNext = !isKey
		}
		switch v := tok.(type) {
		case json.Delim:
			stack = append(stack, frame{object: v == '{', keyNext: v == '{'})
		case string:
			if !isKey {
				c.str(v, depth)
			}
		}
	}
}

// str adds one string value: whole (line by line), and its contents when it
// holds a JSON object or array.
func (c *collector) str(s string, depth int) {
	c.lines(s)
	if depth >= MaxDepth {
		return
	}
	if t := strings.TrimSpace(s); t != "" && (t[0] == '{' || t[0] == '[') {
		// Invalid nested JSON adds only what was read before the error:
		// those are string values all the same.
		c.walk([]byte(t), depth+1)
	}
}

// Masker prints ::add-mask:: commands, each value once, and is safe for
// concurrent use.
type Masker struct {
	mu   sync.Mutex
	w    io.Writer
	seen map[string]bool
}

// NewMasker returns a Masker writing to w (stdout in a workflow step, or a
// file the runner reads).
func NewMasker(w io.Writer) *Masker {
	return &Masker{w: w, seen: map[string]bool{}}
}

// Mask writes one "::add-mask::VALUE" line for each line of each value not
// masked before (lines as Lines splits them), all in a single Write so lines
// of concurrent calls never interleave. Lines that are empty or only white
// space are skipped: masking them would
// blank the whole log. On a write error the values are not recorded, so a
// later call tries them again.
func (m *Masker) Mask(values []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var buf bytes.Buffer
	var added []string
	batch := map[string]bool{}
	for _, value := range values {
		// A mask holding a line break could never match one log line, so
		// each line of a value is a mask of its own.
		for v := range Lines(value) {
			if strings.TrimSpace(v) == "" || m.seen[v] || batch[v] {
				continue
			}
			batch[v] = true
			added = append(added, v)
			buf.WriteString("::add-mask::")
			buf.WriteString(Escape(v))
			buf.WriteByte('\n')
		}
	}
	if buf.Len() == 0 {
		return nil
	}
	if _, err := m.w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write ::add-mask:: commands: %w", err)
	}
	for _, v := range added {
		m.seen[v] = true
	}
	return nil
}

var escaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")

// Escape encodes a workflow command's data as the runner expects: '%', CR
// and LF become %25, %0D and %0A.
func Escape(s string) string { return escaper.Replace(s) }

// Mask modes accepted by Enabled.
const (
	ModeAuto   = "auto"
	ModeAlways = "always"
	ModeNever  = "never"
)

// Enabled decides whether to print masks for the --mask flag: always, never,
// or auto, which masks when running in GitHub Actions (GITHUB_ACTIONS=true).
// getenv nil means os.Getenv.
func Enabled(mode string, getenv func(string) string) (bool, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	switch mode {
	case ModeAuto:
		return getenv("GITHUB_ACTIONS") == "true", nil
	case ModeAlways:
		return true, nil
	case ModeNever:
		return false, nil
	}
	return false, fmt.Errorf("--mask %q is not one of auto, always, never", mode)
}
