package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/airbytehq/ci-secrets/labels"
)

// Kind tells how a registration's file relates to its GitHub secret.
type Kind string

const (
	// KindVerbatim: the file is the secret's value, unchanged.
	KindVerbatim Kind = "verbatim"
	// KindTemplated: the file is built from a template with the secret's
	// value inserted (jq --arg ... sample.json > file); GSM must hold the
	// finished file.
	KindTemplated Kind = "templated"
	// KindDerived: the value is computed in the script from one or more
	// secrets (X=$(jq ... "$REAL"); helper "$X").
	KindDerived Kind = "derived"
	// KindOutside: the script writes a secret to a file outside every
	// connector's and base's secrets folder (the 2020 layouts
	// airbyte-integrations/<x>/secrets/..., singer/<x>/<y>/secrets/...):
	// sync cannot write it, so it is always leftover.
	KindOutside Kind = "outside"
)

// outsideNote is the reason of every KindOutside registration.
const outsideNote = "written outside a connector's or base's secrets folder, where sync cannot write: move the file under airbyte-integrations/connectors/<connector>/secrets/ (and the code that reads it), or keep the GitHub secret"

// Status of a registration against the GSM inventory.
type Status string

const (
	// StatusServed: exactly one valid GSM secret serves the (connector, file).
	StatusServed Status = "served"
	// StatusLeftover: no secret serves it yet (or several conflict).
	StatusLeftover Status = "leftover"
)

// Registration is one statement of the script that writes (shapes 1 and 2)
// or registers (shape 3) a GitHub secret as a connector's secrets file.
type Registration struct {
	Line      int    `json:"line"`
	Connector string `json:"connector"`
	File      string `json:"file"`
	// Path is where the legacy script put the file, relative to the monorepo root.
	Path string `json:"path"`
	// Variable is the environment variable (GitHub side) the value comes
	// from; for a value derived from several, the first of Sources.
	Variable string `json:"variable"`
	// Sources lists every environment variable the value comes from.
	Sources []string `json:"sources"`
	// Via lists the script variables a derived value went through, nearest first.
	Via []string `json:"via,omitempty"`
	// GitHubSecret is the GitHub secret behind Variable (from the workflows;
	// the same name when no workflow maps it).
	GitHubSecret string `json:"github_secret"`
	Kind         Kind   `json:"kind"`
	Status       Status `json:"status"`
	// GSMSecret is the secret that serves (Connector, File); empty when leftover.
	GSMSecret string `json:"gsm_secret"`
	// Note explains a leftover that GSM almost serves (a conflict, invalid labels).
	Note string `json:"note,omitempty"`
	// ManualEdit, on a served registration, says why --rewrite cannot
	// remove its statement: it must be edited by hand, and until then its
	// variables stay leftover (their GitHub secrets are still read).
	ManualEdit string `json:"manual_edit,omitempty"`
	// Command is the statement's command (write_standard_creds, echo, jq...).
	Command string `json:"command"`
	// Shape is the script generation: 1 raw shell, 2 helper, 3 read_secrets.
	Shape int    `json:"shape"`
	Text  string `json:"text"`

	span span
}

// span locates a registration's statement for the rewrite.
type span struct {
	start, end int    // byte range of the whole lines, end after the '\n'
	stmt       int    // where the statement starts (after its indentation)
	block      int    // enclosing statement list: 0 for the file's top level
	keep       string // why the lines cannot be removed; empty if they can
}

// CommentedOut is a comment that parses as a registration.
type CommentedOut struct {
	Line      int    `json:"line"`
	Connector string `json:"connector"`
	File      string `json:"file"`
	Variable  string `json:"variable,omitempty"`
	Text      string `json:"text"`
}

// Unrecognized is a statement that touches a secret-like variable in a way
// the reader does not understand. Nothing that touches a secret is dropped
// silently: it lands here.
type Unrecognized struct {
	Line      int      `json:"line"`
	Text      string   `json:"text"`
	Reason    string   `json:"reason"`
	Variables []string `json:"variables,omitempty"`

	// plumbing: a function body reading variables the script never sets;
	// the report drops it when the workflows pass them to the script.
	plumbing bool
}

// LiteralWrite is a statement that writes a connector secrets file from a
// literal (often a forgotten '$'): reported, not counted as a secret use.
type LiteralWrite struct {
	Line      int    `json:"line"`
	Connector string `json:"connector"`
	File      string `json:"file"`
	Path      string `json:"path"`
	Hint      string `json:"hint"`
	Text      string `json:"text"`
}

