package ghactions

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sanitize makes text that came from outside the program (a server's secret
// and version names, its error messages, label values) safe to print on one
// line of a GitHub Actions log, a terminal or a JSON field that someone
// prints with `jq -r`:
//
//   - "\r", "\n" and "\t" become the two characters `\r`, `\n` and `\t`;
//     other C0 controls, DEL and the C1 controls become `\xNN`;
//   - the Unicode line and paragraph separators (U+2028, U+2029) become
//     `\u2028` and `\u2029`, since some viewers break lines there, and so do
//     invisible format characters (Unicode category Cf: bidirectional
//     overrides such as U+202E, zero-width spaces), which can make printed
//     text read otherwise than it is;
//   - bytes that are not UTF-8 become `\xNN`;
//   - a "::" at the start (after white space, which the runner skips too)
//     becomes `\x3a:`, so the text cannot be read as a workflow command even
//     when it is printed at the start of a line.
//
// The runner ends a line at "\n", "\r\n" and a lone "\r", and reads a line
// starting with "::" as a command: "::stop-commands::" in an error message
// would make it ignore every "::add-mask::" after it. With no line break
// left, and no leading "::", sanitized text can never start a line that is a
// command. Text with nothing to escape is returned as it is.
func Sanitize(s string) string {
	if clean(s) {
		return s
	}
	cmd := commandAt(s)
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			fmt.Fprintf(&b, `\x%02x`, r)
		case r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		case i == cmd:
			b.WriteString(`\x3a`)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// commandAt returns the index of a "::" that starts s after white space, or
// -1. The runner trims leading white space before it looks for "::".
func commandAt(s string) int {
	t := strings.TrimLeftFunc(s, unicode.IsSpace)
	if !strings.HasPrefix(t, "::") {
		return -1
	}
	return len(s) - len(t)
}

// clean reports whether s has nothing Sanitize would change.
func clean(s string) bool {
	if commandAt(s) >= 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			// Non-ASCII text is common and mostly fine, but C1 controls,
			// separators and invalid bytes hide there: check it rune by rune.
			return c >= 0x80 && cleanUnicode(s[i:])
		}
	}
	return true
}

func cleanUnicode(s string) bool {
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return false
			}
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f, r == '\u2028', r == '\u2029', unicode.Is(unicode.Cf, r):
			return false
		}
	}
	return true
}
