package doctor

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain SECRET_A_CREDS":   "plain SECRET_A_CREDS",
		"a\nb\r\tc":              `a\nb\r\tc`,
		"\x1b[31mred":            `\x1b[31mred`,
		"evil\u202etxt.json":     `evil\u202etxt.json`,
		"::add-mask::x":          `\x3a:add-mask::x`,
		"  ::warning::x":         `  \x3a:warning::x`,
		"\u00a0\u3000::error::x": "\u00a0\u3000\\x3a:error::x",
		"a ::b":                  "a ::b",
		"bad\xffutf8":            `bad\xffutf8`,
		"naïve сonfig":           "naïve сonfig",
		"line\u2028sep":          `line\u2028sep`,
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Printable(strings.Repeat("x", 3*maxField)); len(got) != maxField+3 {
		t.Errorf("long text kept %d bytes, want %d", len(got), maxField+3)
	}
}

func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"", "a\nb", "::x", "\x00\xff", "\u202e", " \u00a0::x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Printable(s)
		if !utf8.ValidString(out) || strings.HasPrefix(strings.TrimLeftFunc(out, unicode.IsSpace), "::") {
			t.Fatalf("Printable(%q) = %q", s, out)
		}
		for _, r := range out {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
				t.Fatalf("Printable(%q) = %q keeps %U", s, out, r)
			}
		}
	})
}