// Script is what ReadScript understood of a legacy script.
type Script struct {
	Name          string
	Registrations []Registration
	CommentedOut  []CommentedOut
	Unrecognized  []Unrecognized
	LiteralWrites []LiteralWrite
	// Migrated are the registrations an earlier --rewrite removed.
	Migrated []Migrated
	// Helpers are the functions whose calls are registrations, with the
	// argument positions used.
	Helpers []Helper
	// Bases are the connectors the script writes under bases/ rather than connectors/.
	Bases []string

	src        []byte
	file       *syntax.File // as parsed, comments kept
	lines      []int        // byte offset where each line starts
	blockSizes map[int]int
	assigned   map[string]int // script variable -> line of its last top-level assignment
}

// Source returns the script's bytes as read.
func (s *Script) Source() []byte { return s.src }

// Helper describes a registration function: `NAME connector "$VAR" [file]`
// in the conventional order, or the order its body reveals.
type Helper struct {
	Name        string
	Defined     bool // defined in the script (else a well-known name)
	Connector   int  // 1-based argument positions
	Value       int
	File        int
	DefaultFile string
	Shape       int

	// targets are the body's write targets as templates over its
	// positional parameters (helperTargets); nil when unknown.
	targets []string
}

// knownHelpers are the registration functions of the historical scripts,
// recognised even when defined elsewhere (a sourced library).
var knownHelpers = map[string]Helper{
	"write_standard_creds": {Name: "write_standard_creds", Connector: 1, Value: 2, File: 3, DefaultFile: "config.json", Shape: 2},
	"read_secrets":         {Name: "read_secrets", Connector: 1, Value: 2, File: 3, DefaultFile: "config.json", Shape: 3},
}

// Limits that bound the work on hostile input.
const (
	maxDepth   = 64 // nesting of compound statements walked for registrations
	maxSources = 32 // variables a derived value is traced to
	maxVia     = 8  // script variables listed in a derivation chain
	maxText    = 160
)

// ReadScript parses src (named name in errors) and finds its registrations.
// The error is an *InputError (errors.Is(err, ErrBadInput)) for empty,
// binary or oversized input and for a parse error, with line and column.
func ReadScript(name string, src []byte) (*Script, error) {
	return ReadScriptContext(context.Background(), name, src)
}

// ReadScriptContext is ReadScript that stops, returning ctx's error, soon
// after ctx is cancelled: a hostile script (thousands of nested
// statements) must not keep an interrupted run alive.
func ReadScriptContext(ctx context.Context, name string, src []byte) (*Script, error) {
	p, err := ParseScript(ctx, name, src)
	if err != nil {
		return nil, err
	}
	return p.Analyze(ctx)
}

// ParsedScript is a script that parses, before its analysis: the two steps
// apart let a caller tell (and log) which one a run is in.
type ParsedScript struct {
	name string
	src  []byte
	file *syntax.File
}

// ParseScript checks and parses src (named name in errors), as
// ReadScriptContext does before the analysis.
func ParseScript(ctx context.Context, name string, src []byte) (*ParsedScript, error) {
	if err := checkText(name, src); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := syntax.NewParser(syntax.KeepComments(true), syntax.Variant(syntax.LangBash)).Parse(bytes.NewReader(src), name)
	if err != nil {
		return nil, parseError(name, err)
	}
	return &ParsedScript{name: name, src: src, file: f}, nil
}

// Analyze finds the registrations of a parsed script. It stops, returning
// ctx's error, soon after ctx is cancelled.
func (p *ParsedScript) Analyze(ctx context.Context) (*Script, error) {
	a := newAnalyzer(ctx, p.name, p.src, p.file)
	a.run(p.file)
	if a.err != nil {
		return nil, a.err
	}
	return a.s, nil
}

// checkEvery is how many nodes or statements pass between two looks at
// the context: cheap enough to vanish in the profile, often enough that a
// cancelled run stops in well under a second.
const checkEvery = 1024

// alive counts one unit of work and reports whether the analysis should go
// on: false once the context is cancelled (a.err then holds its error).
func (a *analyzer) alive() bool {
	if a.err != nil {
		return false
	}
	a.ticks++
	if a.ticks%checkEvery == 0 {
		if err := a.ctx.Err(); err != nil {
			a.err = err
			return false
		}
	}
	return true
}

// walk is syntax.Walk that gives up once the analysis is cancelled.
func (a *analyzer) walk(n syntax.Node, f func(syntax.Node) bool) {
	syntax.Walk(n, func(n syntax.Node) bool {
		if !a.alive() {
			return false
		}
		return f(n)
	})
}

