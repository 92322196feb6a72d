package doctor

import (
	"strings"
)

// commands words the gcloud and ci-secrets commands fixes suggest, for the
// project and location the run looked at.
type commands struct {
	project, location string
}

func (c commands) gcloud(args ...string) string {
	var b strings.Builder
	b.WriteString("gcloud secrets")
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(shellQuote(a))
	}
	if c.location != "" {
		b.WriteString(" --location=" + shellQuote(c.location))
	}
	if c.project != "" {
		b.WriteString(" --project=" + shellQuote(c.project))
	}
	return b.String()
}

// shellQuote leaves words of the safe charset alone (every valid secret
// ID, version and path) and single-quotes anything else, so a fix pasted into
// a shell does what it says even for a hostile name.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=,:") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
