package emulator

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The list filter language, a subset of Google's List-operation filtering
// (AIP-160) as GSM documents it for secrets and versions:
//
//	name:SUB          substring of the resource name
//	name=NAME         the full resource name or the bare ID
//	labels.K=V        exact value; labels.K!=V its negation
//	labels.K:V        substring of the value (GSM calls ':' "has"; the emulator
//	                  reads it as contains, so an exact value matches too)
//	labels.K:*        label K is present; labels:K the same
//	annotations.K, annotations:K, version_aliases.K, version_aliases:K
//	                  as labels (secrets only)
//	replication.automatic:*, replication.user_managed:*   the policy kind
//	replication.user_managed.replicas.location:L, and the kms_key_name of
//	                  replication.{automatic,user_managed.replicas}.customer_managed_encryption
//	topics.name:T     a topic of the secret
//	create_time>T     timestamps (RFC 3339) compare with = != < <= > >=; also
//	                  expire_time and rotation.next_rotation_time on secrets,
//	                  destroy_time and scheduled_destroy_time on versions
//	state:ENABLED     versions only (also state=..., DISABLED, DESTROYED)
//	F:(A OR B)        a composite value: F:A OR F:B (AND works likewise)
//	a AND b, a b      conjunction (implicit between adjacent terms)
//	a OR b            disjunction; binds tighter than AND, as in AIP-160
//	NOT a, -a         negation; ( ... ) groups
//
// A * anywhere in a text value is a wildcard for any run of characters
// (name:SECRET_*_CREDS). Values may be quoted ("..." or '...', with \
// escapes). Keywords are upper case. Anything else (bare words, a comparison
// on text, unknown fields) is INVALID_ARGUMENT: a filter the emulator cannot
// evaluate is never answered with an empty list.
const (
	maxFilterLen   = 4096
	maxFilterDepth = 32
)

// filterRecord is what a filter is evaluated against.
type filterRecord interface {
	// values returns the values of a field and whether it is present.
	values(field string) ([]string, bool)
}

type fieldKind int

const (
	fieldText fieldKind = iota // ':' is substring
	fieldEnum                  // ':' is equality
	fieldMap                   // a map itself (labels, annotations): labels:K tests presence of K
	fieldTime                  // a timestamp: compared in time
)

// filterSchema names the fields a filter may use; nil means unknown field.
type filterSchema func(field string) (fieldKind, []string, bool)

// mapFields are the secret fields that are string maps: F.K reads key K,
// F:K tests its presence.
var mapFields = []string{"labels", "annotations", "version_aliases"}

func secretSchema(field string) (fieldKind, []string, bool) {
	for _, m := range mapFields {
		if field == m {
			return fieldMap, nil, true
		}
		if k, ok := strings.CutPrefix(field, m+"."); ok && k != "" {
			return fieldText, nil, true
		}
	}
	switch field {
	case "name", "topics.name", "replication.automatic", "replication.user_managed",
		"replication.user_managed.replicas.location",
		"replication.automatic.customer_managed_encryption.kms_key_name",
		"replication.user_managed.replicas.customer_managed_encryption.kms_key_name":
		return fieldText, nil, true
	case "create_time", "expire_time", "rotation.next_rotation_time":
		return fieldTime, nil, true
	}
	return 0, nil, false
}

var versionStates = []string{"ENABLED", "DISABLED", "DESTROYED"}

func versionSchema(field string) (fieldKind, []string, bool) {
	switch field {
	case "name":
		return fieldText, nil, true
	case "state":
		return fieldEnum, versionStates, true
	case "create_time", "destroy_time", "scheduled_destroy_time":
		return fieldTime, nil, true
	}
	return 0, nil, false
}

type filterNode interface {
	match(r filterRecord) bool
}

type andNode []filterNode
type orNode []filterNode
type notNode struct{ n filterNode }
type matchAll struct{}

type restriction struct {
	field string
	kind  fieldKind
	op    string // ":", "=", "!=", and for times "<", "<=", ">", ">="
	value string
	glob  *regexp.Regexp // text values holding a *: the value as a pattern
	t     time.Time      // time values
}

func (n andNode) match(r filterRecord) bool {
	for _, c := range n {
		if !c.match(r) {
			return false
		}
	}
	return true
}

func (n orNode) match(r filterRecord) bool {
	for _, c := range n {
		if c.match(r) {
			return true
		}
	}
	return false
}

func (n notNode) match(r filterRecord) bool { return !n.n.match(r) }
func (matchAll) match(filterRecord) bool    { return true }