func parseError(name string, err error) error {
	var pe syntax.ParseError
	if errors.As(err, &pe) {
		return &InputError{File: name, Line: int(pe.Pos.Line()), Col: int(pe.Pos.Col()), Msg: "does not parse as a bash script: " + pe.Text}
	}
	var le syntax.LangError
	if errors.As(err, &le) {
		return &InputError{File: name, Line: int(le.Pos.Line()), Col: int(le.Pos.Col()), Msg: "does not parse as a bash script: " + le.Feature + " is not bash"}
	}
	return &InputError{File: name, Msg: "does not parse as a bash script: " + err.Error()}
}

// varInfo is what the script assigned to a variable, at the point reached.
type varInfo struct {
	name     string
	line     int
	text     string // the assigning statement, for reports
	val      wordVal
	aliasOf  string // exact copy of this environment variable
	exported bool   // export NAME=..., declare -x: every command the script runs sees it
	used     bool   // read later by a registration or another statement
}

type analyzer struct {
	ctx      context.Context
	err      error // the context's error once cancelled
	ticks    int
	s        *Script
	src      []byte
	vars     map[string]*varInfo
	helpers  map[string]Helper
	funcs    map[string]bool
	bases    map[string]bool
	comments []syntax.Comment // outside function bodies, in order
	nextCmt  int
	nblocks  int
	// assigns are the assignments of secret-derived values, in order, so
	// that those nothing reads are reported rather than dropped.
	assigns []*varInfo
	// quiet is set while reading a commented-out line: it uses nothing.
	quiet bool
}

func newAnalyzer(ctx context.Context, name string, src []byte, f *syntax.File) *analyzer {
	a := &analyzer{
		ctx: ctx,
		s: &Script{
			Name: name, src: src, file: f, lines: lineStarts(src),
			Registrations: []Registration{}, CommentedOut: []CommentedOut{}, Migrated: []Migrated{},
			Unrecognized: []Unrecognized{}, LiteralWrites: []LiteralWrite{},
			blockSizes: map[int]int{}, assigned: map[string]int{},
		},
		src:  src,
		vars: map[string]*varInfo{},
	}
	a.scanFunctions(f)
	return a
}

func (a *analyzer) run(f *syntax.File) {
	a.s.blockSizes[0] = len(f.Stmts)
	a.stmts(f.Stmts, 0, 0)
	a.flushComments(len(a.src) + 1)
	a.unreadAssigns()
	a.functionReads(f)
	sort.SliceStable(a.s.Unrecognized, func(i, j int) bool { return a.s.Unrecognized[i].Line < a.s.Unrecognized[j].Line })
}

// stmts walks a statement list in order. block identifies the list for the
// rewrite (0 is the file's top level).
func (a *analyzer) stmts(list []*syntax.Stmt, block, depth int) {
	for _, st := range list {
		a.stmt(st, block, depth, true)
	}
}

// newBlock registers a nested statement list and walks it.
func (a *analyzer) block(list []*syntax.Stmt, depth int) {
	a.nblocks++
	id := a.nblocks
	a.s.blockSizes[id] = len(list)
	a.stmts(list, id, depth+1)
}

