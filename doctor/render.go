package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/airbytehq/ci-secrets/gsm"
)

// SchemaVersion is the version of the JSON document; fields are only added.
const SchemaVersion = 1

// Document is the JSON form of a report.
type Document struct {
	SchemaVersion int       `json:"schema_version"`
	Summary       DocCounts `json:"summary"`
	Problems      []Problem `json:"problems"`
	Skipped       []Skipped `json:"skipped"`
	Cost          gsm.Stats `json:"cost"`
}

// DocCounts is the summary of a Document.
type DocCounts struct {
	Summary
	Secrets    int `json:"secrets"`
	Connectors int `json:"connectors"`
}

// NewDocument wraps a report and what it cost.
func NewDocument(r Report, cost gsm.Stats) Document {
	d := Document{SchemaVersion: SchemaVersion, Problems: r.Problems, Skipped: r.Skipped, Cost: cost,
		Summary: DocCounts{Summary: Summarize(r.Problems), Secrets: r.Secrets, Connectors: r.Connectors}}
	if d.Problems == nil {
		d.Problems = []Problem{}
	}
	if d.Skipped == nil {
		d.Skipped = []Skipped{}
	}
	return d
}

// WriteJSON writes the document, indented.
func (d Document) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(d)
}

// WriteTable writes the report for a terminal or a CI log, grouped by
// severity, each problem with its fix.
func (d Document) WriteTable(w io.Writer) error {
	var b strings.Builder
	for _, g := range []struct {
		sev   Severity
		title string
	}{{Error, "ERRORS"}, {Warning, "WARNINGS"}, {Info, "INFO"}} {
		var ps []Problem
		for _, p := range d.Problems {
			if p.Severity == g.sev {
				ps = append(ps, p)
			}
		}
		if len(ps) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s (%d)\n", g.title, len(ps))
		for _, p := range ps {
			fmt.Fprintf(&b, "  %s%s\n    %s\n    fix: %s\n", p.Kind, subject(p), p.Message, p.Fix)
		}
		b.WriteString("\n")
	}
	for _, s := range d.Skipped {
		fmt.Fprintf(&b, "skipped %s checks: %s\n", s.Check, s.Reason)
	}
	fmt.Fprintf(&b, "%s; cost: %s\n", d.headline(), costLine(d.Cost))
	_, err := io.WriteString(w, b.String())
	return err
}

func subject(p Problem) string {
	var parts []string
	for _, f := range []struct{ k, v string }{{"secret", p.Secret}, {"connector", p.Connector}, {"file", p.File}} {
		if f.v != "" {
			parts = append(parts, f.k+"="+f.v)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "  " + strings.Join(parts, " ")
}

func (d Document) headline() string {
	s := d.Summary
	checked := fmt.Sprintf("%s, %s checked", count(s.Secrets, "secret", "secrets"), count(s.Connectors, "connector folder", "connector folders"))
	if len(d.Problems) == 0 {
		return "no problems found (" + checked + ")"
	}
	return fmt.Sprintf("%s, %s, %s (%s)", count(s.Errors, "error", "errors"), count(s.Warnings, "warning", "warnings"), count(s.Info, "info", "info"), checked)
}

func costLine(c gsm.Stats) string {
	return fmt.Sprintf("%s, %s, %s",
		count(int(c.ReadRequests), "read request", "read requests"),
		count(int(c.AccessRequests), "access request", "access requests"),
		count(int(c.Retries), "retry", "retries"))
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// maxSummary keeps the Markdown under the 1 MiB GitHub allows a step summary,
// with room for what other steps write.
const maxSummary = 512 << 10

// WriteMarkdown writes the report as GitHub-flavoured Markdown, fit for
// $GITHUB_STEP_SUMMARY: a table of problems, the checks skipped and the cost.
func (d Document) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("## ci-secrets doctor\n\n")
	b.WriteString(mdEscape(d.headline()) + "\n\n")
	if len(d.Problems) > 0 {
		b.WriteString("| Severity | Kind | Secret | Connector | File | Problem | Fix |\n|---|---|---|---|---|---|---|\n")
		for i, p := range d.Problems {
			row := fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s |\n", p.Severity, mdEscape(string(p.Kind)),
				mdEscape(p.Secret), mdEscape(p.Connector), mdEscape(p.File), mdEscape(p.Message), mdEscape(p.Fix))
			if b.Len()+len(row) > maxSummary {
				fmt.Fprintf(&b, "\n%d more problems are not shown here: run ci-secrets doctor --output json for all of them.\n", len(d.Problems)-i)
				break
			}
			b.WriteString(row)
		}
		b.WriteString("\n")
	}
	for _, s := range d.Skipped {
		fmt.Fprintf(&b, "- skipped %s checks: %s\n", mdEscape(s.Check), mdEscape(s.Reason))
	}
	fmt.Fprintf(&b, "- cost: %s\n", costLine(d.Cost))
	_, err := io.WriteString(w, b.String())
	return err
}

var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"&", "&amp;", "<", "&lt;", ">", "&gt;", "\n", " ", "\r", " ")

// mdEscape makes text literal inside a Markdown table cell: no markup, no
// HTML, no cell break.
func mdEscape(s string) string { return mdEscaper.Replace(s) }
