package migrate

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// UnusedSecret is a GitHub secret that workflows still pass to the script's
// environment (an env: entry NAME: ${{ secrets.X }} that reaches a step
// running the script) although the script no longer reads NAME, and that
// nothing else references: once --rewrite removed the last registration
// reading it, it is safe to delete, together with its env: entries.
type UnusedSecret struct {
	Secret string `json:"secret"`
	// Env are the environment names the workflows pass it as.
	Env []string `json:"env"`
	// PassedAt are those env: entries, to remove with the secret.
	PassedAt []Reference `json:"passed_at"`
	// Command is the ready gh secret delete line; empty once the GitHub
	// check found the secret is not a repository secret (see GitHub).
	Command string `json:"command"`
	// GitHub is set by the GitHub check when the secret is no repository
	// secret: "already gone" or "organization secret".
	GitHub string `json:"github,omitempty"`
	// PossibleSourceOf, in Report.PossibleSources, lists the variables the
	// script reads that no workflow passes: this secret may be one of them
	// under its old name, so it has no delete line.
	PossibleSourceOf []string `json:"possible_source_of,omitempty"`
}

// commandText is the delete line, or a shell comment saying why there is none.
func (u UnusedSecret) commandText() string {
	if u.Command != "" {
		return u.Command
	}
	if u.GitHub == GitHubOrganization {
		return "# " + u.Secret + ": organization secret (an org admin deletes it)"
	}
	return "# " + u.Secret + ": " + u.GitHub + " (nothing to delete)"
}

var identRe = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// scriptWords is every name the script's code mentions (comments left out):
// parameter expansions ($NAME, ${NAME:-x}), and identifiers in literal words
// and quoted strings (printenv NAME, jq '.NAME', python -c '...'). A name
// mentioned in any way counts as read. indirect is set when the script may
// read variables whose names it does not spell out (${!name}, eval, a bare
// env/printenv dump), sources lists the files it sources, which may read
// anything.
func scriptWords(s *Script) (words map[string]bool, indirect string, sources []string) {
	words = map[string]bool{}
	addIdents := func(text string) {
		for _, w := range identRe.FindAllString(text, -1) {
			words[w] = true
		}
	}
	// The tree ReadScript parsed: its comments are not words (Walk hands
	// them over as *syntax.Comment, which is skipped below).
	f, err := s.file, error(nil)
	if f == nil {
		f, err = syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(bytes.NewReader(s.src), s.Name)
	}
	if err != nil {
		// Cannot happen for a script that was read; fall back to every
		// identifier of the text, comments included (never fewer names).
		addIdents(string(s.src))
		return words, "", nil
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		switch x := n.(type) {
		case *syntax.ParamExp:
			if x.Param != nil {
				words[x.Param.Value] = true
			}
			if x.Excl && indirect == "" {
				indirect = fmt.Sprintf("line %d expands a variable by computed name (${!...})", x.Pos().Line())
			}
		case *syntax.Lit:
			addIdents(x.Value)
		case *syntax.SglQuoted:
			addIdents(x.Value)
		case *syntax.Assign:
			if x.Naked && x.Name != nil {
				words[x.Name.Value] = true // export NAME, declare NAME
			}
		case *syntax.CallExpr:
			if len(x.Args) == 0 {
				break
			}
			cmd := x.Args[0].Lit()
			switch {
			case cmd == "eval" && indirect == "":
				indirect = fmt.Sprintf("line %d runs eval", x.Pos().Line())
			case (cmd == "env" || cmd == "printenv") && len(x.Args) == 1 && indirect == "":
				indirect = fmt.Sprintf("line %d dumps the whole environment (%s)", x.Pos().Line(), cmd)
			case (cmd == "." || cmd == "source") && len(x.Args) > 1:
				var b strings.Builder
				_ = syntax.NewPrinter().Print(&b, x.Args[1])
				sources = append(sources, fmt.Sprintf("%s (line %d)", b.String(), x.Pos().Line()))
			}
		}
		return true
	})
	return words, indirect, sources
}