// stmt handles one statement. member is false for statements that are not
// members of a statement list (the sides of && and ||), which the rewrite
// never removes.
func (a *analyzer) stmt(st *syntax.Stmt, block, depth int, member bool) {
	if !a.alive() {
		return
	}
	a.flushComments(int(st.Pos().Offset()))
	if depth > maxDepth {
		a.touch(st, st, "nested too deeply to analyse")
		return
	}
	switch c := st.Cmd.(type) {
	case nil:
		a.touch(st, st, "")
	case *syntax.FuncDecl:
		// Plumbing: function bodies are not registrations.
	case *syntax.CallExpr:
		if len(c.Args) == 0 {
			for _, as := range c.Assigns {
				a.assign(st, as, false)
			}
			a.touchRedirs(st)
			return
		}
		a.call(st, c, block, member)
	case *syntax.DeclClause:
		switch c.Variant.Value {
		case "export", "declare", "typeset", "readonly", "local":
			exported := c.Variant.Value == "export"
			for _, as := range c.Args {
				if as.Naked && as.Value != nil && as.Value.Lit() == "-x" {
					exported = true // declare -x NAME=...
				}
			}
			for _, as := range c.Args {
				if as.Name != nil && !as.Naked {
					a.assign(st, as, exported)
				}
			}
			a.touchRedirs(st)
		default:
			a.touch(st, st, "")
		}
	case *syntax.BinaryCmd:
		if c.Op == syntax.Pipe || c.Op == syntax.PipeAll {
			a.pipe(st, c, block, member)
			return
		}
		nr, nl, nu := len(a.s.Registrations), len(a.s.LiteralWrites), len(a.s.Unrecognized)
		a.stmt(c.X, block, depth+1, false)
		a.stmt(c.Y, block, depth+1, false)
		if len(a.s.Registrations) == nr && len(a.s.LiteralWrites) == nl && len(a.s.Unrecognized) > nu+1 {
			// One report for the whole `a && b` line, not one per side.
			a.s.Unrecognized = a.s.Unrecognized[:nu]
			a.touch(st, st, "")
		}
	case *syntax.IfClause:
		for ic := c; ic != nil; ic = ic.Else {
			for _, cs := range ic.Cond {
				a.stmt(cs, block, depth+1, false)
			}
			a.block(ic.Then, depth)
		}
		a.touchRedirs(st)
	case *syntax.WhileClause:
		for _, cs := range c.Cond {
			a.stmt(cs, block, depth+1, false)
		}
		a.block(c.Do, depth)
		a.touchRedirs(st)
	case *syntax.ForClause:
		a.touch(st, c.Loop, "")
		a.block(c.Do, depth)
		a.touchRedirs(st)
	case *syntax.CaseClause:
		a.touch(st, c.Word, "")
		for _, it := range c.Items {
			a.block(it.Stmts, depth)
		}
		a.touchRedirs(st)
	case *syntax.Block:
		a.block(c.Stmts, depth)
		a.touchRedirs(st)
	case *syntax.Subshell:
		a.block(c.Stmts, depth)
		a.touchRedirs(st)
	default:
		a.touch(st, st, "")
	}
}

func (a *analyzer) touchRedirs(st *syntax.Stmt) {
	for _, r := range st.Redirs {
		a.touch(st, r, "")
	}
}

// call handles a simple command with arguments.
func (a *analyzer) call(st *syntax.Stmt, c *syntax.CallExpr, block int, member bool) {
	f := a.classifyCall(st, c)
	a.record(st, f, block, member)
}

// finding is what one statement turned out to be.
type finding struct {
	reg   *Registration
	lit   *LiteralWrite
	unrec *Unrecognized
}

func (a *analyzer) record(st *syntax.Stmt, f finding, block int, member bool) {
	switch {
	case f.reg != nil:
		f.reg.span = a.spanOf(st, block, member)
		a.s.Registrations = append(a.s.Registrations, *f.reg)
	case f.lit != nil:
		a.s.LiteralWrites = append(a.s.LiteralWrites, *f.lit)
	case f.unrec != nil:
		a.s.Unrecognized = append(a.s.Unrecognized, *f.unrec)
	}
}

// classifyCall decides what a simple command is, without changing the
// analyzer's state (it also serves commented-out lines).
func (a *analyzer) classifyCall(st *syntax.Stmt, c *syntax.CallExpr) finding {
	name := c.Args[0].Lit()
	if h, ok := a.helpers[name]; ok && !a.assignsSecrets(c) {
		// `X=1 helper ...` is still the helper call: the prefix only sets
		// the helper's environment.
		return a.helperCall(st, c, h)
	}
	if out := outputRedirect(st.Redirs); out != nil {
		if p, ok := a.secretsPath(out.Word); ok {
			return a.write(st, c, out, p)
		}
		if vars := a.touched(st); len(vars) > 0 {
			if p, ok := a.outsidePath(out.Word); ok {
				return a.write(st, c, out, p)
			}
			return unrecognized(a, st, vars, "writes "+dollarList(vars)+" to "+quoteText(a.wordText(out.Word))+", a path the reader cannot resolve")
		}
		return finding{}
	}
	vars := a.touched(st)
	if len(vars) == 0 {
		return finding{}
	}
	if a.funcs[name] {
		return unrecognized(a, st, vars, "passes "+dollarList(vars)+" to function "+name+", which is not a known credentials helper")
	}
	return unrecognized(a, st, vars, "uses "+dollarList(vars)+" outside a registration")
}

// assignsSecrets reports whether a command's prefix assignments (X=...
// cmd) hand a secret-like value to the command's environment.
func (a *analyzer) assignsSecrets(c *syntax.CallExpr) bool {
	for _, as := range c.Assigns {
		if as.Value != nil && len(a.touched(as.Value)) > 0 || as.Array != nil && len(a.touched(as.Array)) > 0 {
			return true
		}
	}
	return false
}

