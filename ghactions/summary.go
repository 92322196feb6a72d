package ghactions

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxSummaryBytes is the runner's limit for one step's summary (1 MiB); a
// summary that would pass it is cut, with a line saying so, rather than lost.
const MaxSummaryBytes = 1 << 20

// Summary is a job's result for $GITHUB_STEP_SUMMARY: a table of what was
// done, the failures, and the cost line. It carries names, paths, versions
// and error texts, never a secret value; every cell is escaped, because
// names and error texts may come from labels or server answers.
type Summary struct {
	Title    string     // e.g. "ci-secrets sync"
	Headers  []string   // the table's columns
	Rows     [][]string // one per file, same length as Headers
	Empty    string     // said instead of the table when Rows is empty
	Notes    []string   // lines under the table (missing connectors, warnings)
	Failures []Failure
	Cost     string // the run's cost line, as printed on stdout
}

// Failure is one failed secret (or file, or connector) and why.
type Failure struct {
	Subject string
	Message string
}

// Markdown renders the summary, at most max bytes long (MaxSummaryBytes when
// max <= 0).
func (s Summary) Markdown(max int) string {
	if max <= 0 {
		max = MaxSummaryBytes
	}
	var b strings.Builder
	status := "succeeded"
	if len(s.Failures) > 0 {
		status = fmt.Sprintf("%d failed", len(s.Failures))
	}
	fmt.Fprintf(&b, "### %s: %s\n\n", cell(s.Title), status)
	const cut = "\n_(summary cut at the runner's 1 MiB limit; the step log has everything)_\n"
	budget := max - len(cut) - 1024 // room for the failures' heading and the cost line
	if len(s.Rows) == 0 {
		if s.Empty != "" {
			fmt.Fprintf(&b, "%s\n\n", cell(s.Empty))
		}
	} else {
		writeRow(&b, s.Headers)
		seps := make([]string, len(s.Headers))
		for i := range seps {
			seps[i] = "---"
		}
		b.WriteString("|" + strings.Join(seps, "|") + "|\n")
		for i, r := range s.Rows {
			var line strings.Builder
			writeRow(&line, r)
			if b.Len()+line.Len() > budget {
				fmt.Fprintf(&b, "| _%d more rows not shown_ |\n", len(s.Rows)-i)
				break
			}
			b.WriteString(line.String())
		}
		b.WriteString("\n")
	}
	for _, n := range s.Notes {
		if b.Len()+len(n) > budget {
			break
		}
		fmt.Fprintf(&b, "%s\n\n", cell(n))
	}
	if len(s.Failures) > 0 {
		b.WriteString("**Failures**\n\n")
		for i, f := range s.Failures {
			line := fmt.Sprintf("- `%s`: %s\n", code(f.Subject), cell(f.Message))
			if b.Len()+len(line) > budget {
				fmt.Fprintf(&b, "- _%d more failures not shown_\n", len(s.Failures)-i)
				break
			}
			b.WriteString(line)
		}
		b.WriteString("\n")
	}
	if s.Cost != "" {
		fmt.Fprintf(&b, "%s\n", cell(s.Cost))
	}
	out := b.String()
	if len(out) > max {
		out = strings.ToValidUTF8(out[:max-len(cut)], "") + cut
	}
	return out
}

func writeRow(b *strings.Builder, cells []string) {
	b.WriteString("|")
	for _, c := range cells {
		b.WriteString(" " + cell(c) + " |")
	}
	b.WriteString("\n")
}

// cell makes untrusted text inert in Markdown on one line: no table break,
// no HTML, no link or image syntax, no emphasis that runs across cells.
var cellEscaper = strings.NewReplacer(
	"\r\n", " ", "\r", " ", "\n", " ",
	"|", `\|`, "<", "&lt;", ">", "&gt;", "&", "&amp;",
	"[", `\[`, "]", `\]`, "`", "'", "*", `\*`, "_", `\_`,
)

func cell(s string) string { return cellEscaper.Replace(s) }

// code is text for inside backticks: a backtick would end the span early.
func code(s string) string {
	return strings.NewReplacer("`", "'", "\r", " ", "\n", " ").Replace(s)
}

// AppendSummary appends markdown to the step summary file the runner named
// in $GITHUB_STEP_SUMMARY (path). The runner creates that file; one that is
// missing is created 0600 rather than failing the step.
func AppendSummary(path, markdown string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open the step summary %s (GITHUB_STEP_SUMMARY): %w", path, err)
	}
	if _, err := io.WriteString(f, markdown); err != nil {
		f.Close()
		return fmt.Errorf("append to the step summary %s (GITHUB_STEP_SUMMARY): %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("append to the step summary %s (GITHUB_STEP_SUMMARY): %w", path, err)
	}
	return nil
}

// propertyEscaper encodes a workflow command's property value: the data
// escapes plus ':' and ',', which separate properties.
var propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")

// Annotate prints one "::error title=TITLE::MESSAGE" workflow command, so the
// failure shows on the run's page and in the pull request. Both parts are
// escaped, so a message cannot end the command early or start another.
func Annotate(w io.Writer, level, title, message string) error {
	switch level {
	case "error", "warning", "notice":
	default:
		return fmt.Errorf("annotation level %q is not one of error, warning, notice", level)
	}
	_, err := fmt.Fprintf(w, "::%s title=%s::%s\n", level, propertyEscaper.Replace(title), Escape(message))
	return err
}

// SetOutput appends a step output to the file the runner named in
// $GITHUB_OUTPUT (path), in the multi-line form NAME<<DELIM ... DELIM. The
// delimiter is random, so no value line can end the block early and set
// another output.
func SetOutput(path, name, value string) error {
	if !validOutputName(name) {
		return fmt.Errorf("output name %q must be letters, digits, '-' and '_'", name)
	}
	var r [12]byte
	if _, err := rand.Read(r[:]); err != nil {
		return fmt.Errorf("make a delimiter for output %s: %w", name, err)
	}
	delim := "ci_secrets_" + hex.EncodeToString(r[:])
	if strings.Contains(value, delim) {
		return fmt.Errorf("output %s holds its own delimiter; refusing to write it", name)
	}
	value = strings.TrimSuffix(value, "\n")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open the step outputs %s (GITHUB_OUTPUT): %w", path, err)
	}
	if _, err := fmt.Fprintf(f, "%s<<%s\n%s\n%s\n", name, delim, value, delim); err != nil {
		f.Close()
		return fmt.Errorf("append output %s to %s (GITHUB_OUTPUT): %w", name, path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("append output %s to %s (GITHUB_OUTPUT): %w", name, path, err)
	}
	return nil
}

func validOutputName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}
