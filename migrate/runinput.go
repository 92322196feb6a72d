package migrate

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// A script step may hand a secret to the script in its own run: text,
// `X=${{ secrets.Y }} ./tools/bin/ci_credentials.sh`, rather than in env:.
// That prefix reaches the script's process and nothing else, so it is the
// script's input exactly like an env: entry of the step: taken as another
// reader, it kept Y from ever being safe to delete.

// exprMark names the k-th ${{ }} expression of a run: text once replaced,
// so that the text parses as shell and each assignment's value is known.
const exprMark = "__ci_secrets_expr_"

var (
	exprMarkRe = regexp.MustCompile(`^` + exprMark + `(\d+)__$`)
	// oneSecretRe is an expression that is one secret and nothing else.
	oneSecretRe = regexp.MustCompile(`(?i)^\s*secrets\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)\s*$`)
)

// runInputs finds, in the run: text of each step that runs the script, the
// assignments prefixed to the command that runs it whose value is exactly
// one secret: NAME=${{ secrets.Y }}, as the env: entry it amounts to. A text that does not parse as shell yields none (its
// references stay other readers).
func (s *scriptSteps) runInputs() []EnvMapping {
	var out []EnvMapping
	for _, r := range s.runs {
		if !s.isScript(r.file, r.scope) {
			continue
		}
		locs := exprRe.FindAllStringSubmatchIndex(r.text, -1)
		if len(locs) == 0 {
			continue
		}
		var b strings.Builder
		prev := 0
		for k, loc := range locs {
			b.WriteString(r.text[prev:loc[0]])
			b.WriteString(exprMark + strconv.Itoa(k) + "__")
			prev = loc[1]
		}
		b.WriteString(r.text[prev:])
		f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(b.String()), "")
		if err != nil {
			continue
		}
		syntax.Walk(f, func(n syntax.Node) bool {
			ce, ok := n.(*syntax.CallExpr)
			if !ok || len(ce.Assigns) == 0 || !s.runsScript(ce.Args) {
				return true
			}
			for _, as := range ce.Assigns {
				k, ok := exprIndex(as)
				if !ok || k >= len(locs) {
					continue
				}
				m := oneSecretRe.FindStringSubmatch(r.text[locs[k][2]:locs[k][3]])
				if m == nil {
					continue
				}
				line := r.line + strings.Count(r.text[:locs[k][0]], "\n")
				if r.block {
					line++
				}
				out = append(out, EnvMapping{
					File: r.file, Line: line, Env: as.Name.Value, Secret: strings.ToUpper(m[1]), scope: r.scope,
					Context: fmt.Sprintf("%s.run: %s=${{ secrets.%s }} (a prefix of the command that runs %s)", stepName(r), as.Name.Value, m[1], s.base),
				})
			}
			return true
		})
	}
	return out
}

// exprIndex is k when an assignment's value is the k-th expression alone
// (quoted or not).
func exprIndex(as *syntax.Assign) (int, bool) {
	if as.Name == nil || as.Value == nil || as.Append || as.Array != nil || as.Index != nil {
		return 0, false
	}
	m := exprMarkRe.FindStringSubmatch(litValue(as.Value))
	if m == nil {
		return 0, false
	}
	k, err := strconv.Atoi(m[1])
	return k, err == nil
}

// runsScript reports whether a command runs the script: its path (or a
// repository script found to run it), directly or through bash, sh, source
// or '.'.
func (s *scriptSteps) runsScript(args []*syntax.Word) bool {
	i := 0
	if len(args) > 0 {
		switch args[0].Lit() {
		case "bash", "sh", "source", ".":
			i = 1
			for i < len(args) && strings.HasPrefix(args[i].Lit(), "-") {
				i++
			}
		}
	}
	if i >= len(args) {
		return false
	}
	p := litValue(args[i])
	if p == "" {
		return false
	}
	p = path.Clean(p)
	return path.Base(p) == s.base || s.wrappers[strings.TrimPrefix(p, "./")]
}

// withRunInputs is w as the report reads it for these steps: the run:
// prefixes feeding the script become env entries of their step, and the
// references they were counted as are dropped (one per prefix).
func (w *Workflows) withRunInputs(steps *scriptSteps) *Workflows {
	if w == nil {
		return nil
	}
	inputs := steps.runInputs()
	if len(inputs) == 0 {
		return w
	}
	type refKey struct {
		file   string
		line   int
		secret string
		scope  scope
	}
	consumed := map[refKey]int{}
	v := *w
	v.EnvMappings = append([]EnvMapping{}, w.EnvMappings...)
	for _, m := range inputs {
		v.EnvMappings = append(v.EnvMappings, m)
		consumed[refKey{m.File, m.Line, m.Secret, m.scope}]++
	}
	v.References = []Reference{}
	for _, ref := range w.References {
		k := refKey{ref.File, ref.Line, ref.Secret, ref.scope}
		if consumed[k] > 0 {
			consumed[k]--
			continue
		}
		v.References = append(v.References, ref)
	}
	return &v
}