func unrecognized(a *analyzer, n syntax.Node, vars []string, reason string) finding {
	return finding{unrec: &Unrecognized{Line: int(n.Pos().Line()), Text: a.text(n), Reason: reason, Variables: vars}}
}

// touch lists node's statement as unrecognized when node touches a
// secret-like variable. reason overrides the default wording.
func (a *analyzer) touch(st *syntax.Stmt, node syntax.Node, reason string) {
	vars := a.touched(node)
	if len(vars) == 0 && reason == "" {
		return
	}
	if reason == "" {
		reason = "uses " + dollarList(vars) + " outside a registration"
	}
	a.s.Unrecognized = append(a.s.Unrecognized, Unrecognized{Line: int(node.Pos().Line()), Text: a.text(st), Reason: reason, Variables: vars})
}

// helperCall reads `helper connector "$VAR" [file]`.
func (a *analyzer) helperCall(st *syntax.Stmt, c *syntax.CallExpr, h Helper) finding {
	args := c.Args[1:]
	if len(args) < max(h.Connector, h.Value) {
		vars := a.touched(st)
		return unrecognized(a, st, vars, fmt.Sprintf("%s needs a connector and a value (%d arguments given)", h.Name, len(args)))
	}
	connW := args[h.Connector-1]
	cv := a.evalWord(connW)
	if !cv.known() {
		return unrecognized(a, st, a.touched(st), "the connector name "+quoteText(a.wordText(connW))+" is not a literal")
	}
	conn := cv.text
	if out, ok := h.outsideTarget(a.literalArgs(args)); ok {
		p := secretsPath{file: path.Base(out), outside: truncate(out)}
		return a.finish(st, h.Name, h.Shape, p, a.classifyValue(args[h.Value-1]))
	}
	if err := labels.ValidateConnector(conn); err != nil {
		return unrecognized(a, st, a.touched(st), "the connector "+quoteText(conn)+" is not a valid connector name")
	}
	file := h.DefaultFile
	if h.File > 0 && len(args) >= h.File {
		fw := args[h.File-1]
		fv := a.evalWord(fw)
		if !fv.known() {
			return unrecognized(a, st, a.touched(st), "the file name "+quoteText(a.wordText(fw))+" is not a literal")
		}
		if !plainFileName(fv.text) {
			return unrecognized(a, st, a.touched(st), "the file name "+quoteText(fv.text)+" is not a plain file name")
		}
		file = fv.text
	}
	area := "connectors"
	if a.bases[conn] {
		area = "bases"
	}
	p := secretsPath{area: area, connector: conn, file: file}
	v := a.classifyValue(args[h.Value-1])
	return a.finish(st, h.Name, h.Shape, p, v)
}

// write reads a shape-1 write: `echo "$VAR" > dir/file`, `printf`,
// `cat <<EOF`, `jq --arg v "$VAR" ... > dir/file`.
func (a *analyzer) write(st *syntax.Stmt, c *syntax.CallExpr, out *syntax.Redirect, p secretsPath) finding {
	name := c.Args[0].Lit()
	if out.Op == syntax.AppOut {
		return unrecognized(a, st, a.touched(st), "appends to "+p.String()+" instead of writing it")
	}
	if len(c.Assigns) > 0 {
		return unrecognized(a, st, a.touched(st), "sets variables for the command that writes "+p.String())
	}
	var v valueClass
	args := c.Args[1:]
	switch name {
	case "echo":
		for len(args) > 0 && isEchoFlag(args[0].Lit()) {
			args = args[1:]
		}
		v = a.classifyWords(args)
	case "printf":
		if len(args) == 2 && isPlainFormat(a.evalWord(args[0])) {
			v = a.classifyValue(args[1])
		} else {
			v = a.classifyWords(args)
			if v.kind == KindVerbatim {
				v.kind = KindDerived
			}
		}
	case "cat":
		if in := inputRedirect(st.Redirs); in != nil && len(args) == 0 {
			if in.Op == syntax.WordHdoc {
				v = a.classifyValue(in.Word)
			} else {
				v = a.classifyHeredoc(in.Hdoc)
			}
			break
		}
		v = a.classifyGeneric(st, name)
	default:
		v = a.classifyGeneric(st, name)
	}
	return a.finish(st, name, 1, p, v)
}

