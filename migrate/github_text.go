package migrate

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"unicode"
)

// maxServerText bounds what of a server's message reaches the output.
const maxServerText = 300

// serverText makes text a server sent fit to print: the token redacted
// wherever it appears, every control and line-breaking character escaped
// (so the text stays on one line and cannot start a GitHub Actions workflow
// command, "::..."), and the length bounded.
func serverText(text, token string) string {
	if token != "" {
		text = strings.ReplaceAll(text, token, "[redacted]")
	}
	var b strings.Builder
	for _, r := range text {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\u2028' || r == '\u2029' || r == '\u0085' || unicode.IsControl(r) || r == unicode.ReplacementChar:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		if b.Len() > maxServerText {
			b.WriteString("...")
			break
		}
	}
	out := b.String()
	if strings.HasPrefix(strings.TrimSpace(out), "::") {
		out = `\` + out // never the start of a workflow command
	}
	return out
}

// checkAPIURL refuses a GitHub API base URL that would send the token in
// clear text over the network: plain http is for a server on this machine.
func checkAPIURL(u *url.URL) error {
	if u.Scheme == "https" {
		return nil
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return &InputError{File: "GitHub API URL", Msg: fmt.Sprintf("%q is plain http to another machine: the token would travel in clear text; use https:// (plain http is accepted only for a loopback address such as 127.0.0.1)", u.String())}
}
