package migrate

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Formats WriteTo understands.
const (
	FormatTable    = "table"
	FormatJSON     = "json"
	FormatMarkdown = "markdown"
)

// Formats lists the output formats, for flag help and validation.
var Formats = []string{FormatTable, FormatJSON, FormatMarkdown}

// Write renders the report in one of Formats.
func (r *Report) Write(w io.Writer, format string) error {
	switch format {
	case FormatTable:
		return r.WriteTable(w)
	case FormatJSON:
		return r.WriteJSON(w)
	case FormatMarkdown:
		return r.WriteMarkdown(w)
	}
	return fmt.Errorf("unknown format %q: use one of %s", format, strings.Join(Formats, ", "))
}

// WriteJSON writes the report as indented JSON (schema in docs/cli.md).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// SummaryLine is the one-line outcome, e.g. "9 registrations: 4 served, 5
// leftover; 6 variables: 2 safe to delete".
func (r *Report) SummaryLine() string {
	s := r.Summary
	line := fmt.Sprintf("%d registrations: %d served, %d leftover; %d variables: %d safe to delete",
		s.Registrations, s.Served, s.Leftover, s.Variables, s.SafeToDelete)
	if s.UnusedGitHubSecrets > 0 {
		line += fmt.Sprintf("; %d unused GitHub %s", s.UnusedGitHubSecrets, pluralWord(s.UnusedGitHubSecrets, "secret", "secrets"))
	}
	if s.NameAssumed > 0 {
		line += fmt.Sprintf("; %d %s no workflow passes", s.NameAssumed, pluralWord(s.NameAssumed, "name", "names"))
	}
	return line
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// unusedTitle explains the unused GitHub secrets section.
func (r *Report) unusedTitle() string {
	return "the workflows pass them to " + filepath.Base(r.Script) + ", which no longer reads them, and nothing else references them"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// where names a registration's file for people: connector/file, or the
// path of a write outside the connector folders.
func (reg Registration) where() string {
	if reg.Kind == KindOutside {
		return reg.Path
	}
	return reg.Connector + "/" + reg.File
}

// cells are the CONNECTOR and FILE columns: a write outside the connector
// folders has no connector, and its file is its whole path.
func (reg Registration) cells() (string, string) {
	if reg.Kind == KindOutside {
		return "-", reg.Path
	}
	return reg.Connector, reg.File
}

func variableCell(reg Registration) string {
	v := strings.Join(reg.Sources, "+")
	if len(reg.Via) > 0 {
		v += " (via " + strings.Join(reg.Via, ",") + ")"
	}
	return v
}

// registrationsCell counts the registrations, and those --rewrite removed.
func (v Variable) registrationsCell() string {
	if v.Removed > 0 {
		return fmt.Sprintf("%d (+%d removed)", v.Registrations, v.Removed)
	}
	return strconv.Itoa(v.Registrations)
}

// migratedTitle heads the registrations an earlier --rewrite removed.
const migratedTitle = "REMOVED BY --rewrite (marker comments; once their GitHub secrets are deleted, the comments can go)"

// passedAtLines are the env: entries to remove with the deletions.
func passedAtLines(ds []Deletion) []Reference {
	var out []Reference
	for _, d := range ds {
		out = append(out, d.PassedAt...)
	}
	return out
}

// assumed reports whether the variable's GitHub secret name is a guess:
// no workflow passes it, or no workflow was read.
func (v Variable) assumed(workflowsChecked bool) bool {
	return v.NameAssumed || !workflowsChecked && !v.Mapped
}

// assumedTitle heads the delete lines whose GitHub secret name is a guess.
const assumedTitle = "SAFE TO DELETE, NAME ASSUMED (no workflow passes these names to the script: check which GitHub secret holds each credential first)"

// possibleTitle heads the secrets that may hold what an assumed name reads.
const possibleTitle = "POSSIBLE SOURCES (passed to the script under names it does not read, while it reads names nothing passes: likely the same credential renamed; not safe to delete)"

// statusText is the variable's status for people: a leftover that is
// leftover only because its secret is read elsewhere says so.
func (v Variable) statusText() string {
	switch {
	case len(v.ManualEdits) > 0:
		lines := make([]int, len(v.ManualEdits))
		for i, m := range v.ManualEdits {
			lines[i] = m.Line
		}
		return string(v.Status) + " (needs a manual edit: " + pluralWord(len(lines), "line ", "lines ") + ints(lines) + ")"
	case v.StillReferenced:
		return string(v.Status) + " (still referenced)"
	}
	return string(v.Status)
}

// manualEditTitle explains the registrations that need a manual edit.
const manualEditTitle = "served, but --rewrite cannot remove the line: edit it out by hand, then the variable's GitHub secret can go"

// manualEditLines are the registrations needing a manual edit, one sentence each.
func (r *Report) manualEditLines() []string {
	var out []string
	for _, reg := range r.Registrations {
		if reg.ManualEdit != "" {
			out = append(out, fmt.Sprintf("needs a manual edit: line %d (%s/%s, %s): %s", reg.Line, reg.Connector, reg.File, strings.Join(reg.Sources, "+"), reg.ManualEdit))
		}
	}
	return out
}

// deleteTitle heads the gh secret delete lines: how far they were checked,
// and whether they wait for --rewrite (true before it, not after it).
func (r *Report) deleteTitle() string {
	if !r.WorkflowsChecked {
		return "SAFE TO DELETE as far as the script goes (workflows not checked: pass --workflows; " + r.rewriteClause() + ")"
	}
	if r.Actions != nil && r.Actions.GitHub != nil {
		return "SAFE TO DELETE (still in " + r.Actions.GitHub.Repo + "; " + r.rewriteClause() + ")"
	}
	return "SAFE TO DELETE (" + r.rewriteClause() + ")"
}

// rewriteClause says when the delete lines may run, from the state of the
// script: its lines still read them (run --rewrite first), only markers
// are left (--rewrite removed them), or some of each (marked per line).
func (r *Report) rewriteClause() string {
	pending := 0
	for _, d := range r.ToDelete {
		if d.ScriptReads {
			pending++
		}
	}
	switch pending {
	case len(r.ToDelete):
		return "once the script no longer reads them: run --rewrite first"
	case 0:
		return "the script no longer reads them: --rewrite removed their lines"
	}
	return "those marked are still read by the script: run --rewrite first; --rewrite removed the others' lines"
}

// pendingNote marks, when only some delete lines wait for --rewrite, those
// that do.
func (r *Report) pendingNote(d Deletion) string {
	if !d.ScriptReads {
		return ""
	}
	for _, o := range r.ToDelete {
		if !o.ScriptReads {
			return "  # after --rewrite: the script still reads " + strings.Join(d.Variables, ", ")
		}
	}
	return ""
}

// mdRewriteSentence is rewriteClause for the Markdown report.
func (r *Report) mdRewriteSentence() string {
	switch c := r.rewriteClause(); {
	case strings.HasPrefix(c, "once"):
		return "once the script no longer reads them (rewrite first)"
	case strings.HasPrefix(c, "the script"):
		return "the script no longer reads them (`--rewrite` removed their lines)"
	}
	return "those marked are still read by the script (rewrite first); `--rewrite` removed the others' lines"
}

// trailingWarnings are the warnings listed at the end: the one about
// unchecked workflows is printed before the delete lines instead.
func (r *Report) trailingWarnings() []string {
	var out []string
	for _, w := range r.Warnings {
		if w == NoWorkflowsWarning && len(r.ToDelete) > 0 {
			continue
		}
		out = append(out, w)
	}
	return out
}

func ints(l []int) string {
	s := make([]string, len(l))
	for i, n := range l {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// WriteTable writes the report as aligned text sections; empty sections are left out.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	p("Script: %s", r.Script)
	switch {
	case r.WorkflowsDefault:
		p("  (workflows: %s, found in the current directory; --workflows DIR reads others)", r.Workflows)
	case r.Workflows != "":
		p("  (workflows: %s)", r.Workflows)
	}
	p("\n")

	p("\nREGISTRATIONS\n")
	if len(r.Registrations) == 0 {
		p("(none: the script registers no secret)\n")
	} else {
		p("LINE\tCONNECTOR\tFILE\tVARIABLE\tKIND\tSTATUS\tGSM SECRET\n")
		for _, reg := range r.Registrations {
			conn, file := reg.cells()
			p("%d\t%s\t%s\t%s\t%s\t%s\t%s\n", reg.Line, conn, file, variableCell(reg), reg.Kind, reg.Status, orDash(reg.GSMSecret))
		}
	}
	if len(r.Migrated) > 0 {
		p("\n%s\nLINE\tCONNECTOR\tFILE\tVARIABLE\tSTATUS\tGSM SECRET AT REWRITE\n", migratedTitle)
		for _, m := range r.Migrated {
			p("%d\t%s\t%s\t%s\t%s\t%s\n", m.Line, m.Connector, m.File, strings.Join(m.Variables, "+"), m.Status, m.GSMSecret)
		}
	}
	var notes []string
	for _, reg := range r.Registrations {
		if reg.Note != "" {
			notes = append(notes, fmt.Sprintf("line %d (%s): %s", reg.Line, reg.where(), reg.Note))
		}
	}
	if len(notes) > 0 {
		p("\nNOTES\n")
		for _, n := range notes {
			p("%s\n", n)
		}
	}

	if len(r.Variables) > 0 {
		p("\nVARIABLES\n")
		p("VARIABLE\tGITHUB SECRET\tREGISTRATIONS\tSERVED\tSTATUS\tLINES\n")
		for _, v := range r.Variables {
			sec := strings.Join(v.secrets(), ",")
			if v.assumed(r.WorkflowsChecked) {
				sec += " (assumed)"
			}
			p("%s\t%s\t%s\t%d\t%s\t%s\n", v.Name, sec, v.registrationsCell(), v.Served, v.statusText(), ints(v.Lines))
		}
		var refs []string
		for _, v := range r.Variables {
			if !v.StillReferenced {
				continue
			}
			for _, ref := range v.OtherReferences {
				refs = append(refs, fmt.Sprintf("%s: %s:%d %s", v.Name, ref.File, ref.Line, ref.Context))
			}
		}
		if len(refs) > 0 {
			p("\nSTILL REFERENCED (served, but the GitHub secret is read elsewhere)\n")
			for _, s := range refs {
				p("%s\n", s)
			}
		}
	}
	if manual := r.manualEditLines(); len(manual) > 0 {
		p("\nNEEDS A MANUAL EDIT (%s)\n", manualEditTitle)
		for _, s := range manual {
			p("%s\n", s)
		}
	}
	if len(r.CommentedOut) > 0 {
		p("\nCOMMENTED OUT\nLINE\tCONNECTOR\tFILE\tTEXT\n")
		for _, c := range r.CommentedOut {
			p("%d\t%s\t%s\t%s\n", c.Line, c.Connector, c.File, c.Text)
		}
	}
	if len(r.Duplicates) > 0 {
		p("\nDUPLICATES\nLINE\tCONNECTOR\tFILE\tVARIABLE\tFIRST LINE\tFIRST VARIABLE\n")
		for _, d := range r.Duplicates {
			p("%d\t%s\t%s\t%s\t%d\t%s\n", d.Line, d.Connector, d.File, d.Variable, d.FirstLine, d.FirstVariable)
		}
	}
	if len(r.Unrecognized) > 0 {
		p("\nUNRECOGNIZED (touch secret-like variables; check by hand)\nLINE\tREASON\tTEXT\n")
		for _, u := range r.Unrecognized {
			p("%d\t%s\t%s\n", u.Line, u.Reason, u.Text)
		}
	}
	if len(r.LiteralWrites) > 0 {
		p("\nLITERAL WRITES (no secret variable; not counted)\nLINE\tPATH\tHINT\n")
		for _, l := range r.LiteralWrites {
			p("%d\t%s\t%s\n", l.Line, l.Path, l.Hint)
		}
	}
	if len(r.ToDelete) > 0 {
		p("\n%s\n", r.deleteTitle())
		if !r.WorkflowsChecked {
			p("warning: %s\n", NoWorkflowsWarning)
		}
		for _, d := range r.ToDelete {
			p("%s%s\n", d.Command, r.pendingNote(d))
		}
		if refs := passedAtLines(r.ToDelete); len(refs) > 0 {
			p("then remove their env: entries:\n")
			for _, ref := range refs {
				p("%s:%d\t%s\n", ref.File, ref.Line, ref.Context)
			}
		}
	}
	if len(r.AssumedToDelete) > 0 {
		p("\n%s\n", assumedTitle)
		for _, d := range r.AssumedToDelete {
			p("%s\t# %s\n", d.Command, d.Reason)
		}
	}
	if len(r.PossibleSources) > 0 {
		p("\n%s\n", possibleTitle)
		for _, u := range r.PossibleSources {
			for _, ref := range u.PassedAt {
				p("%s\t%s:%d %s\tmay hold %s\n", u.Secret, ref.File, ref.Line, ref.Context, strings.Join(u.PossibleSourceOf, ", "))
			}
		}
	}
	if len(r.UnusedGitHubSecrets) > 0 {
		p("\nUNUSED GITHUB SECRETS (%s: safe to delete)\n", r.unusedTitle())
		for _, u := range r.UnusedGitHubSecrets {
			p("%s\n", u.commandText())
		}
		p("then remove their env: entries:\n")
		for _, u := range r.UnusedGitHubSecrets {
			for _, ref := range u.PassedAt {
				p("%s:%d\t%s\n", ref.File, ref.Line, ref.Context)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Actions != nil {
		if err := r.Actions.writeText(w); err != nil {
			return err
		}
	}
	if warnings := r.trailingWarnings(); len(warnings) > 0 {
		fmt.Fprintf(w, "\nWARNINGS\n")
		for _, s := range warnings {
			fmt.Fprintf(w, "%s\n", s)
		}
	}
	if _, err := fmt.Fprintf(w, "\nSUMMARY: %s\n", r.SummaryLine()); err != nil {
		return err
	}
	if c := r.costLine(); c != "" {
		_, err := fmt.Fprintf(w, "COST: %s\n", c)
		return err
	}
	return nil
}

// costLine tells what reading Secret Manager cost: the read requests (the
// listing and the version checks, against the project's 600 a minute) and
// that no payload was read, unless --create-missing had to.
func (r *Report) costLine() string {
	c := r.Cost
	if c == nil {
		return ""
	}
	line := fmt.Sprintf("%d read %s (the listing, and %d %s of enabled versions)", c.ReadRequests, pluralWord(int(c.ReadRequests), "request", "requests"),
		c.VersionChecks, pluralWord(c.VersionChecks, "check", "checks"))
	if c.WriteRequests > 0 {
		line += fmt.Sprintf(", %d write %s", c.WriteRequests, pluralWord(int(c.WriteRequests), "request", "requests"))
	}
	if c.AccessRequests == 0 {
		line += "; no secret value read"
	} else {
		line += fmt.Sprintf(", %d value %s", c.AccessRequests, pluralWord(int(c.AccessRequests), "read", "reads"))
	}
	return line
}

func (a *Actions) writeText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }
	if c := a.Create; c != nil {
		if c.DryRun {
			p("\nCREATE MISSING (dry run): would create %d secret(s)\n", len(c.Created))
		} else {
			p("\nCREATE MISSING: created %d secret(s)\n", len(c.Created))
		}
		if len(c.Created) > 0 {
			p("SECRET\tCONNECTOR LABEL\tFILENAME LABEL\tFROM\tLINES\tVERSION\n")
			for _, s := range c.Created {
				p("%s\t%s\t%s\t%s\t%s\t%s\n", s.Secret, s.Labels["connector"], orDash(s.Labels["filename"]), s.GitHubSecret, ints(s.Lines), orDash(s.Version))
			}
		}
		for _, group := range []struct {
			title string
			items []Skipped
		}{{"refused (value missing or not JSON, or file name not a filename label)", c.Refused}, {"left to do by hand", c.Manual}} {
			if len(group.items) == 0 {
				continue
			}
			p("%s:\nLINE\tCONNECTOR\tFILE\tVARIABLE\tREASON\n", group.title)
			for _, s := range group.items {
				p("%d\t%s\t%s\t%s\t%s\n", s.Line, s.Connector, s.File, s.Variable, s.Reason)
			}
		}
		for _, f := range c.Failed {
			p("FAILED %s (%s): %s\n", f.Secret, f.Variable, f.Error)
		}
	}
	if rw := a.Rewrite; rw != nil {
		switch {
		case !rw.Changed:
			p("\nREWRITE %s: nothing to remove\n", rw.Path)
		case rw.DryRun:
			p("\nREWRITE %s (dry run): would remove %d registration(s)\n", rw.Path, len(rw.Removed))
		default:
			p("\nREWRITE %s: removed %d registration(s)\n", rw.Path, len(rw.Removed))
		}
		for _, k := range rw.Kept {
			p("needs a manual edit: line %d (%s/%s) was kept: %s; remove the registration by hand\n", k.Line, k.Connector, k.File, k.Reason)
		}
		for _, h := range rw.Hints {
			p("hint: %s\n", h)
		}
	}
	if g := a.GitHub; g != nil {
		p("\nGITHUB %s\n", g.Repo)
		for _, d := range g.Delete {
			p("%s\n", d.Command)
		}
		for _, s := range g.AlreadyGone {
			p("already gone: %s\n", s)
		}
		for _, s := range g.Organization {
			p("organization secret (an org admin deletes it): %s\n", s)
		}
		for _, s := range g.Missing {
			p("missing: the script still reads %s, but it is not a repository or organization secret\n", s)
		}
		for _, s := range g.Unreferenced {
			p("unreferenced: %s exists but nothing reads it\n", s)
		}
		for _, n := range g.Notes {
			p("note: %s\n", n)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// The diff goes after the flush: tabwriter would align its tabs.
	if rw := a.Rewrite; rw != nil && rw.Diff != "" {
		if _, err := fmt.Fprintf(w, "\n%s", rw.Diff); err != nil {
			return err
		}
	}
	return nil
}

// md escapes text for a Markdown table cell.
func md(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", `\|`)
	return s
}

// code renders s as inline code in a table cell.
func code(s string) string {
	if s == "" {
		return ""
	}
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return fence + pad + md(s) + pad + fence
}

// WriteMarkdown writes the report for $GITHUB_STEP_SUMMARY.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("## ci-secrets migrate: %s\n\n", code(r.Script))
	switch {
	case r.WorkflowsDefault:
		p("Workflows: %s (found in the current directory; `--workflows DIR` reads others)\n\n", code(r.Workflows))
	case r.Workflows != "":
		p("Workflows: %s\n\n", code(r.Workflows))
	}
	status := "✅"
	if r.Summary.Leftover > 0 {
		status = "⏳"
	}
	p("%s **%s**\n\n", status, r.SummaryLine())
	if c := r.costLine(); c != "" {
		p("Cost: %s.\n\n", c)
	}
	if len(r.Registrations) > 0 {
		p("| Line | Connector | File | Variable | Kind | Status | GSM secret |\n|---:|---|---|---|---|---|---|\n")
		for _, reg := range r.Registrations {
			st := "✅ served"
			if reg.Status == StatusLeftover {
				st = "⏳ leftover"
			}
			gsm := code(reg.GSMSecret)
			if reg.Note != "" {
				gsm = md(reg.Note)
			}
			conn, file := reg.cells()
			p("| %d | %s | %s | %s | %s | %s | %s |\n", reg.Line, md(conn), md(file), code(variableCell(reg)), reg.Kind, st, gsm)
		}
		p("\n")
	}
	if len(r.Migrated) > 0 {
		p("### Removed by `--rewrite`\n\nMarker comments; once their GitHub secrets are deleted, the comments can go.\n\n| Line | Connector | File | Variable | Status |\n|---:|---|---|---|---|\n")
		for _, m := range r.Migrated {
			p("| %d | %s | %s | %s | %s |\n", m.Line, md(m.Connector), md(m.File), code(strings.Join(m.Variables, "+")), m.Status)
		}
		p("\n")
	}
	if len(r.Variables) > 0 {
		p("### Variables\n\n| Variable | GitHub secret | Registrations | Served | Status |\n|---|---|---:|---:|---|\n")
		for _, v := range r.Variables {
			sec := code(strings.Join(v.secrets(), ", "))
			if v.assumed(r.WorkflowsChecked) {
				sec += " (assumed)"
			}
			p("| %s | %s | %s | %d | %s |\n", code(v.Name), sec, v.registrationsCell(), v.Served, v.statusText())
		}
		p("\n")
		var refs []string
		for _, v := range r.Variables {
			if !v.StillReferenced {
				continue
			}
			for _, ref := range v.OtherReferences {
				refs = append(refs, fmt.Sprintf("- %s: %s line %d, %s\n", code(v.Name), code(ref.File), ref.Line, md(ref.Context)))
			}
		}
		if len(refs) > 0 {
			p("Served, but the GitHub secret is still read elsewhere:\n\n%s\n", strings.Join(refs, ""))
		}
	}
	if manual := r.manualEditLines(); len(manual) > 0 {
		p("### Needs a manual edit\n\nThese registrations are %s.\n\n", manualEditTitle)
		for _, s := range manual {
			p("- %s\n", md(s))
		}
		p("\n")
	}
	if len(r.CommentedOut) > 0 {
		p("### Commented out\n\n| Line | Connector | File | Text |\n|---:|---|---|---|\n")
		for _, c := range r.CommentedOut {
			p("| %d | %s | %s | %s |\n", c.Line, md(c.Connector), md(c.File), code(c.Text))
		}
		p("\n")
	}
	if len(r.Duplicates) > 0 {
		p("### Duplicates\n\n| Line | Connector | File | Variable | First line | First variable |\n|---:|---|---|---|---:|---|\n")
		for _, d := range r.Duplicates {
			p("| %d | %s | %s | %s | %d | %s |\n", d.Line, md(d.Connector), md(d.File), code(d.Variable), d.FirstLine, code(d.FirstVariable))
		}
		p("\n")
	}
	if len(r.Unrecognized) > 0 {
		p("### Unrecognized\n\nThese statements touch secret-like variables in ways not understood; check them by hand.\n\n| Line | Reason | Text |\n|---:|---|---|\n")
		for _, u := range r.Unrecognized {
			p("| %d | %s | %s |\n", u.Line, md(u.Reason), code(u.Text))
		}
		p("\n")
	}
	if len(r.LiteralWrites) > 0 {
		p("### Literal writes\n\n| Line | Path | Hint |\n|---:|---|---|\n")
		for _, l := range r.LiteralWrites {
			p("| %d | %s | %s |\n", l.Line, code(l.Path), md(l.Hint))
		}
		p("\n")
	}
	if len(r.ToDelete) > 0 {
		when := r.mdRewriteSentence()
		switch {
		case !r.WorkflowsChecked:
			p("### Safe to delete as far as the script goes (workflows not checked: pass `--workflows`)\n\n> **Warning:** %s.\n\n%s:\n\n```sh\n", md(NoWorkflowsWarning), upperFirst(when))
		case r.Actions != nil && r.Actions.GitHub != nil:
			p("### Safe to delete\n\nStill in %s; %s:\n\n```sh\n", code(r.Actions.GitHub.Repo), when)
		default:
			p("### Safe to delete\n\n%s:\n\n```sh\n", upperFirst(when))
		}
		for _, d := range r.ToDelete {
			p("%s%s\n", d.Command, r.pendingNote(d))
		}
		p("```\n\n")
		if refs := passedAtLines(r.ToDelete); len(refs) > 0 {
			p("Then remove their `env:` entries:\n\n")
			for _, ref := range refs {
				p("- %s line %d, %s\n", code(ref.File), ref.Line, md(ref.Context))
			}
			p("\n")
		}
	}
	if len(r.AssumedToDelete) > 0 {
		p("### Safe to delete, name assumed\n\nNo workflow passes these names to the script: check which GitHub secret holds each credential first.\n\n```sh\n")
		for _, d := range r.AssumedToDelete {
			p("%s  # %s\n", d.Command, d.Reason)
		}
		p("```\n\n")
	}
	if len(r.PossibleSources) > 0 {
		p("### Possible sources\n\nPassed to the script under names it does not read, while it reads names nothing passes: likely the same credential renamed; not safe to delete.\n\n")
		for _, u := range r.PossibleSources {
			for _, ref := range u.PassedAt {
				p("- %s: %s line %d, %s; may hold %s\n", code(u.Secret), code(ref.File), ref.Line, md(ref.Context), md(strings.Join(u.PossibleSourceOf, ", ")))
			}
		}
		p("\n")
	}
	if len(r.UnusedGitHubSecrets) > 0 {
		p("### Unused GitHub secrets\n\nSafe to delete: %s.\n\n```sh\n", r.unusedTitle())
		for _, u := range r.UnusedGitHubSecrets {
			p("%s\n", u.commandText())
		}
		p("```\n\nThen remove their `env:` entries:\n\n")
		for _, u := range r.UnusedGitHubSecrets {
			for _, ref := range u.PassedAt {
				p("- %s line %d, %s\n", code(ref.File), ref.Line, md(ref.Context))
			}
		}
		p("\n")
	}
	if a := r.Actions; a != nil {
		p("### Actions\n\n```\n")
		var t strings.Builder
		if err := a.writeText(&t); err != nil {
			return err
		}
		p("%s```\n\n", strings.ReplaceAll(strings.TrimLeft(t.String(), "\n"), "```", "'''"))
	}
	if warnings := r.trailingWarnings(); len(warnings) > 0 {
		p("### Warnings\n\n")
		for _, s := range warnings {
			p("- %s\n", md(s))
		}
		p("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
