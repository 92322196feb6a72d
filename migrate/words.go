package migrate

import (
	"regexp"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// unknown stands for a part of a word whose value the reader cannot know (a
// command substitution, an unassigned variable). It cannot occur in a script,
// which holds no NUL byte.
const unknown = "\x00"

// wordVal is a word evaluated against the script variables assigned so far.
type wordVal struct {
	text    string   // the value, with unknown for each part that cannot be known
	dollar  bool     // the word holds an expansion of any kind
	sources []string // environment variables the value comes from
	via     []string // script variables it went through
}

func (v wordVal) known() bool { return !strings.Contains(v.text, unknown) }

// evalWord evaluates a word: literal parts, quotes, and variables whose value
// the script assigned; everything else is unknown.
func (a *analyzer) evalWord(w *syntax.Word) wordVal {
	var v wordVal
	var b strings.Builder
	a.evalParts(w.Parts, &b, &v)
	v.text = b.String()
	return v
}

func (a *analyzer) evalParts(parts []syntax.WordPart, b *strings.Builder, v *wordVal) {
	for _, p := range parts {
		switch p := p.(type) {
		case *syntax.Lit:
			b.WriteString(p.Value)
		case *syntax.SglQuoted:
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			a.evalParts(p.Parts, b, v)
		case *syntax.ParamExp:
			v.dollar = true
			if plainParam(p) || harmlessDefault(p) {
				name := p.Param.Value
				if info, ok := a.vars[name]; ok {
					b.WriteString(info.val.text)
				} else {
					b.WriteString(unknown)
				}
			} else {
				b.WriteString(unknown)
			}
			a.collect(p, v)
		default:
			v.dollar = true
			b.WriteString(unknown)
			a.collect(p, v)
		}
	}
}

// collect adds the variables a node reads to v's sources.
func (a *analyzer) collect(n syntax.Node, v *wordVal) {
	a.walk(n, func(n syntax.Node) bool {
		if pe, ok := n.(*syntax.ParamExp); ok && pe.Param != nil {
			v.sources, v.via = a.sourcesOf(pe.Param.Value, v.sources, v.via)
		}
		return true
	})
}

// sourcesOf adds what a variable name stands for: the environment variables
// behind a script variable, or the name itself for a secret-like one.
func (a *analyzer) sourcesOf(name string, srcs, via []string) ([]string, []string) {
	if info, ok := a.vars[name]; ok {
		a.use(info)
		if len(info.val.sources) > 0 {
			srcs = union(srcs, info.val.sources)
			via = union(via, append([]string{name}, info.val.via...))
		}
		return srcs, via
	}
	if secretLike(name) {
		srcs = union(srcs, []string{name})
	}
	return srcs, via
}

// use records that a statement read a script variable's value.
func (a *analyzer) use(info *varInfo) {
	if !a.quiet {
		info.used = true
	}
}

// touched lists the secret-like variables a node reads, outside function
// bodies: unassigned upper-case variables that are not standard environment
// variables, and script variables derived from them.
func (a *analyzer) touched(n syntax.Node) []string {
	var out []string
	a.walk(n, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.FuncDecl:
			return false
		case *syntax.ParamExp:
			if n.Param == nil {
				return true
			}
			name := n.Param.Value
			if info, ok := a.vars[name]; ok {
				a.use(info)
				if len(info.val.sources) > 0 {
					out = union(out, []string{name})
				}
			} else if secretLike(name) {
				out = union(out, []string{name})
			}
		}
		return true
	})
	return out
}

// valueClass is what a value argument turned out to be.
type valueClass struct {
	kind    Kind
	sources []string
	via     []string
	literal bool
	hint    string // for a literal
	problem string // not understood: the reason
}

