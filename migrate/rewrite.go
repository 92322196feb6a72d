package migrate

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// RewriteResult is what Rewrite removed (or would remove) from the script.
type RewriteResult struct {
	Path    string `json:"path"`
	DryRun  bool   `json:"dry_run"`
	Changed bool   `json:"changed"`
	// Removed are the served registrations whose lines went.
	Removed []RemovedLines `json:"removed"`
	// Kept are served registrations whose lines could not be removed safely.
	Kept []Skipped `json:"kept"`
	// Hints are follow-ups left to a human (assignments no longer used).
	Hints []string `json:"hints"`
	// Diff is the change in unified diff format; empty when nothing changes.
	Diff string `json:"diff"`
}

// RemovedLines is one registration statement removed.
type RemovedLines struct {
	Line      int    `json:"line"`
	EndLine   int    `json:"end_line"`
	Connector string `json:"connector"`
	File      string `json:"file"`
	Variable  string `json:"variable"`
	Text      string `json:"text"`
}

// manualEdits tells, for each of regs (same index), why Rewrite cannot
// remove that served registration's statement: the reason, or "" when the
// rewrite removes it (and for registrations that are not served, which the
// rewrite leaves alone). A statement goes only when it fills whole lines
// (plus a trailing comment), stands alone (not inside && or ||), has no
// here-document, and is not the last statement left in an if/loop/block
// body. Rewrite and BuildReport both decide with it, so the report never
// calls a GitHub secret deletable while the rewrite keeps a line reading it.
func manualEdits(s *Script, regs []Registration) []string {
	// Statements (by start offset) each block would lose.
	goes := map[int]map[int]bool{}
	for _, reg := range regs {
		if reg.Status == StatusServed && reg.span.keep == "" {
			if goes[reg.span.block] == nil {
				goes[reg.span.block] = map[int]bool{}
			}
			goes[reg.span.block][reg.span.start] = true
		}
	}
	out := make([]string, len(regs))
	for i, reg := range regs {
		if reg.Status != StatusServed {
			continue
		}
		keep := reg.span.keep
		if keep == "" && reg.span.block != 0 && len(goes[reg.span.block]) >= s.blockSizes[reg.span.block] {
			keep = "the only statement(s) of an if/loop/block body, which bash does not allow empty"
		}
		out[i] = keep
	}
	return out
}

// ErrScriptChanged means the script changed on disk after it was read.
var ErrScriptChanged = errors.New("the script changed since it was read")

// Rewrite removes the lines of the served registrations from the script the
// report was built from, leaving every other byte as it was. Only whole
// lines holding nothing but the statement (and a trailing comment) go; for
// a raw write (shape 1) that is the write line, the mkdir stays. Served
// registrations that cannot go that way are listed as kept, with the reason.
//
// Unless dryRun, the file is replaced atomically (temporary file in the
// same folder, renamed), keeping its mode, and the report's delete lines no
// longer wait for the rewrite (Deletion.ScriptReads); it is refused if it is not a
// regular file or changed since it was read. Running it again changes
// nothing: the removed registrations are gone from the next report.
func Rewrite(r *Report, dryRun bool) (*RewriteResult, error) {
	s := r.script
	res := &RewriteResult{Path: s.Name, DryRun: dryRun, Removed: []RemovedLines{}, Kept: []Skipped{}, Hints: []string{}}

	type edit struct {
		start, end int
		marker     string
	}
	var cut []edit
	removedLines := map[int]bool{}
	markers := map[int]string{} // last removed line -> the marker replacing the lines
	manual := manualEdits(s, r.Registrations)
	for i, reg := range r.Registrations {
		if reg.Status != StatusServed {
			continue
		}
		if manual[i] != "" {
			res.Kept = append(res.Kept, Skipped{Line: reg.Line, Connector: reg.Connector, File: reg.File, Variable: reg.Variable, Reason: manual[i]})
			continue
		}
		first, last := s.lineOf(reg.span.start), s.lineOf(max(reg.span.start, reg.span.end-1))
		// The marker keeps the line's indentation and its end.
		marker := string(s.src[reg.span.start:reg.span.stmt]) + markerText(reg)
		if bytes.HasSuffix(s.src[reg.span.start:reg.span.end], []byte("\n")) {
			marker += "\n"
		}
		cut = append(cut, edit{start: reg.span.start, end: reg.span.end, marker: marker})
		markers[last] = strings.TrimSuffix(marker, "\n")
		for l := first; l <= last; l++ {
			removedLines[l] = true
		}
		res.Removed = append(res.Removed, RemovedLines{Line: first, EndLine: last, Connector: reg.Connector, File: reg.File, Variable: reg.Variable, Text: reg.Text})
	}
	if len(cut) == 0 {
		return res, nil
	}
	sort.Slice(cut, func(i, j int) bool { return cut[i].start < cut[j].start })
	var out bytes.Buffer
	pos := 0
	for _, c := range cut {
		if c.start < pos { // two registrations on one line range: already cut
			continue
		}
		out.Write(s.src[pos:c.start])
		out.WriteString(c.marker)
		pos = c.end
	}
	out.Write(s.src[pos:])
	newSrc := out.Bytes()

	// A removal must never break the script.
	newFile, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(bytes.NewReader(newSrc), s.Name)
	if err != nil {
		return nil, fmt.Errorf("rewrite %s: removing the served registrations would leave a script that does not parse (%v); nothing was written", s.Name, err)
	}
	res.Hints = unusedAfter(s, res.Removed, r.Registrations, newFile)
	res.Changed = true
	res.Diff = unifiedDiff(diffName("a", s.Name), diffName("b", s.Name), s.src, removedLines, markers)
	if dryRun {
		return res, nil
	}
	if err := replaceFile(s.Name, s.src, newSrc); err != nil {
		return nil, err
	}
	// A deletable secret's registrations are all served and removable:
	// they are gone now, so its delete line no longer waits for a rewrite.
	for _, ds := range [][]Deletion{r.ToDelete, r.AssumedToDelete} {
		for i := range ds {
			ds[i].ScriptReads = false
		}
	}
	return res, nil
}

