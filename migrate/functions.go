package migrate

import (
	"sort"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/airbytehq/ci-secrets/labels"
)

// alwaysBases are written under bases/ whatever the script says.
var alwaysBases = []string{"base-normalization"}

// funcFacts is what one pass learns of a function body (its nested
// function declarations left out: they are functions of their own).
type funcFacts struct {
	decl     *syntax.FuncDecl
	pos      [3]bool // $1 and $2 are read (index 1, 2)
	secrets  bool    // a literal mentions "secrets"
	calls    map[string]bool
	isHelper bool
}

// scanFunctions reads the function declarations (which helpers exist, in
// what argument order, which connectors go to bases/) and collects the
// comments outside function bodies. It walks the tree once: facts about
// subtrees (does it mention bases/? which functions does a body call?) are
// gathered bottom-up, so that deeply nested input costs linear time.
func (a *analyzer) scanFunctions(f *syntax.File) {
	decls := map[string]*funcFacts{}
	var order []*funcFacts
	orderOf := map[string]int{}
	var ranges [][2]uint
	var comments []syntax.Comment
	// Each open node carries whether a literal below it mentions bases/.
	type frame struct {
		node  syntax.Node
		bases bool
	}
	var stack []frame
	var funcs []*funcFacts // open function declarations, innermost last
	basesStmts := map[*syntax.Stmt]bool{}
	var ifs []*syntax.IfClause
	var cases []*syntax.CaseClause
	chained := map[*syntax.IfClause]bool{}
	lit := func(v string) {
		if strings.Contains(v, "bases/") && len(stack) > 0 {
			stack[len(stack)-1].bases = true
		}
		if len(funcs) > 0 && strings.Contains(v, "secrets") {
			funcs[len(funcs)-1].secrets = true
		}
	}
	a.walk(f, func(n syntax.Node) bool {
		if n == nil {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if top.bases {
				if st, ok := top.node.(*syntax.Stmt); ok {
					basesStmts[st] = true
				}
				if len(stack) > 0 {
					stack[len(stack)-1].bases = true
				}
			}
			if _, ok := top.node.(*syntax.FuncDecl); ok {
				funcs = funcs[:len(funcs)-1]
			}
			return true
		}
		stack = append(stack, frame{node: n})
		switch n := n.(type) {
		case *syntax.FuncDecl:
			ff := &funcFacts{decl: n, calls: map[string]bool{}}
			funcs = append(funcs, ff)
			if n.Name != nil {
				// A later definition replaces an earlier one, as in bash.
				if i, ok := orderOf[n.Name.Value]; ok {
					order[i] = ff
				} else {
					orderOf[n.Name.Value] = len(order)
					order = append(order, ff)
				}
				decls[n.Name.Value] = ff
			}
			ranges = append(ranges, [2]uint{n.Pos().Offset(), n.End().Offset()})
		case *syntax.Comment:
			comments = append(comments, *n)
		case *syntax.Lit:
			lit(n.Value)
		case *syntax.SglQuoted:
			lit(n.Value)
		case *syntax.ParamExp:
			if len(funcs) > 0 && n.Param != nil && (n.Param.Value == "1" || n.Param.Value == "2") {
				funcs[len(funcs)-1].pos[n.Param.Value[0]-'0'] = true
			}
		case *syntax.CallExpr:
			if len(funcs) > 0 && len(n.Args) > 0 {
				if name := n.Args[0].Lit(); name != "" {
					funcs[len(funcs)-1].calls[name] = true
				}
			}
		case *syntax.IfClause:
			if n.Else != nil {
				chained[n.Else] = true
			}
			if !chained[n] {
				ifs = append(ifs, n)
			}
		case *syntax.CaseClause:
			cases = append(cases, n)
		}
		return true
	})
	if a.err != nil {
		return
	}
	sort.Slice(comments, func(i, j int) bool { return comments[i].Hash.Offset() < comments[j].Hash.Offset() })
	ranges = mergeRanges(ranges)
	for _, c := range comments {
		if !inRanges(c.Hash.Offset(), ranges) {
			a.comments = append(a.comments, c)
		}
	}

	a.funcs = map[string]bool{}
	for name := range decls {
		a.funcs[name] = true
	}
	a.helpers = map[string]Helper{}
	for name, h := range knownHelpers {
		if d, ok := decls[name]; ok {
			h = inferHelper(d.decl, h)
			h.Defined = true
			d.isHelper = true
		}
		a.helpers[name] = h
	}
	// A defined function is a helper when it takes a connector and a value
	// ($1 and $2) and writes under a secrets folder or calls a helper: a
	// worklist, so a wrapper of a wrapper is found too, each body once.
	callers := map[string][]*funcFacts{}
	var queue []*funcFacts
	for _, ff := range order {
		if ff.isHelper {
			continue
		}
		if ff.pos[1] && ff.pos[2] {
			for c := range ff.calls {
				callers[c] = append(callers[c], ff)
			}
			if ff.secrets || a.callsKnown(ff) {
				queue = append(queue, ff)
			}
		}
	}
	for len(queue) > 0 && a.alive() {
		ff := queue[0]
		queue = queue[1:]
		if ff.isHelper {
			continue
		}
		ff.isHelper = true
		name := ff.decl.Name.Value
		h := inferHelper(ff.decl, Helper{Name: name, Connector: 1, Value: 2, File: 3, DefaultFile: "config.json", Shape: 2})
		h.Defined = true
		a.helpers[name] = h
		queue = append(queue, callers[name]...)
	}
	resolveTargets(a.helpers, decls)
	for _, h := range a.helpers {
		a.s.Helpers = append(a.s.Helpers, h)
	}
	sort.Slice(a.s.Helpers, func(i, j int) bool { return a.s.Helpers[i].Name < a.s.Helpers[j].Name })

	a.bases = map[string]bool{}
	for _, b := range alwaysBases {
		a.bases[b] = true
	}
	mention := func(list []*syntax.Stmt) bool {
		for _, st := range list {
			if basesStmts[st] {
				return true
			}
		}
		return false
	}
	for _, ic := range ifs {
		a.basesFromIf(ic, mention)
	}
	for _, cc := range cases {
		for _, it := range cc.Items {
			if !mention(it.Stmts) {
				continue
			}
			for _, p := range it.Patterns {
				if c := p.Lit(); labels.ValidateConnector(c) == nil {
					a.bases[c] = true
				}
			}
		}
	}
	for b := range a.bases {
		a.s.Bases = append(a.s.Bases, b)
	}
	sort.Strings(a.s.Bases)
}

