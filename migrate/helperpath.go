package migrate

import (
	"path"
	"sort"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// A helper's body says where its calls write. The 2020 scripts had helpers
// writing airbyte-integrations/$1/secrets/... or singer/$1/secrets/...:
// read as connectors/ writes, their GitHub secrets looked deletable while
// sync can never write those files. So the body's write targets are kept as
// templates over the positional parameters and resolved per call.

// argMark precedes a positional parameter's digit in a target template; it
// cannot occur in a script, which holds no control bytes the parser keeps.
const argMark = "\x01"

// maxTemplates bounds the values a body variable (and a target) may take
// across branches: real helpers have two (bases/ or connectors/).
const maxTemplates = 8

// helperTargets lists the templates of the files a function body writes
// (output redirections, and the files of the helpers it calls, as helper
// resolves them), over its positional parameters ($1 ->
// argMark+"1"). ok is false when a write target cannot be read (a computed
// path, a helper whose targets are unknown): the caller then keeps the
// conventional connectors/ reading.
func helperTargets(d *syntax.FuncDecl, helper func(name string) (Helper, bool)) (targets []string, ok bool) {
	vals := map[string][]string{} // body variable -> templates it may hold
	ok = true
	add := func(t []string) {
		for _, s := range t {
			if !strings.HasPrefix(s, "/dev/") {
				targets = unionCapped(targets, []string{s})
			}
		}
	}
	syntax.Walk(d.Body, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.FuncDecl:
			return false // a nested function's writes are its own
		case *syntax.Assign:
			if n.Name != nil && n.Value != nil && n.Array == nil && n.Index == nil {
				if t, known := templates(n.Value, vals); known {
					vals[n.Name.Value] = unionCapped(vals[n.Name.Value], t)
				}
			}
		case *syntax.Stmt:
			if out := outputRedirect(n.Redirs); out != nil {
				t, known := templates(out.Word, vals)
				ok = ok && known
				add(t)
			}
		case *syntax.CallExpr:
			if len(n.Args) == 0 || n.Args[0].Lit() == d.Name.Value {
				return true
			}
			if callee, isHelper := helper(n.Args[0].Lit()); isHelper {
				t, known := calleeTargets(callee, n.Args[1:], vals)
				ok = ok && known
				add(t)
			}
		}
		return true
	})
	return targets, ok && len(targets) > 0
}

// calleeTargets are a called helper's targets with its parameters replaced
// by the caller's arguments (themselves templates over the caller's).
func calleeTargets(callee Helper, args []*syntax.Word, vals map[string][]string) ([]string, bool) {
	if len(callee.targets) == 0 {
		return nil, false
	}
	var out []string
	for _, t := range callee.targets {
		alts := []string{""}
		for {
			i := strings.Index(t, argMark)
			if i < 0 {
				break
			}
			n := int(t[i+1] - '0')
			var arg []string
			switch {
			case n >= 1 && n <= len(args):
				a, known := templates(args[n-1], vals)
				if !known {
					return nil, false
				}
				arg = a
			case n == callee.File && callee.DefaultFile != "":
				arg = []string{callee.DefaultFile}
			default:
				return nil, false
			}
			alts = crossCapped(alts, []string{t[:i]})
			alts = crossCapped(alts, arg)
			t = t[i+2:]
		}
		out = unionCapped(out, crossCapped(alts, []string{t}))
	}
	return out, true
}

// crossCapped is every a+b, at most maxTemplates of them.
func crossCapped(as, bs []string) []string {
	var out []string
	for _, a := range as {
		for _, b := range bs {
			if len(out) < maxTemplates {
				out = append(out, a+b)
			}
		}
	}
	return out
}

// templates evaluates a word in a helper body; known is false when a part
// is neither literal, a positional parameter nor a body variable.
func templates(w *syntax.Word, vals map[string][]string) ([]string, bool) {
	out := []string{""}
	var add func(parts []syntax.WordPart) bool
	appendAll := func(alts []string) { out = crossCapped(out, alts) }
	add = func(parts []syntax.WordPart) bool {
		for _, p := range parts {
			switch p := p.(type) {
			case *syntax.Lit:
				appendAll([]string{p.Value})
			case *syntax.SglQuoted:
				appendAll([]string{p.Value})
			case *syntax.DblQuoted:
				if !add(p.Parts) {
					return false
				}
			case *syntax.ParamExp:
				if p.Param == nil {
					return false
				}
				name := p.Param.Value
				switch {
				case len(name) == 1 && name[0] >= '1' && name[0] <= '9' && (plainParam(p) || literalDefault(p)):
					// ${3:-config.json}: the helper's default file, filled per call.
					appendAll([]string{argMark + name})
				case !plainParam(p) && !harmlessDefault(p):
					return false
				case len(vals[name]) > 0:
					appendAll(vals[name])
				default:
					return false
				}
			default:
				return false
			}
		}
		return true
	}
	if !add(w.Parts) {
		return nil, false
	}
	return out, true
}

