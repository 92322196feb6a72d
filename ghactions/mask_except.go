package ghactions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// MaskOptions is a masking policy.
type MaskOptions struct {
	// ExceptKeys are JSON object keys whose values (at any depth, and
	// everything inside them) are neither masked nor redacted: plain words
	// such as a database or schema name that would otherwise blank the
	// log wherever they appear.
	ExceptKeys []string
}

// Masking is what a policy makes of one payload.
type Masking struct {
	// Values to mask, as MaskValues returns them minus the exempted ones
	// (a value that also appears under a key not exempted stays).
	Values []string
	// Exempted are the JSON paths (never the values) of what ExceptKeys
	// left unmasked, sorted: "database", "tunnel.host", "hosts[0].name";
	// a key that is not a plain word is quoted (["odd key"]).
	Exempted []string
}

// MaskValuesWith applies opts to payload. Without ExceptKeys it is exactly
// MaskValues.
func MaskValuesWith(payload []byte, opts MaskOptions) Masking {
	if len(opts.ExceptKeys) == 0 {
		return Masking{Values: MaskValues(payload)}
	}
	e := exempter{collector: collector{seen: map[string]bool{}}, except: map[string]bool{}, paths: map[string]bool{}}
	for _, k := range opts.ExceptKeys {
		e.except[k] = true
	}
	if !e.walkPaths(payload, 0, "") {
		e.lines(string(payload))
	}
	m := Masking{Values: e.out}
	for p := range e.paths {
		m.Exempted = append(m.Exempted, p)
	}
	sort.Strings(m.Exempted)
	return m
}

// ParseExceptKeys reads the keys of a --mask-except-key flag (repeated)
// and of an environment variable (comma-separated), deduplicated. A key
// must be a non-empty JSON object key without surrounding spaces.
func ParseExceptKeys(flag []string, env string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(k, from string) error {
		if k == "" || strings.TrimSpace(k) != k {
			return fmt.Errorf("%s holds an empty key or one with surrounding spaces (%s); give JSON keys such as database or schema", from, strconv.Quote(k))
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
		return nil
	}
	for _, k := range flag {
		if err := add(k, "--mask-except-key"); err != nil {
			return nil, err
		}
	}
	if env != "" {
		for k := range strings.SplitSeq(env, ",") {
			if err := add(strings.TrimSpace(k), "CI_SECRETS_MASK_EXCEPT"); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

type exempter struct {
	collector
	except map[string]bool
	paths  map[string]bool
}

// pathFrame is one open container, with the path leading to it.
type pathFrame struct {
	object, keyNext bool
	path            string
	key             string
	index           int
	exempt          bool
}

// walkPaths is collector.walk that knows where each value sits, so values
// under an exempted key can be left out and their path reported.
func (e *exempter) walkPaths(data []byte, depth int, root string) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*pathFrame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return len(stack) == 0
		}
		if err != nil {
			return false
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		path, exempt := root, false
		if n := len(stack); n > 0 {
			top := stack[n-1]
			if top.object && top.keyNext {
				top.key, top.keyNext = tok.(string), false
				continue
			}
			exempt = top.exempt
			if top.object {
				top.keyNext = true
				path = joinKey(top.path, top.key)
				if !exempt && e.except[top.key] {
					exempt = true
					e.paths[path] = true
				}
			} else {
				path = fmt.Sprintf("%s[%d]", top.path, top.index)
				top.index++
			}
		}
		switch v := tok.(type) {
		case json.Delim:
			stack = append(stack, &pathFrame{object: v == '{', keyNext: v == '{', path: path, exempt: exempt})
		case string:
			if !exempt {
				e.strAt(v, depth, path)
			}
		}
	}
}

// strAt is collector.str for a value at path.
func (e *exempter) strAt(s string, depth int, path string) {
	e.lines(s)
	if depth >= MaxDepth {
		return
	}
	if t := strings.TrimSpace(s); t != "" && (t[0] == '{' || t[0] == '[') {
		e.walkPaths([]byte(t), depth+1, path)
	}
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// joinKey appends an object key to a path. Keys come from the payload, so
// anything but a plain word is quoted as ASCII, without backticks, to be
// safe in a log line and in Markdown.
func joinKey(path, key string) string {
	if plainKey.MatchString(key) {
		if path == "" {
			return key
		}
		return path + "." + key
	}
	return path + "[" + strings.ReplaceAll(strconv.QuoteToASCII(key), "`", `\x60`) + "]"
}