// callsKnown reports whether a body calls a helper known so far.
func (a *analyzer) callsKnown(ff *funcFacts) bool {
	for c := range ff.calls {
		if _, ok := a.helpers[c]; ok {
			return true
		}
	}
	return false
}

// mergeRanges sorts ranges and joins those that overlap, so that a lookup
// is one binary search however deeply the functions nest.
func mergeRanges(ranges [][2]uint) [][2]uint {
	sort.Slice(ranges, func(i, j int) bool { return ranges[i][0] < ranges[j][0] })
	var out [][2]uint
	for _, r := range ranges {
		if n := len(out); n > 0 && r[0] < out[n-1][1] {
			out[n-1][1] = max(out[n-1][1], r[1])
			continue
		}
		out = append(out, r)
	}
	return out
}

// inRanges reports whether off falls inside one of ranges (merged).
func inRanges(off uint, ranges [][2]uint) bool {
	i := sort.Search(len(ranges), func(i int) bool { return ranges[i][0] > off })
	return i > 0 && off < ranges[i-1][1]
}

// basesFromIf reads `if [ "$c" = "base-normalization" ]; then dir=.../bases/...`
// (and the != form with bases/ in the else branch).
func (a *analyzer) basesFromIf(ic *syntax.IfClause, mention func([]*syntax.Stmt) bool) {
	for c := ic; c != nil && c.Cond != nil; c = c.Else {
		eq, ne := comparands(c.Cond)
		if len(eq) == 0 && len(ne) == 0 {
			continue // nothing to learn
		}
		if mention(c.Then) {
			for _, s := range eq {
				a.bases[s] = true
			}
		} else if c.Else != nil && c.Else.Cond == nil && mention(c.Else.Then) {
			for _, s := range ne {
				a.bases[s] = true
			}
		}
	}
}