// replaceFile atomically replaces path (which must still hold old) with data.
func replaceFile(path string, old, data []byte) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("rewrite %s: %w", path, unwrapPath(err))
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, _ := filepath.EvalSymlinks(path)
		return &InputError{File: path, Msg: "is a symbolic link; rewrite the file it points to (" + target + ") instead"}
	}
	if !fi.Mode().IsRegular() {
		return &InputError{File: path, Msg: "is not a regular file; nothing was written"}
	}
	cur, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("rewrite %s: %w", path, unwrapPath(err))
	}
	if !bytes.Equal(cur, old) {
		return fmt.Errorf("rewrite %s: %w; run migrate again", path, ErrScriptChanged)
	}
	if err := atomicWrite(path, data, fi.Mode().Perm()); err != nil {
		return fmt.Errorf("rewrite %s: %w; the script was left as it was", path, err)
	}
	return nil
}

// unusedAfter lists the script variables that removed registrations were
// derived through and that nothing in the new script reads any more.
func unusedAfter(s *Script, removed []RemovedLines, regs []Registration, f *syntax.File) []string {
	used := map[string]bool{}
	syntax.Walk(f, func(n syntax.Node) bool {
		if pe, ok := n.(*syntax.ParamExp); ok && pe.Param != nil {
			used[pe.Param.Value] = true
		}
		return true
	})
	gone := map[int]bool{}
	for _, rm := range removed {
		gone[rm.Line] = true
	}
	hints := []string{}
	seen := map[string]bool{}
	for _, reg := range regs {
		if !gone[reg.Line] {
			continue
		}
		for _, v := range reg.Via {
			if seen[v] || used[v] {
				continue
			}
			seen[v] = true
			if line, ok := s.assigned[v]; ok {
				hints = append(hints, fmt.Sprintf("%s (assigned on line %d) is no longer read; remove its assignment by hand", v, line))
			}
		}
	}
	return hints
}

// diffName is the git-style name of the script in a diff: a/PATH, b/PATH.
func diffName(prefix, path string) string {
	return prefix + "/" + strings.TrimPrefix(filepath.ToSlash(path), "/")
}

// UnifiedDiff renders the removal of the given lines (1-based) from old as a
// unified diff with three lines of context, as diff -u prints it.
func UnifiedDiff(oldName, newName string, old []byte, removed map[int]bool) string {
	return unifiedDiff(oldName, newName, old, removed, nil)
}

// unifiedDiff is UnifiedDiff where some removed lines are followed by a
// line added in their place (added maps the removed line to the new text).
func unifiedDiff(oldName, newName string, old []byte, removed map[int]bool, added map[int]string) string {
	if len(removed) == 0 {
		return ""
	}
	lines := splitLines(old)
	n := len(lines)
	const ctx = 3
	var idx []int // 0-based removed lines
	for l := range removed {
		if l >= 1 && l <= n {
			idx = append(idx, l-1)
		}
	}
	sort.Ints(idx)
	if len(idx) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("--- " + oldName + "\n+++ " + newName + "\n")
	deletedBefore := 0 // removed lines before the current hunk
	for i := 0; i < len(idx); {
		// A hunk spans removed lines closer than 2*ctx+1 to each other.
		j := i
		for j+1 < len(idx) && idx[j+1]-idx[j] <= 2*ctx+1 {
			j++
		}
		start := max(idx[i]-ctx, 0)
		end := min(idx[j]+ctx+1, n)
		inHunk := j - i + 1
		addedInHunk := 0
		for _, l := range idx[i : j+1] {
			if _, ok := added[l+1]; ok {
				addedInHunk++
			}
		}
		oldCount := end - start
		newStart := start - deletedBefore
		newCount := oldCount - inHunk + addedInHunk
		fmt.Fprintf(&b, "@@ -%s +%s @@\n", hunkRange(start+1, oldCount), hunkRange(newStart+1, newCount))
		for k := start; k < end; k++ {
			line := lines[k]
			text := strings.TrimSuffix(line, "\n")
			prefix := " "
			if removed[k+1] {
				prefix = "-"
			}
			b.WriteString(prefix + text + "\n")
			// Whole lines are removed, so a line without its newline is
			// the last of both files (kept) or of the old one (removed).
			if !strings.HasSuffix(line, "\n") {
				b.WriteString("\\ No newline at end of file\n")
			}
			if m, ok := added[k+1]; ok {
				b.WriteString("+" + m + "\n")
				if !strings.HasSuffix(line, "\n") {
					b.WriteString("\\ No newline at end of file\n")
				}
			}
		}
		deletedBefore += inHunk - addedInHunk
		i = j + 1
	}
	return b.String()
}

func hunkRange(start, count int) string {
	switch count {
	case 1:
		return strconv.Itoa(start)
	case 0:
		return strconv.Itoa(start-1) + ",0"
	}
	return strconv.Itoa(start) + "," + strconv.Itoa(count)
}

// splitLines splits after each '\n', keeping it; a last line without one is kept too.
func splitLines(b []byte) []string {
	var out []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, string(b))
			break
		}
		out = append(out, string(b[:i+1]))
		b = b[i+1:]
	}
	return out
}