// mentionsWord reports whether text holds word with no name character
// ([A-Za-z0-9_], and also . and - when dotted is set, for file names) on
// either side.
func mentionsWord(text, word string, dotted bool) bool {
	isName := func(c byte) bool {
		return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || dotted && (c == '.' || c == '-')
	}
	for i := 0; word != ""; {
		j := strings.Index(text[i:], word)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(word)
		if (start == 0 || !isName(text[start-1])) && (end == len(text) || !isName(text[end])) {
			return true
		}
		i = start + 1
	}
	return false
}

type stepKey struct {
	file string
	scope
}

// findUnused lists the GitHub secrets that only feed env names the script
// no longer reads (see UnusedSecret). A secret is left out when anything
// else may read it: another env: entry (another name, or a step that does
// not run the script), any other secrets.X in a workflow (with:, run:, if:,
// a reusable workflow's secrets:), a script variable, a mention of the
// env name anywhere else in that workflow file, or of either name in the
// script. It lists nothing, with a warning saying why, when a place passes
// every secret at once to something other than the script's step
// (toJson(secrets) or secrets: inherit to a workflow outside the folder),
// when the script reads variables by computed name, and when no workflow
// step runs the script.
func findUnused(s *Script, vars []Variable, wf *Workflows, repo string) ([]UnusedSecret, []string) {
	out := []UnusedSecret{}
	if wf == nil || len(wf.EnvMappings) == 0 {
		return out, nil
	}
	st := wf.findScriptSteps(s.Name)
	base := st.base
	reachesScript := func(m EnvMapping) bool {
		return st.reaches(m.File, m.scope) && len(st.otherRuns(m.File, m.scope)) == 0
	}
	mentionedIn := func(file, name string) bool {
		for _, t := range wf.texts[file] {
			if mentionsWord(t, name, false) {
				return true
			}
		}
		return false
	}

	words, indirect, _ := scriptWords(s)
	needed := map[string]bool{}
	for _, v := range vars {
		for _, sec := range v.secrets() {
			needed[sec] = true
		}
	}
	referenced := map[string]bool{}
	for _, r := range wf.References {
		referenced[r.Secret] = true
	}
	passed := map[string][]EnvMapping{}
	other := map[string]bool{}
	var notRun []string
	for _, m := range wf.EnvMappings {
		if words[m.Env] || needed[m.Secret] {
			other[m.Secret] = true
			continue
		}
		if !reachesScript(m) || mentionedIn(m.File, m.Env) || wf.aliases[m.File] {
			other[m.Secret] = true
			if !st.found() {
				notRun = append(notRun, m.Secret)
			}
			continue
		}
		passed[m.Secret] = append(passed[m.Secret], m)
	}
	var secrets []string
	for sec := range passed {
		if !other[sec] && !referenced[sec] && !words[sec] {
			secrets = append(secrets, sec)
		}
	}
	sort.Strings(secrets)
	if !st.found() {
		if len(notRun) == 0 {
			return out, nil
		}
		return out, []string{fmt.Sprintf("no workflow step runs %s (a run: command naming it), so the GitHub secrets passed to env names it does not read (%s) could not be told apart from those other steps use: none is listed as unused",
			base, strings.Join(sortedUnique(notRun), ", "))}
	}
	if len(secrets) == 0 {
		return out, nil
	}
	list := strings.Join(secrets, ", ")
	if indirect != "" {
		return out, []string{fmt.Sprintf("%s reads variables it does not name (%s): the GitHub secrets passed to it that it no longer names (%s) are not listed as unused; check them by hand", s.Name, indirect, list)}
	}
	for _, a := range wf.allReaders(st) {
		return out, []string{fmt.Sprintf("%s:%d (%s) passes every GitHub secret at once, and what it runs may read any by name: the secrets passed to %s that it no longer reads (%s) are not listed as unused; check them by hand", a.File, a.Line, strings.Trim(a.Context, "()"), base, list)}
	}

	for _, sec := range secrets {
		u := UnusedSecret{Secret: sec, Env: []string{}, PassedAt: []Reference{}, Command: "gh secret delete " + sec}
		if repo != "" {
			u.Command += " --repo " + repo
		}
		for _, m := range passed[sec] {
			u.Env = append(u.Env, m.Env)
			u.PassedAt = append(u.PassedAt, Reference{File: m.File, Line: m.Line, Context: m.Context, Secret: sec})
		}
		u.Env = sortedUnique(u.Env)
		out = append(out, u)
	}
	return out, nil
}