// classifyValue reads the value argument of a registration.
func (a *analyzer) classifyValue(w *syntax.Word) valueClass {
	if pe := singleParam(w); pe != nil && (plainParam(pe) || harmlessDefault(pe)) {
		name := pe.Param.Value
		if positional(name) {
			return valueClass{problem: "the value is $" + name + ", a function argument"}
		}
		if info, ok := a.vars[name]; ok {
			a.use(info)
			via := capList(append([]string{name}, info.val.via...), maxVia)
			switch {
			case info.aliasOf != "":
				return valueClass{kind: KindVerbatim, sources: []string{info.aliasOf}, via: via}
			case len(info.val.sources) > 0:
				return valueClass{kind: KindDerived, sources: info.val.sources, via: via}
			case !info.val.dollar:
				return valueClass{literal: true, hint: "writes $" + name + ", which the script sets to a literal on line " + itoa(info.line)}
			}
			return valueClass{problem: "the value is $" + name + ", computed on line " + itoa(info.line) + " from no secret variable"}
		}
		if secretLike(name) {
			return valueClass{kind: KindVerbatim, sources: []string{name}}
		}
		if standardEnv(name) {
			return valueClass{problem: "the value is $" + name + ", a standard environment variable"}
		}
		return valueClass{problem: "the value is $" + name + ", which is neither a GitHub secret (upper case) nor assigned in the script"}
	}
	v := a.evalWord(w)
	return literalOr(v, KindDerived)
}

// classifyWords reads several words written together (echo A B).
func (a *analyzer) classifyWords(ws []*syntax.Word) valueClass {
	if len(ws) == 1 {
		return a.classifyValue(ws[0])
	}
	var all wordVal
	var texts []string
	for _, w := range ws {
		v := a.evalWord(w)
		all.dollar = all.dollar || v.dollar
		all.sources = union(all.sources, v.sources)
		all.via = union(all.via, v.via)
		texts = append(texts, v.text)
	}
	all.text = strings.Join(texts, " ")
	return literalOr(all, KindDerived)
}

// classifyHeredoc reads `cat <<EOF` bodies: exactly "$VAR" is verbatim,
// anything else built around secrets is templated.
func (a *analyzer) classifyHeredoc(hd *syntax.Word) valueClass {
	if hd == nil {
		return valueClass{literal: true, hint: "writes an empty here-document"}
	}
	parts := hd.Parts
	if n := len(parts); n == 2 {
		if l, ok := parts[1].(*syntax.Lit); ok && l.Value == "\n" {
			parts = parts[:1]
		}
	}
	if len(parts) == 1 {
		if pe, ok := parts[0].(*syntax.ParamExp); ok {
			return a.classifyValue(&syntax.Word{Parts: []syntax.WordPart{pe}})
		}
	}
	return literalOr(a.evalWord(hd), KindTemplated)
}

// templaters build a file from a template and the secret.
var templaters = map[string]bool{"jq": true, "sed": true, "envsubst": true, "awk": true, "yq": true, "gomplate": true}

// classifyGeneric reads any other command that writes a secrets file: its
// value comes from every variable the statement reads.
func (a *analyzer) classifyGeneric(st *syntax.Stmt, command string) valueClass {
	var v wordVal
	a.walk(st, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Redirect:
			if n.Op == syntax.RdrOut || n.Op == syntax.RdrClob || n.Op == syntax.RdrAll {
				return false // the target path is not part of the value
			}
		case *syntax.ParamExp:
			v.dollar = true
			if n.Param != nil {
				v.sources, v.via = a.sourcesOf(n.Param.Value, v.sources, v.via)
			}
		case *syntax.CmdSubst, *syntax.ArithmExp, *syntax.ProcSubst:
			v.dollar = true
		}
		return true
	})
	kind := KindDerived
	if templaters[command] {
		kind = KindTemplated
	}
	if len(v.sources) == 0 {
		if !v.dollar {
			hint := "writes the file without any secret variable"
			if command != "" {
				hint += " (" + command + ")"
			}
			return valueClass{literal: true, hint: hint}
		}
		return valueClass{problem: "the value is computed without any secret variable"}
	}
	return valueClass{kind: kind, sources: capList(v.sources, maxSources), via: capList(v.via, maxVia)}
}

func literalOr(v wordVal, kind Kind) valueClass {
	if len(v.sources) > 0 {
		return valueClass{kind: kind, sources: capList(v.sources, maxSources), via: capList(v.via, maxVia)}
	}
	if !v.dollar {
		hint := "writes literal text"
		if secretLike(v.text) {
			hint = "writes the literal text " + v.text + `; a missing "$"? (did you mean "$` + v.text + `")`
		}
		return valueClass{literal: true, hint: hint}
	}
	return valueClass{problem: "the value is computed without any secret variable"}
}