// comparands lists the connector names a condition compares with, for
// equality (eq) and inequality (ne): [ "$x" = name ], [[ $x == name ]].
func comparands(cond []*syntax.Stmt) (eq, ne []string) {
	add := func(op string, x, y *syntax.Word) {
		for _, w := range []*syntax.Word{x, y} {
			s := litValue(w)
			if labels.ValidateConnector(s) != nil {
				continue
			}
			if op == "!=" {
				ne = append(ne, s)
			} else {
				eq = append(eq, s)
			}
		}
	}
	for _, st := range cond {
		syntax.Walk(st, func(n syntax.Node) bool {
			switch n := n.(type) {
			case *syntax.BinaryTest:
				x, _ := n.X.(*syntax.Word)
				y, _ := n.Y.(*syntax.Word)
				if x == nil || y == nil {
					return true
				}
				switch n.Op {
				case syntax.TsMatch, syntax.TsMatchShort:
					add("=", x, y)
				case syntax.TsNoMatch:
					add("!=", x, y)
				}
			case *syntax.CallExpr:
				if len(n.Args) == 0 {
					return true
				}
				if cmd := n.Args[0].Lit(); cmd != "[" && cmd != "test" {
					return true
				}
				for i := 1; i+1 < len(n.Args); i++ {
					switch op := n.Args[i].Lit(); op {
					case "=", "==", "!=":
						add(op, n.Args[i-1], n.Args[i+1])
					}
				}
			}
			return true
		})
	}
	return eq, ne
}

// litValue is a word's value when it is literal, quoted or not.
func litValue(w *syntax.Word) string {
	var b strings.Builder
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.Lit:
			b.WriteString(p.Value)
		case *syntax.SglQuoted:
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				l, ok := q.(*syntax.Lit)
				if !ok {
					return ""
				}
				b.WriteString(l.Value)
			}
		default:
			return ""
		}
	}
	return b.String()
}

// inferHelper reads the argument order from the body's assignments
// (`local connector_name=$1`, `local creds=$2`,
// `local cred_filename=${3:-config.json}`), falling back to h's order.
func inferHelper(d *syntax.FuncDecl, h Helper) Helper {
	roles := map[string]int{}
	defaults := map[int]string{}
	syntax.Walk(d.Body, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.FuncDecl:
			return false // a nested function's arguments are its own
		case *syntax.Assign:
			if n.Name == nil || n.Value == nil {
				return true
			}
			pe := singleParam(n.Value)
			if pe == nil || pe.Param == nil || len(pe.Param.Value) != 1 || pe.Param.Value[0] < '1' || pe.Param.Value[0] > '9' {
				return true
			}
			pos := int(pe.Param.Value[0] - '0')
			if role := roleOf(n.Name.Value); role != "" {
				if _, seen := roles[role]; !seen {
					roles[role] = pos
				}
			}
		case *syntax.ParamExp:
			if n.Param != nil && len(n.Param.Value) == 1 && n.Param.Value[0] >= '1' && n.Param.Value[0] <= '9' &&
				n.Exp != nil && (n.Exp.Op == syntax.DefaultUnset || n.Exp.Op == syntax.DefaultUnsetOrNull) && n.Exp.Word != nil {
				if s := litValue(n.Exp.Word); plainFileName(s) {
					defaults[int(n.Param.Value[0]-'0')] = s
				}
			}
		}
		return true
	})
	c, cok := roles["connector"]
	v, vok := roles["value"]
	if cok && vok && c != v {
		h.Connector, h.Value = c, v
		if f, ok := roles["file"]; ok && f != c && f != v {
			h.File = f
		} else {
			h.File = 0
			for p := 1; p <= 3; p++ {
				if p != c && p != v {
					h.File = p
					break
				}
			}
		}
	}
	if s, ok := defaults[h.File]; ok {
		h.DefaultFile = s
	}
	return h
}

func roleOf(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.Contains(n, "provider"):
		return ""
	case strings.Contains(n, "connector"):
		return "connector"
	case strings.Contains(n, "file"):
		return "file"
	case strings.Contains(n, "cred"), strings.Contains(n, "secret"), strings.Contains(n, "value"), strings.Contains(n, "json"), strings.Contains(n, "content"):
		return "value"
	}
	return ""
}