func (x restriction) match(r filterRecord) bool {
	if x.kind == fieldMap { // labels:K
		_, ok := r.values(x.field + "." + x.value)
		return ok
	}
	vals, present := r.values(x.field)
	if x.kind == fieldTime {
		return x.matchTime(vals, present)
	}
	switch x.op {
	case ":":
		if !present {
			return false
		}
		if x.value == "*" {
			return true
		}
		for _, v := range vals {
			switch {
			case x.kind == fieldEnum:
				if strings.EqualFold(v, x.value) {
					return true
				}
			case x.glob != nil:
				if x.glob.MatchString(v) {
					return true
				}
			case strings.Contains(v, x.value):
				return true
			}
		}
		return false
	case "=", "!=":
		eq := false
		for _, v := range vals {
			if x.kind == fieldEnum && strings.EqualFold(v, x.value) ||
				x.kind != fieldEnum && (x.glob != nil && x.glob.MatchString(v) || x.glob == nil && v == x.value) {
				eq = true
				break
			}
		}
		if x.op == "=" {
			return present && eq
		}
		return !eq
	}
	return false
}

// matchTime compares a timestamp field; an absent one (a secret that never
// expires) matches only != and the absence of :*.
func (x restriction) matchTime(vals []string, present bool) bool {
	if x.op == ":" { // only :* parses
		return present
	}
	if !present || len(vals) == 0 {
		return x.op == "!="
	}
	t, err := time.Parse(time.RFC3339Nano, vals[0])
	if err != nil {
		return false
	}
	switch x.op {
	case "=":
		return t.Equal(x.t)
	case "!=":
		return !t.Equal(x.t)
	case "<":
		return t.Before(x.t)
	case "<=":
		return !t.After(x.t)
	case ">":
		return t.After(x.t)
	case ">=":
		return !t.Before(x.t)
	}
	return false
}

// globPattern compiles a text value holding a * into a pattern: anchored for
// = (the whole value), unanchored for : (a part of it). Everything but * is
// literal.
func globPattern(value, op string) (*regexp.Regexp, error) {
	if value == "*" || !strings.Contains(value, "*") {
		return nil, nil
	}
	parts := strings.Split(value, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	expr := strings.Join(parts, ".*")
	if op != ":" {
		expr = "^" + expr + "$"
	}
	re, err := regexp.Compile("(?s)" + expr)
	if err != nil {
		return nil, fmt.Errorf("value %q cannot be used as a wildcard pattern: %w", value, err)
	}
	return re, nil
}

// parseFilter compiles a filter. Errors describe the problem in terms a user
// can fix; the caller wraps them in INVALID_ARGUMENT.
func parseFilter(src string, schema filterSchema) (filterNode, error) {
	if len(src) > maxFilterLen {
		return nil, fmt.Errorf("filter is %d bytes, over the emulator's limit of %d", len(src), maxFilterLen)
	}
	// Checked whole, not per token: a quoted value is copied byte by byte, so
	// a bad byte inside quotes would otherwise reach the glob compiler.
	if !utf8.ValidString(src) {
		return nil, fmt.Errorf("filter is not valid UTF-8 at offset %d", invalidUTF8Offset(src))
	}
	toks, err := lexFilter(src)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return matchAll{}, nil
	}
	p := &filterParser{toks: toks, end: len(src), schema: schema}
	n, err := p.expression(0)
	if err != nil {
		return nil, err
	}
	if !p.done() {
		return nil, fmt.Errorf("unexpected %s at offset %d", p.peek(), p.peek().pos)
	}
	return n, nil
}

type tokKind int

