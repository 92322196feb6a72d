package doctor

import "github.com/airbytehq/ci-secrets/ghactions"

// maxField bounds one printed field, so a hostile label or file name cannot
// flood a report.
const maxField = 2000

// Printable makes text from a server or the repository safe to print on one
// line of a terminal, a CI log or a Markdown table: ghactions.Sanitize (the
// one sanitizer for outside text: control characters, line breaks, format
// characters and invalid UTF-8 escaped, no leading "::"), after cutting the
// text to maxField bytes.
func Printable(s string) string {
	if len(s) > maxField {
		s = s[:maxField] + "..."
	}
	return ghactions.Sanitize(s)
}