// pipe handles `... | ... > dir/file` (a derived value) and any other pipeline.
func (a *analyzer) pipe(st *syntax.Stmt, c *syntax.BinaryCmd, block int, member bool) {
	last := c.Y
	for {
		b, ok := last.Cmd.(*syntax.BinaryCmd)
		if !ok || (b.Op != syntax.Pipe && b.Op != syntax.PipeAll) {
			break
		}
		last = b.Y
	}
	if out := outputRedirect(last.Redirs); out != nil {
		p, ok := a.secretsPath(out.Word)
		if !ok && len(a.touched(st)) > 0 {
			p, ok = a.outsidePath(out.Word)
		}
		if ok {
			v := a.classifyGeneric(st, "")
			if v.kind == KindTemplated || v.kind == KindVerbatim {
				v.kind = KindDerived
			}
			a.record(st, a.finish(st, "pipeline", 1, p, v), block, member)
			return
		}
	}
	if p, ok := a.teeTarget(last); ok {
		// `echo "$VAR" | tee dir/file` writes the value as it is; any
		// other command before tee changes it.
		var v valueClass
		if ce := echoCall(c.X); ce != nil && c.Y == last {
			args := ce.Args[1:]
			for len(args) > 0 && isEchoFlag(args[0].Lit()) {
				args = args[1:]
			}
			v = a.classifyWords(args)
		} else {
			v = a.classifyGeneric(st, "")
			if v.kind == KindTemplated || v.kind == KindVerbatim {
				v.kind = KindDerived
			}
		}
		a.record(st, a.finish(st, "tee", 1, p, v), block, member)
		return
	}
	a.touch(st, st, "")
}

// echoCall is st when it is a plain echo command, else nil.
func echoCall(st *syntax.Stmt) *syntax.CallExpr {
	ce, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(ce.Args) == 0 || ce.Args[0].Lit() != "echo" || len(ce.Assigns) > 0 || len(st.Redirs) > 0 {
		return nil
	}
	return ce
}

// teeTarget is the secrets file of a pipeline's last command when it is
// `tee FILE` (no append, one file) with its output thrown away or not
// redirected at all.
func (a *analyzer) teeTarget(st *syntax.Stmt) (secretsPath, bool) {
	ce, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(ce.Args) != 2 || ce.Args[0].Lit() != "tee" || len(ce.Assigns) > 0 {
		return secretsPath{}, false
	}
	for _, r := range st.Redirs {
		if r.Op != syntax.RdrOut || r.Word.Lit() != "/dev/null" {
			return secretsPath{}, false
		}
	}
	return a.secretsPath(ce.Args[1])
}

// finish turns a classified value into the statement's finding.
func (a *analyzer) finish(st *syntax.Stmt, command string, shape int, p secretsPath, v valueClass) finding {
	switch {
	case v.problem != "":
		return unrecognized(a, st, a.touched(st), v.problem+" (writing "+p.String()+")")
	case v.literal:
		return finding{lit: &LiteralWrite{Line: int(st.Pos().Line()), Connector: p.connector, File: p.file, Path: p.String(), Hint: v.hint, Text: a.text(st)}}
	}
	kind := v.kind
	if p.outside != "" {
		kind = KindOutside
	}
	return finding{reg: &Registration{
		Line: int(st.Pos().Line()), Connector: p.connector, File: p.file, Path: p.String(),
		Variable: v.sources[0], Sources: v.sources, Via: v.via, Kind: kind,
		Command: command, Shape: shape, Text: a.text(st),
	}}
}

// assign records a top-level assignment, in order: later statements see the
// new value.
func (a *analyzer) assign(st *syntax.Stmt, as *syntax.Assign, exported bool) {
	name := as.Name.Value
	info := &varInfo{name: name, line: int(as.Pos().Line()), text: a.text(st), exported: exported}
	switch {
	case as.Array != nil || as.Index != nil:
		// Arrays are not followed: remember only what they derive from.
		var srcs, via []string
		a.walk(as, func(n syntax.Node) bool {
			if pe, ok := n.(*syntax.ParamExp); ok && pe.Param != nil && pe.Param.Value != name {
				srcs, via = a.sourcesOf(pe.Param.Value, srcs, via)
			}
			return true
		})
		info.val = wordVal{text: unknown, dollar: true, sources: srcs, via: via}
	case as.Value == nil:
		info.val = wordVal{}
	default:
		info.val = a.evalWord(as.Value)
		if pe := singleParam(as.Value); pe != nil && plainParam(pe) {
			n := pe.Param.Value
			if prev, ok := a.vars[n]; ok && prev.aliasOf != "" {
				info.aliasOf = prev.aliasOf
			} else if !ok && secretLike(n) {
				info.aliasOf = n
			}
		}
	}
	if as.Append {
		if prev, ok := a.vars[name]; ok {
			info.val.text = prev.val.text + info.val.text
			info.val.dollar = info.val.dollar || prev.val.dollar
			info.val.sources = union(prev.val.sources, info.val.sources)
			info.val.via = union(prev.val.via, info.val.via)
		} else {
			info.val.text = unknown + info.val.text
		}
		info.aliasOf = ""
	}
	a.vars[name] = info
	a.s.assigned[name] = info.line
	if len(info.val.sources) > 0 {
		a.assigns = append(a.assigns, info)
	}
}

