package ghactions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func TestMaskValues(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload string
		want    []string
	}{
		{"empty", ``, nil},
		{"empty object", `{}`, nil},
		{"flat", `{"user": "admin-user", "password": "hunter22", "port": 5432, "ssl": true, "x": null}`,
			[]string{"admin-user", "hunter22"}},
		{"keys are not masked", `{"client_secret": {"refresh_token": "1//0gabcdef"}}`, []string{"1//0gabcdef"}},
		{"a key equal to a value", `{"token": "token"}`, []string{"token"}},
		{"nested objects and arrays", `{"a": {"b": ["secret-1", {"c": "secret-2"}, [["secret-3"]]]}}`,
			[]string{"secret-1", "secret-2", "secret-3"}},
		{"top-level array", `["one-value", 12345, "two-value"]`, []string{"one-value", "two-value"}},
		{"top-level string", `"just-a-string"`, []string{"just-a-string"}},
		{"numbers, booleans and null", `[1, 2.5, -0.1e3, 1e999, 123456789012345678901234567890, true, false, null]`, nil},
		{"digits in a string are masked", `{"pin": "12345"}`, []string{"12345"}},
		{"json in a string", `{"creds": "{\"client_secret\": \"s3cr3t-value\", \"n\": 1}"}`,
			[]string{`{"client_secret": "s3cr3t-value", "n": 1}`, "s3cr3t-value"}},
		{"json array in a string", `{"k": " [\"abcd\", \"efgh\"] "}`,
			[]string{`["abcd", "efgh"]`, "abcd", "efgh"}},
		{"json in json in a string", `{"k": "{\"k2\": \"{\\\"k3\\\": \\\"innermost\\\"}\"}"}`,
			[]string{`{"k2": "{\"k3\": \"innermost\"}"}`, `{"k3": "innermost"}`, "innermost"}},
		{"broken json in a string", `{"k": "{not json, \"at-all\""}`, []string{`{not json, "at-all"`}},
		{"a quoted scalar in a string is not unwrapped", `{"k": "\"quoted\""}`, []string{`"quoted"`}},
		{"multi-line", `{"key": "-----BEGIN KEY-----\nMIIEabcd\r\nxyz\n\n-----END KEY-----\n"}`,
			[]string{"-----BEGIN KEY-----", "MIIEabcd", "-----END KEY-----"}},
		{"escaped backslash-n is not a line break", `{"a": "line\\nstill-one"}`, []string{`line\nstill-one`}},
		{"lone CR splits", `{"a": "partONE\rpartTWO"}`, []string{"partONE", "partTWO"}},
		{"CR, CRLF and LF alike", `{"a": "line-one\rline-two\r\nline-three\nline-four\r\rline-five\n\rline-six"}`,
			[]string{"line-one", "line-two", "line-three", "line-four", "line-five", "line-six"}},
		{"not json: lone CR splits", "first-line\rsecond-line", []string{"first-line", "second-line"}},
		{"short values", `{"a": "abc", "b": "abcd", "c": "  ab  ", "d": "     ", "e": ""}`, []string{"abcd"}},
		{"trimmed", `{"a": "  padded value \t"}`, []string{"padded value"}},
		{"runes, not bytes", `{"a": "пароль", "b": "日本語", "c": "日本語x", "d": "🔑🔑🔑", "e": "🔑🔑🔑🔑"}`,
			[]string{"пароль", "日本語x", "🔑🔑🔑🔑"}},
		{"escapes decoded", `{"a": "caf\u00e9 \u0041BC", "b": "100%\"x"}`, []string{"café ABC", `100%"x`}},
		{"dedupe in order of appearance", `{"b": "zzzz-value", "a": ["aaaa-value", "zzzz-value"], "c": "aaaa-value"}`,
			[]string{"zzzz-value", "aaaa-value"}},
		{"not json: every line", "password=hunter22\r\nuser=admin\nx\n", []string{"password=hunter22", "user=admin"}},
		{"truncated json: strings read, then every line", `{"a": "secret-one", "b": tru`,
			[]string{"secret-one", `{"a": "secret-one", "b": tru`}},
		{"trailing garbage", `{"a": "secret-one"} trailing`, []string{"secret-one", `{"a": "secret-one"} trailing`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := MaskValues([]byte(tc.payload))
			if !slices.Equal(got, tc.want) {
				t.Errorf("MaskValues(%s)\n got %q\nwant %q", tc.payload, got, tc.want)
			}
		})
	}
}