const (
	tokText   tokKind = iota // bare word
	tokString                // quoted string
	tokOp                    // : = != < <= > >=
	tokLParen
	tokRParen
	tokEOF
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "the end of the filter"
	case tokString:
		return fmt.Sprintf("string %q", t.text)
	case tokLParen, tokRParen, tokOp:
		return fmt.Sprintf("%q", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

func (t token) keyword(k string) bool { return t.kind == tokText && t.text == k }

func invalidUTF8Offset(s string) int {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(s)
}

// lexFilter splits a filter already checked to be valid UTF-8.
func lexFilter(src string) ([]token, error) {
	var toks []token
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRuneInString(src[i:])
		switch {
		case unicode.IsSpace(r):
			i += size
		case r == '(':
			toks = append(toks, token{tokLParen, "(", i})
			i++
		case r == ')':
			toks = append(toks, token{tokRParen, ")", i})
			i++
		case r == '"' || r == '\'':
			start := i
			var b strings.Builder
			i++
			closed := false
			for i < len(src) {
				c := src[i]
				if c == '\\' && i+1 < len(src) {
					b.WriteByte(src[i+1])
					i += 2
					continue
				}
				i++
				if rune(c) == r {
					closed = true
					break
				}
				b.WriteByte(c)
			}
			if !closed {
				return nil, fmt.Errorf("unterminated string starting at offset %d", start)
			}
			toks = append(toks, token{tokString, b.String(), start})
		case r == ':' || r == '=':
			toks = append(toks, token{tokOp, string(r), i})
			i++
		case r == '!' || r == '<' || r == '>':
			if i+1 < len(src) && src[i+1] == '=' {
				toks = append(toks, token{tokOp, src[i : i+2], i})
				i += 2
			} else if r == '!' {
				return nil, fmt.Errorf("unexpected '!' at offset %d (did you mean != or NOT?)", i)
			} else {
				toks = append(toks, token{tokOp, string(r), i})
				i++
			}
		default:
			start := i
			// After a comparison, a bare value may hold ':' (an unquoted
			// timestamp such as 2024-01-31T00:00:00Z, as Google's samples
			// write it); after ':' it still ends the word.
			stops := "()\"':=!<>"
			if n := len(toks); n > 0 && toks[n-1].kind == tokOp && toks[n-1].text != ":" {
				stops = "()\"'=!<>"
			}
			for i < len(src) {
				r, size := utf8.DecodeRuneInString(src[i:])
				if unicode.IsSpace(r) || strings.ContainsRune(stops, r) {
					break
				}
				i += size
			}
			toks = append(toks, token{tokText, src[start:i], start})
		}
	}
	return toks, nil
}

type filterParser struct {
	toks   []token
	i      int
	end    int // offset of the end of the filter
	schema filterSchema
}

func (p *filterParser) done() bool { return p.i >= len(p.toks) }

func (p *filterParser) peek() token {
	if p.done() {
		return token{kind: tokEOF, pos: p.end}
	}
	return p.toks[p.i]
}

func (p *filterParser) next() token { t := p.peek(); p.i++; return t }

// expression: sequence {AND sequence}
func (p *filterParser) expression(depth int) (filterNode, error) {
	if depth > maxFilterDepth {
		return nil, fmt.Errorf("filter nests deeper than %d levels", maxFilterDepth)
	}
	n, err := p.sequence(depth)
	if err != nil {
		return nil, err
	}
	and := andNode{n}
	for !p.done() && p.peek().keyword("AND") {
		p.next()
		n, err := p.sequence(depth)
		if err != nil {
			return nil, err
		}
		and = append(and, n)
	}
	if len(and) == 1 {
		return and[0], nil
	}
	return and, nil
}

// startsTerm reports whether the next token can begin another factor of an
// implicit-AND sequence.
func (p *filterParser) startsTerm() bool {
	if p.done() {
		return false
	}
	t := p.peek()
	return t.kind == tokLParen || t.kind == tokText && !t.keyword("AND") && !t.keyword("OR")
}

// sequence: factor {factor}
func (p *filterParser) sequence(depth int) (filterNode, error) {
	n, err := p.factor(depth)
	if err != nil {
		return nil, err
	}
	and := andNode{n}
	for p.startsTerm() {
		n, err := p.factor(depth)
		if err != nil {
			return nil, err
		}
		and = append(and, n)
	}
	if len(and) == 1 {
		return and[0], nil
	}
	return and, nil
}

// factor: term {OR term}
func (p *filterParser) factor(depth int) (filterNode, error) {
	n, err := p.term(depth)
	if err != nil {
		return nil, err
	}
	or := orNode{n}
	for !p.done() && p.peek().keyword("OR") {
		p.next()
		n, err := p.term(depth)
		if err != nil {
			return nil, err
		}
		or = append(or, n)
	}
	if len(or) == 1 {
		return or[0], nil
	}
	return or, nil
}

// term: [NOT | -] simple
func (p *filterParser) term(depth int) (filterNode, error) {
	t := p.peek()
	if t.keyword("NOT") {
		p.next()
		n, err := p.simple(depth)
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	}
	if t.kind == tokText && strings.HasPrefix(t.text, "-") {
		if len(t.text) == 1 {
			// "-(...)": the dash is its own token, the group follows at once.
			if p.i+1 >= len(p.toks) || p.toks[p.i+1].pos != t.pos+1 || p.toks[p.i+1].kind != tokLParen {
				return nil, fmt.Errorf("'-' at offset %d must be followed directly by a term", t.pos)
			}
			p.next()
		} else {
			p.toks[p.i].text = t.text[1:]
			p.toks[p.i].pos++
		}
		n, err := p.simple(depth)
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	}
	return p.simple(depth)
}

// simple: ( expression ) | field op value
func (p *filterParser) simple(depth int) (filterNode, error) {
	t := p.next()
	switch {
	case t.kind == tokLParen:
		n, err := p.expression(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			return nil, fmt.Errorf("missing ')' for '(' at offset %d, found %s", t.pos, c)
		}
		return n, nil
	case t.kind != tokText || t.keyword("AND") || t.keyword("OR") || t.keyword("NOT"):
		return nil, fmt.Errorf("expected a field such as name or labels.KEY at offset %d, found %s", t.pos, t)
	}
	op := p.next()
	if op.kind != tokOp {
		return nil, fmt.Errorf("%q at offset %d needs an operator and a value (name:SUB, labels.KEY=VALUE); bare search terms are not supported", t.text, t.pos)
	}
	if _, _, ok := p.schema(t.text); !ok {
		return nil, fmt.Errorf("unknown field %q at offset %d", t.text, t.pos)
	}
	if p.peek().kind == tokLParen {
		return p.compositeValue(t, op, depth+1)
	}
	return p.restriction(t, op, p.next())
}

// compositeValue reads F op (A OR B AND C ...): each value is a restriction
// of F, combined with AIP-160's precedence (OR binds tighter than AND).
func (p *filterParser) compositeValue(field, op token, depth int) (filterNode, error) {
	if depth > maxFilterDepth {
		return nil, fmt.Errorf("filter nests deeper than %d levels", maxFilterDepth)
	}
	open := p.next()
	var and andNode
	for {
		var or orNode
		for {
			var n filterNode
			var err error
			if p.peek().kind == tokLParen {
				n, err = p.compositeValue(field, op, depth+1)
			} else {
				n, err = p.restriction(field, op, p.next())
			}
			if err != nil {
				return nil, err
			}
			or = append(or, n)
			if !p.peek().keyword("OR") {
				break
			}
			p.next()
		}
		and = append(and, or)
		if p.peek().kind == tokRParen {
			p.next()
			break
		}
		if p.peek().keyword("AND") {
			p.next()
		}
		if p.done() {
			return nil, fmt.Errorf("missing ')' for the values of %s opened at offset %d", field.text, open.pos)
		}
	}
	if len(and) == 1 {
		if len(and[0].(orNode)) == 1 {
			return and[0].(orNode)[0], nil
		}
		return and[0], nil
	}
	return and, nil
}

// restriction checks one field-operator-value triple against the schema.
func (p *filterParser) restriction(t, op, v token) (filterNode, error) {
	kind, enum, _ := p.schema(t.text)
	if v.kind != tokText && v.kind != tokString || v.kind == tokText && (v.keyword("AND") || v.keyword("OR") || v.keyword("NOT")) {
		return nil, fmt.Errorf("missing value after %s%s at offset %d, found %s", t.text, op.text, op.pos, v)
	}
	x := restriction{field: t.text, kind: kind, op: op.text, value: v.text}
	switch kind {
	case fieldTime:
		if op.text == ":" {
			if v.text != "*" {
				return nil, fmt.Errorf("%s:%s at offset %d: compare a time with =, !=, <, <=, > or >=; ':' only tests presence (%s:*)", t.text, v.text, op.pos, t.text)
			}
			return x, nil
		}
		tm, err := time.Parse(time.RFC3339Nano, v.text)
		if err != nil {
			return nil, fmt.Errorf("%s value %q at offset %d is not an RFC 3339 timestamp such as \"2024-01-31T00:00:00Z\"", t.text, v.text, v.pos)
		}
		x.t = tm
		return x, nil
	case fieldMap:
		if op.text != ":" {
			return nil, fmt.Errorf("use %s.KEY%sVALUE, or %s:KEY to test presence", t.text, op.text, t.text)
		}
		if t.text == "labels" {
			if err := validateLabelKey(v.text); err != nil {
				return nil, err
			}
		}
		return x, nil
	}
	if op.text != ":" && op.text != "=" && op.text != "!=" {
		return nil, fmt.Errorf("operator %q at offset %d is not supported on %q (use :, = or !=; comparisons work on create_time and the other times)", op.text, op.pos, t.text)
	}
	if kind == fieldEnum && !(op.text == ":" && v.text == "*") {
		valid := false
		for _, e := range enum {
			valid = valid || strings.EqualFold(e, v.text)
		}
		if !valid {
			return nil, fmt.Errorf("%s %q is not one of %s", t.text, v.text, strings.Join(enum, ", "))
		}
	}
	if kind == fieldText {
		glob, err := globPattern(v.text, op.text)
		if err != nil {
			return nil, err
		}
		x.glob = glob
	}
	return x, nil
}