// unreadAssigns reports the assignments of secret-derived values that no
// later statement read (a function body or a child process may: the
// reader cannot tell) and those exported to every command the script runs.
func (a *analyzer) unreadAssigns() {
	for _, info := range a.assigns {
		var reason string
		switch {
		case info.exported:
			reason = "exports " + dollarList(info.val.sources) + " as " + info.name + " to every command the script runs"
		case !info.used:
			reason = "assigns " + dollarList(info.val.sources) + " to " + info.name + ", which no registration reads (a function or a child process may)"
		default:
			continue
		}
		a.s.Unrecognized = append(a.s.Unrecognized, Unrecognized{Line: info.line, Text: info.text, Reason: reason, Variables: info.val.sources})
	}
}

// spanOf decides whether a registration's statement can be removed by the
// rewrite: whole lines only, holding nothing but the statement (and a
// trailing comment), no here-document.
func (a *analyzer) spanOf(st *syntax.Stmt, block int, member bool) span {
	start, end := int(st.Pos().Offset()), int(st.End().Offset())
	sp := span{block: block, stmt: start}
	ls, _ := a.s.lineBounds(start)
	le := len(a.src)
	if _, e := a.s.lineBounds(end); e < len(a.src) {
		le = e + 1
	}
	sp.start, sp.end = ls, le
	switch {
	case !member:
		sp.keep = "part of a larger command (&& or ||)"
	case strings.TrimLeft(string(a.src[ls:start]), " \t") != "":
		sp.keep = "shares its line with another statement"
	case !restIsBlank(a.src[end:le]):
		sp.keep = "shares its line with another statement"
	}
	for _, r := range st.Redirs {
		if r.Hdoc != nil {
			sp.keep = "uses a here-document"
		}
	}
	return sp
}

func restIsBlank(b []byte) bool {
	s := strings.TrimLeft(string(b), " \t")
	return s == "" || s == "\n" || s == "\r\n" || strings.HasPrefix(s, "#")
}

// flushComments reads the comments before offset as possible commented-out
// registrations.
func (a *analyzer) flushComments(offset int) {
	for a.nextCmt < len(a.comments) && int(a.comments[a.nextCmt].Hash.Offset()) < offset {
		a.comment(a.comments[a.nextCmt])
		a.nextCmt++
	}
}

// comment parses a comment's text as a statement; when it is a registration
// (or a literal write) it was commented out.
func (a *analyzer) comment(c syntax.Comment) {
	if m, ok := parseMarker(int(c.Hash.Line()), c.Text); ok {
		a.s.Migrated = append(a.s.Migrated, m)
		return
	}
	text := strings.TrimSpace(strings.TrimLeft(c.Text, "#"))
	if !a.looksLikeRegistration(text) {
		return
	}
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(text), "")
	if err != nil || len(f.Stmts) != 1 {
		return
	}
	st := f.Stmts[0]
	ce, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(ce.Args) == 0 {
		return
	}
	// Positions inside the comment are relative to its text: use the comment's line.
	saved := a.src
	a.src, a.quiet = []byte(text), true
	fd := a.classifyCall(st, ce)
	a.src, a.quiet = saved, false
	co := CommentedOut{Line: int(c.Hash.Line()), Text: truncate("#" + c.Text)}
	switch {
	case fd.reg != nil:
		co.Connector, co.File, co.Variable = fd.reg.Connector, fd.reg.File, fd.reg.Variable
	case fd.lit != nil:
		co.Connector, co.File = fd.lit.Connector, fd.lit.File
	default:
		return
	}
	a.s.CommentedOut = append(a.s.CommentedOut, co)
}

func (a *analyzer) looksLikeRegistration(text string) bool {
	if text == "" || len(text) > 4096 {
		return false
	}
	for name := range a.helpers {
		if strings.HasPrefix(text, name) {
			return true
		}
	}
	return strings.Contains(text, ">") && strings.Contains(text, "secrets")
}