func TestMaskValuesDeterministic(t *testing.T) {
	p := []byte(`{"z": "value-z", "a": "value-a", "m": {"q": "value-q", "b": "value-b"}}`)
	first := MaskValues(p)
	for range 20 {
		if got := MaskValues(p); !slices.Equal(got, first) {
			t.Fatalf("got %q then %q", first, got)
		}
	}
}

func TestMaskValuesDepthBomb(t *testing.T) {
	const n = 100000
	for _, tc := range []struct {
		name    string
		payload string
		want    []string
	}{
		{"arrays", strings.Repeat("[", n) + `"deep-secret"` + strings.Repeat("]", n), []string{"deep-secret"}},
		{"objects", strings.Repeat(`{"k":`, n) + `"deep-secret"` + strings.Repeat("}", n), []string{"deep-secret"}},
		{"unclosed", strings.Repeat("[", n) + `"deep-secret"`, []string{"deep-secret", strings.Repeat("[", n) + `"deep-secret"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := MaskValues([]byte(tc.payload)); !slices.Equal(got, tc.want) {
				t.Errorf("got %d values, want %d", len(got), len(tc.want))
			}
		})
	}
}

// JSON nested in strings grows exponentially with escaping, so MaxDepth is a
// guard rather than a limit real data meets; a dozen levels unwrap fine.
func TestMaskValuesNestedStrings(t *testing.T) {
	v := any(map[string]any{"k": "innermost"})
	for range 12 {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		v = map[string]any{"k": string(b)}
	}
	b, _ := json.Marshal(v)
	got := MaskValues(b)
	if !slices.Contains(got, "innermost") || len(got) != 13 {
		t.Errorf("got %d values %q", len(got), got)
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain":      "plain",
		"100%":       "100%25",
		"%0A":        "%250A",
		"a\r\nb":     "a%0D%0Ab",
		"::x,y:z::":  "::x,y:z::",
		"naïve 🔑":    "naïve 🔑",
		"%%\n\n\r\r": "%25%25%0A%0A%0D%0D",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

// countingWriter records each Write call separately.
type countingWriter struct {
	mu     sync.Mutex
	writes []string
	err    error
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

func TestMasker(t *testing.T) {
	w := &countingWriter{}
	m := NewMasker(w)
	if err := m.Mask([]string{"first-value", "100%", "a\nb", "first-value", "", "   "}); err != nil {
		t.Fatal(err)
	}
	if err := m.Mask([]string{"first-value", "second-value\r\nthird-value\rb"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Mask([]string{"first-value"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Mask(nil); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"::add-mask::first-value\n::add-mask::100%25\n::add-mask::a\n::add-mask::b\n",
		"::add-mask::second-value\n::add-mask::third-value\n",
	}
	if !slices.Equal(w.writes, want) {
		t.Errorf("writes %q\nwant %q", w.writes, want)
	}
}

func TestMaskerRetriesAfterWriteError(t *testing.T) {
	w := &countingWriter{err: errors.New("disk full")}
	m := NewMasker(w)
	if err := m.Mask([]string{"some-value"}); err == nil || strings.Contains(err.Error(), "some-value") {
		t.Fatalf("error %v: want one without the value", err)
	}
	w.err = nil
	if err := m.Mask([]string{"some-value"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"::add-mask::some-value\n"}; !slices.Equal(w.writes, want) {
		t.Errorf("writes %q", w.writes)
	}
}

func TestMaskerConcurrent(t *testing.T) {
	var buf bytes.Buffer // not safe on its own: the Masker must serialise
	m := NewMasker(&buf)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				if err := m.Mask([]string{fmt.Sprintf("value-%d", i), fmt.Sprintf("goroutine-%d-%d", g, i)}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 50+16*50 {
		t.Errorf("%d lines, want %d", len(lines), 50+16*50)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		if !strings.HasPrefix(l, "::add-mask::") || seen[l] {
			t.Fatalf("bad or repeated line %q", l)
		}
		seen[l] = true
	}
}

func TestEnabled(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "GITHUB_ACTIONS" {
				return v
			}
			return ""
		}
	}
	for _, tc := range []struct {
		mode, env string
		want      bool
	}{
		{"auto", "true", true},
		{"auto", "", false},
		{"auto", "false", false},
		{"auto", "TRUE", false},
		{"always", "", true},
		{"never", "true", false},
	} {
		got, err := Enabled(tc.mode, env(tc.env))
		if err != nil || got != tc.want {
			t.Errorf("Enabled(%q) with GITHUB_ACTIONS=%q = %v, %v; want %v", tc.mode, tc.env, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "yes", "Auto", "true"} {
		_, err := Enabled(bad, env("true"))
		if err == nil || !strings.Contains(err.Error(), "--mask") || !strings.Contains(err.Error(), "auto, always, never") {
			t.Errorf("Enabled(%q) error %v; want one naming --mask and its values", bad, err)
		}
	}
}

func FuzzMaskValues(f *testing.F) {
	for _, s := range []string{
		`{"a": "hunter22"}`, `[1, true, null, "x"]`, `{"k": "{\"n\": \"abcd\"}"}`,
		"line one\nline two\r\n", `{"a": "a\nbbbb\r\ncccc"}`, "[[[[[[", `"\ud800"`, "\xff\xfe",
	} {
		f.Add([]byte(s), "value")
	}
	f.Add([]byte(`{}`), "  padded \r")
	f.Add([]byte(`{}`), "日本語x")
	f.Add([]byte(`{"a": "partONE\rpartTWO"}`), "one\rtwo\r\nthree\n\rfour")
	f.Fuzz(func(t *testing.T, payload []byte, s string) {
		for _, v := range MaskValues(payload) {
			if v == "" || utf8.RuneCountInString(v) < MinLength {
				t.Fatalf("value %q is shorter than %d runes", v, MinLength)
			}
			if strings.ContainsAny(v, "\r\n") || strings.TrimSpace(v) != v {
				t.Fatalf("value %q is not one trimmed line", v)
			}
		}
		// Every line of a string field, as the runner splits lines, is
		// masked when it has at least MinLength runes after trimming.
		if b, err := json.Marshal(map[string]string{"field": s}); err == nil {
			var back map[string]string
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			got := MaskValues(b)
			for _, line := range runnerLines(back["field"]) {
				if l := strings.TrimSpace(line); utf8.RuneCountInString(l) >= MinLength && !slices.Contains(got, l) {
					t.Fatalf("MaskValues(%s) = %q misses line %q", b, got, l)
				}
			}
		}
		// Every mask line the Masker writes is one runner line.
		var buf bytes.Buffer
		if err := NewMasker(&buf).Mask(append(MaskValues(payload), s)); err != nil {
			t.Fatal(err)
		}
		for _, line := range runnerLines(strings.TrimSuffix(buf.String(), "\n")) {
			if line != "" && !strings.HasPrefix(line, "::add-mask::") {
				t.Fatalf("Masker wrote a line %q that is not a mask", line)
			}
		}
		// A one-line string field of at least MinLength runes (after
		// trimming) is always masked.
		b, err := json.Marshal(map[string]string{"field": s})
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		v := strings.TrimSpace(back["field"]) // as JSON carries it (invalid UTF-8 replaced)
		if strings.ContainsAny(v, "\r\n") || utf8.RuneCountInString(v) < MinLength {
			return
		}
		if got := MaskValues(b); !slices.Contains(got, v) {
			t.Fatalf("MaskValues(%s) = %q misses %q", b, got, v)
		}
	})
}

// runnerLines splits s the way the runner does, written independently of
// Lines (a regexp) so that one cannot hide a bug of the other.
func runnerLines(s string) []string {
	return regexp.MustCompile(`\r\n|\r|\n`).Split(s, -1)
}

func TestLines(t *testing.T) {
	for _, s := range []string{"", "a", "a\n", "\n", "\r", "\r\n", "\n\r", "a\rb\r\nc\nd", "a\r\r\nb", "\r\n\r\n", "x\r"} {
		if got, want := slices.Collect(Lines(s)), runnerLines(s); !slices.Equal(got, want) {
			t.Errorf("Lines(%q) = %q, want %q", s, got, want)
		}
	}
}