// singleParam returns the word's parameter expansion when the word is just
// that: $VAR, ${VAR} or "$VAR".
func singleParam(w *syntax.Word) *syntax.ParamExp {
	if w == nil || len(w.Parts) != 1 {
		return nil
	}
	switch p := w.Parts[0].(type) {
	case *syntax.ParamExp:
		return p
	case *syntax.DblQuoted:
		if len(p.Parts) == 1 {
			if pe, ok := p.Parts[0].(*syntax.ParamExp); ok {
				return pe
			}
		}
	}
	return nil
}

// plainParam is $NAME or ${NAME} with no operator.
func plainParam(p *syntax.ParamExp) bool {
	return p.Param != nil && p.Flags == nil && !p.Excl && !p.Length && !p.Width && !p.IsSet &&
		p.NestedParam == nil && p.Index == nil && len(p.Modifiers) == 0 &&
		p.Slice == nil && p.Repl == nil && p.Names == 0 && p.Exp == nil
}

// harmlessDefault is ${NAME:-} or ${NAME-}: the value is still NAME's.
func harmlessDefault(p *syntax.ParamExp) bool {
	if p.Exp == nil || (p.Exp.Op != syntax.DefaultUnset && p.Exp.Op != syntax.DefaultUnsetOrNull) {
		return false
	}
	q := *p
	q.Exp = nil
	return plainParam(&q) && (p.Exp.Word == nil || p.Exp.Word.Lit() == "")
}

var upperRe = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// secretLike: an upper-case variable that is not a standard one. Script
// variables are checked by the caller before this.
func secretLike(name string) bool { return upperRe.MatchString(name) && !standardEnv(name) }

func positional(name string) bool {
	if name == "" {
		return true
	}
	c := name[0]
	return (c >= '0' && c <= '9') || strings.ContainsRune("@*#?$!-", rune(c))
}

// standardEnvs are variables of the shell and of the GitHub runner that
// never hold a repository secret.
var standardEnvs = map[string]bool{
	"HOME": true, "PWD": true, "OLDPWD": true, "PATH": true, "USER": true, "SHELL": true,
	"TMPDIR": true, "TEMP": true, "TMP": true, "IFS": true, "PS1": true, "PS2": true, "PS4": true,
	"RANDOM": true, "LINENO": true, "SECONDS": true, "HOSTNAME": true, "TERM": true, "LANG": true,
	"PPID": true, "UID": true, "EUID": true, "FUNCNAME": true, "PIPESTATUS": true, "REPLY": true,
	"OSTYPE": true, "SHLVL": true, "CI": true, "EDITOR": true,
	"GITHUB_ACTIONS": true, "GITHUB_WORKSPACE": true, "GITHUB_ENV": true, "GITHUB_OUTPUT": true,
	"GITHUB_PATH": true, "GITHUB_STEP_SUMMARY": true, "GITHUB_REF": true, "GITHUB_REF_NAME": true,
	"GITHUB_SHA": true, "GITHUB_REPOSITORY": true, "GITHUB_REPOSITORY_OWNER": true, "GITHUB_RUN_ID": true,
	"GITHUB_RUN_NUMBER": true, "GITHUB_EVENT_NAME": true, "GITHUB_EVENT_PATH": true, "GITHUB_HEAD_REF": true,
	"GITHUB_BASE_REF": true, "GITHUB_ACTOR": true, "GITHUB_JOB": true, "GITHUB_WORKFLOW": true,
	"GITHUB_SERVER_URL": true, "GITHUB_API_URL": true, "GITHUB_ACTION": true,
}

func standardEnv(name string) bool {
	return standardEnvs[name] || strings.HasPrefix(name, "BASH") || strings.HasPrefix(name, "RUNNER_") || strings.HasPrefix(name, "LC_")
}

// union appends the items of add missing from list, keeping order.
func union(list, add []string) []string {
	for _, s := range add {
		found := false
		for _, t := range list {
			if t == s {
				found = true
				break
			}
		}
		if !found {
			if len(list) >= maxSources {
				return list
			}
			list = append(list, s)
		}
	}
	return list
}

func capList(l []string, n int) []string {
	if len(l) > n {
		return l[:n:n]
	}
	return l
}

func itoa(i int) string { return strconv.Itoa(i) }
