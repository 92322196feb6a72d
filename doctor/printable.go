package doctor

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxField bounds one printed field, so a hostile label or file name cannot
// flood a report.
const maxField = 2000

// Printable makes text from a server or the repository safe to print on one
// line of a terminal, a CI log or a Markdown table: control characters, line
// breaks, invisible and bidirectional format characters and invalid UTF-8
// become Go escapes (\n, \x1b, \u202e), and the text can never start a
// GitHub Actions workflow command: the runner takes a line whose first
// characters after any leading white space are "::" as one, so that ':' is
// escaped whatever spaces (or no-break spaces) come before it. It is a small
// local stand-in for a shared sanitizer in ghactions.
func Printable(s string) string {
	if len(s) > maxField {
		s = s[:maxField] + "..."
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteString(strings.Trim(fmt.Sprintf("%q", string(r)), `"`))
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029':
			if r <= 0xff {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
		i += size
	}
	out := b.String()
	if rest := strings.TrimLeftFunc(out, unicode.IsSpace); strings.HasPrefix(rest, "::") {
		out = out[:len(out)-len(rest)] + `\:` + rest[1:]
	}
	return out
}