func unionCapped(a, b []string) []string {
	for _, s := range b {
		if len(a) >= maxTemplates {
			break
		}
		dup := false
		for _, t := range a {
			dup = dup || t == s
		}
		if !dup {
			a = append(a, s)
		}
	}
	return a
}

// outsideTarget resolves a helper's write templates for one call (args are
// the call's literal arguments, "" where not given; defaults the body's
// ${N:-x} values). It returns the path the call writes when every template
// lands outside the connectors' and bases' secrets folders, and false when
// one lands inside (or a path cannot be trusted), so that the call is read
// as the connector write it has always been.
func (h Helper) outsideTarget(args []string) (string, bool) {
	if len(h.targets) == 0 {
		return "", false
	}
	first := ""
	for _, t := range h.targets {
		p, ok := substituteArgs(t, args, h)
		if !ok {
			return "", false
		}
		if m := pathRe.FindStringSubmatch(p); m != nil {
			return "", false
		}
		if first == "" {
			first = p
		}
	}
	return first, true
}

// substituteArgs fills a template with a call's arguments. An argument that
// could climb out of the repository (.., an absolute path) is refused.
func substituteArgs(t string, args []string, h Helper) (string, bool) {
	var b strings.Builder
	for {
		i := strings.Index(t, argMark)
		if i < 0 {
			b.WriteString(t)
			break
		}
		b.WriteString(t[:i])
		n := int(t[i+1] - '0')
		t = t[i+2:]
		v := ""
		if n >= 1 && n <= len(args) {
			v = args[n-1]
		}
		if v == "" && n == h.File {
			v = h.DefaultFile
		}
		if v == "" || strings.Contains(v, unknown) || !safeArg(v, n == h.File) {
			return "", false
		}
		b.WriteString(v)
	}
	p := path.Clean(b.String())
	if p == "." || path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	return p, true
}

// literalDefault: ${N:-word} or ${N-word} with a literal word.
func literalDefault(p *syntax.ParamExp) bool {
	if p.Exp == nil || (p.Exp.Op != syntax.DefaultUnset && p.Exp.Op != syntax.DefaultUnsetOrNull) {
		return false
	}
	q := *p
	q.Exp = nil
	return plainParam(&q) && (p.Exp.Word == nil || litValue(p.Exp.Word) != "" || p.Exp.Word.Lit() == "")
}

// literalArgs are a call's arguments as the script knows them; unknown
// parts stay marked, so that a computed argument never fills a path.
func (a *analyzer) literalArgs(args []*syntax.Word) []string {
	out := make([]string, len(args))
	for i, w := range args {
		out[i] = a.evalWord(w).text
	}
	return out
}

// resolveTargets fills in the helpers' targets, each body once: a helper
// is resolved after the helpers it calls (depth first, memoised), so that a
// wrapper of a wrapper costs no more than its body. A helper in a call
// cycle sees its callee as unknown, which keeps the connectors/ reading.
func resolveTargets(helpers map[string]Helper, decls map[string]*funcFacts) {
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var resolve func(name string) (Helper, bool)
	resolve = func(name string) (Helper, bool) {
		h, ok := helpers[name]
		if !ok || state[name] != unseen {
			return h, ok
		}
		state[name] = open
		if d, defined := decls[name]; defined && h.Defined {
			if t, known := helperTargets(d.decl, resolve); known {
				h.targets = t
				helpers[name] = h
			}
		}
		state[name] = done
		return h, true
	}
	names := make([]string, 0, len(helpers))
	for name := range helpers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		resolve(name)
	}
}

// safeArg: a file argument is a plain file name; any other argument is a
// relative path that never climbs (googleanalytics/source, not ../x).
func safeArg(v string, file bool) bool {
	if file {
		return plainFileName(v)
	}
	if path.IsAbs(v) || strings.ContainsRune(v, '\x00') {
		return false
	}
	for _, seg := range strings.Split(v, "/") {
		if seg == ".." {
			return false
		}
	}
	return true
}