// text is the statement's first line, trimmed and cut, for reports.
func (a *analyzer) text(n syntax.Node) string {
	off := int(n.Pos().Offset())
	if off > len(a.src) {
		return ""
	}
	var ls, le int
	if a.quiet {
		// A commented-out line: a.src is that comment's short text.
		ls, le = 0, len(a.src)
		if i := bytes.IndexByte(a.src, '\n'); i >= 0 {
			le = i
		}
	} else {
		ls, le = a.s.lineBounds(off)
	}
	// A hostile line can be megabytes long and hold thousands of
	// statements: copy no more of it than the report shows.
	if off-ls > maxText {
		ls = off
	}
	le = min(le, max(off, ls)+4*maxText)
	return truncate(strings.TrimSpace(string(a.src[ls:le])))
}

// lineStarts lists the offset at which each line of src starts.
func lineStarts(src []byte) []int {
	out := []int{0}
	for i, c := range src {
		if c == '\n' {
			out = append(out, i+1)
		}
	}
	return out
}

// lineBounds is the line holding offset off: its first byte and the offset
// of its '\n' (or the end of the source).
func (s *Script) lineBounds(off int) (start, end int) {
	i := sort.Search(len(s.lines), func(i int) bool { return s.lines[i] > off }) - 1
	start, end = s.lines[i], len(s.src)
	if i+1 < len(s.lines) {
		end = s.lines[i+1] - 1
	}
	return start, end
}

// lineOf is the 1-based line of offset off.
func (s *Script) lineOf(off int) int {
	return sort.Search(len(s.lines), func(i int) bool { return s.lines[i] > off })
}

func (a *analyzer) wordText(w *syntax.Word) string {
	s, e := int(w.Pos().Offset()), int(w.End().Offset())
	if s > e || e > len(a.src) {
		return ""
	}
	return string(a.src[s:e])
}

func truncate(s string) string {
	if len(s) <= maxText {
		return s
	}
	cut := maxText
	for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "..."
}

func quoteText(s string) string { return "`" + truncate(s) + "`" }

func dollarList(vars []string) string {
	out := make([]string, len(vars))
	for i, v := range vars {
		out[i] = "$" + v
	}
	return strings.Join(out, ", ")
}

// secretsPath is a connector secrets file, or (outside set) a file
// anywhere else.
type secretsPath struct{ area, connector, file, outside string }

func (p secretsPath) String() string {
	if p.outside != "" {
		return p.outside
	}
	return "airbyte-integrations/" + p.area + "/" + p.connector + "/secrets/" + p.file
}

// outsidePath is a write target the reader can resolve that is not a
// connector's secrets file; /dev/null and the like are not files.
func (a *analyzer) outsidePath(w *syntax.Word) (secretsPath, bool) {
	v := a.evalWord(w)
	if !v.known() || v.text == "" || strings.HasPrefix(v.text, "/dev/") {
		return secretsPath{}, false
	}
	p := path.Clean(v.text)
	return secretsPath{file: path.Base(p), outside: truncate(p)}, true
}

// pathRe matches a connector secrets file; whatever precedes
// airbyte-integrations/ (a root variable) does not matter.
var pathRe = regexp.MustCompile(`(?:^|/)(?:airbyte-integrations/)?(connectors|bases)/([^/\x00]+)/secrets/([^/\x00]+)$`)

func (a *analyzer) secretsPath(w *syntax.Word) (secretsPath, bool) {
	v := a.evalWord(w)
	p := path.Clean(v.text)
	m := pathRe.FindStringSubmatch(p)
	if m == nil || labels.ValidateConnector(m[2]) != nil || !plainFileName(m[3]) {
		return secretsPath{}, false
	}
	return secretsPath{area: m[1], connector: m[2], file: m[3]}, true
}

func plainFileName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\x00")
}

func outputRedirect(rs []*syntax.Redirect) *syntax.Redirect {
	for _, r := range rs {
		switch r.Op {
		case syntax.RdrOut, syntax.RdrClob, syntax.AppOut, syntax.RdrAll:
			if r.N == nil || r.N.Value == "1" {
				return r
			}
		}
	}
	return nil
}

func inputRedirect(rs []*syntax.Redirect) *syntax.Redirect {
	for _, r := range rs {
		switch r.Op {
		case syntax.Hdoc, syntax.DashHdoc, syntax.WordHdoc:
			return r
		}
	}
	return nil
}

func isEchoFlag(s string) bool {
	if len(s) < 2 || s[0] != '-' {
		return false
	}
	for _, r := range s[1:] {
		if r != 'n' && r != 'e' && r != 'E' {
			return false
		}
	}
	return true
}

func isPlainFormat(v wordVal) bool {
	return v.known() && (v.text == "%s" || v.text == `%s\n` || v.text == "%s\n")
}
