package ghactions

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"":                                   "",
		"SECRET_SOURCE-S3_CREDS":             "SECRET_SOURCE-S3_CREDS",
		"naïve 日本語 🔑":                        "naïve 日本語 🔑",
		"3\n::stop-commands::abc":            `3\n::stop-commands::abc`,
		"boom\r::warning::x":                 `boom\r::warning::x`,
		"a\r\nb":                             `a\r\nb`,
		"tab\there":                          `tab\there`,
		"nul\x00bell\x07esc\x1b[31mdel\x7f":  `nul\x00bell\x07esc\x1b[31mdel\x7f`,
		"c1 \u0085 \u009b":                   `c1 \x85 \x9b`,
		"line\u2028para\u2029":               `line\u2028para\u2029`,
		"evil\u202etxt.json zero\u200bwidth": `evil\u202etxt.json zero\u200bwidth`,
		"bad \xff\xfe utf8":                  `bad \xff\xfe utf8`,
		"::add-mask::x":                      `\x3a:add-mask::x`,
		":one colon":                         ":one colon",
		"a::b":                               "a::b",
		"\ufffd is a real character":         "\ufffd is a real character",
	} {
		if got := Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"", "plain", "x\n::stop-commands::t", "::x", "\r\r\n", "\xff", "\u2028", "\u0085", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Sanitize(s)
		if !utf8.ValidString(got) {
			t.Fatalf("Sanitize(%q) = %q is not UTF-8", s, got)
		}
		if strings.HasPrefix(strings.TrimLeftFunc(got, unicode.IsSpace), "::") {
			t.Fatalf("Sanitize(%q) = %q starts with ::", s, got)
		}
		for _, r := range got {
			if escaped(r) {
				t.Fatalf("Sanitize(%q) = %q keeps %U", s, got, r)
			}
		}
		for line := range Lines("prefix " + got + " suffix") {
			if line != "prefix "+got+" suffix" {
				t.Fatalf("Sanitize(%q) = %q splits into runner lines", s, got)
			}
		}
		if again := Sanitize(got); again != got {
			t.Fatalf("Sanitize is not stable on %q: %q then %q", s, got, again)
		}
		if safe := !strings.HasPrefix(strings.TrimLeftFunc(s, unicode.IsSpace), "::") && !strings.ContainsFunc(s, escaped) && utf8.ValidString(s); safe && got != s {
			t.Fatalf("Sanitize changed text with nothing to escape: %q to %q", s, got)
		}
	})
}

// escaped is the fuzz target's own list of the runes Sanitize must escape:
// controls, line separators and invisible format characters (category Cf).
func escaped(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r)
}