// functionReads reports the statements of function bodies that read a
// secret-like variable the script never sets (GCP_GSM_CREDENTIALS,
// GITHUB_PROVIDED_SECRETS_JSON, a GitHub secret read directly): plumbing,
// not registrations, but still a use of that secret. Variables assigned
// anywhere in the script (top level or any function, loop and read
// variables, declare NAME) are the script's own and are not reported.
func (a *analyzer) functionReads(f *syntax.File) {
	own := map[string]bool{}
	for name := range a.s.assigned {
		own[name] = true
	}
	addWord := func(w *syntax.Word) {
		if w != nil {
			if l := w.Lit(); l != "" && !strings.HasPrefix(l, "-") {
				own[l] = true
			}
		}
	}
	a.walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Assign:
			if n.Name != nil {
				own[n.Name.Value] = true
			}
		case *syntax.ForClause:
			if wi, ok := n.Loop.(*syntax.WordIter); ok && wi.Name != nil {
				own[wi.Name.Value] = true
			}
		case *syntax.CallExpr:
			if len(n.Args) > 0 && (n.Args[0].Lit() == "read" || n.Args[0].Lit() == "mapfile" || n.Args[0].Lit() == "readarray") {
				for _, w := range n.Args[1:] {
					addWord(w)
				}
			}
		}
		return true
	})
	var visit func(name string, list []*syntax.Stmt, depth int)
	visit = func(fn string, list []*syntax.Stmt, depth int) {
		for _, st := range list {
			var vars []string
			reads := func(n syntax.Node) {
				a.walk(n, func(n syntax.Node) bool {
					if pe, ok := n.(*syntax.ParamExp); ok && pe.Param != nil {
						if name := pe.Param.Value; !own[name] && secretLike(name) {
							vars = union(vars, []string{name})
						}
					}
					return true
				})
			}
			if inner := nestedStmts(st); inner != nil && depth < maxDepth {
				// Report the innermost statements, one line each, and
				// what the compound statement itself reads.
				visit(fn, inner, depth+1)
				for _, r := range st.Redirs {
					reads(r)
				}
				switch c := st.Cmd.(type) {
				case *syntax.ForClause:
					reads(c.Loop)
				case *syntax.CaseClause:
					reads(c.Word)
				}
			} else {
				reads(st)
			}
			if len(vars) > 0 {
				a.s.Unrecognized = append(a.s.Unrecognized, Unrecognized{
					Line: int(st.Pos().Line()), Text: a.text(st), Variables: vars,
					Reason:   "plumbing in function " + fn + " reads " + dollarList(vars) + ", which the script never sets",
					plumbing: true,
				})
			}
		}
	}
	a.walk(f, func(n syntax.Node) bool {
		if fd, ok := n.(*syntax.FuncDecl); ok && fd.Name != nil && fd.Body != nil {
			visit(fd.Name.Value, []*syntax.Stmt{fd.Body}, 0)
			return false // nested declarations are visited as statements
		}
		return true
	})
}

// nestedStmts returns the statement lists a compound statement holds (its
// conditions included), or nil for a simple statement.
func nestedStmts(st *syntax.Stmt) []*syntax.Stmt {
	switch c := st.Cmd.(type) {
	case *syntax.Block:
		return c.Stmts
	case *syntax.Subshell:
		return c.Stmts
	case *syntax.IfClause:
		var out []*syntax.Stmt
		for ic := c; ic != nil; ic = ic.Else {
			out = append(append(out, ic.Cond...), ic.Then...)
		}
		return out
	case *syntax.WhileClause:
		return append(append([]*syntax.Stmt{}, c.Cond...), c.Do...)
	case *syntax.ForClause:
		if len(c.Do) > 0 {
			return c.Do
		}
	case *syntax.CaseClause:
		var out []*syntax.Stmt
		for _, it := range c.Items {
			out = append(out, it.Stmts...)
		}
		return out
	case *syntax.FuncDecl:
		return []*syntax.Stmt{c.Body}
	}
	return nil
}
