package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// minForm is the shortest derived form (JSON-escaped or base64 fragment)
// that is redacted; shorter ones would blank ordinary text.
const minForm = 4

// Forms returns every form in which value may show in a command's output:
// the value itself, its JSON-escaped forms as common encoders write them
// (Go's, with and without HTML escaping; ASCII-only as Python's default;
// with an escaped slash as PHP's), and its base64 forms in the standard and
// URL alphabets at each of the three byte alignments it may have inside a
// longer encoded text, cut to the characters that depend on the value alone.
// Each form is a single line: a value holding a line break is split, since
// output is matched within lines.
func Forms(value string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		for line := range strings.SplitSeq(s, "\n") {
			if len(line) >= minForm && !seen[line] {
				seen[line] = true
				out = append(out, line)
			}
		}
	}
	add(value)
	for _, e := range jsonForms(value) {
		add(e)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for offset := range 3 {
			add(base64Fragment(enc, value, offset))
		}
	}
	return out
}

// jsonForms are value as it appears between the quotes of a JSON string,
// as common encoders write it: with or without HTML-safe escapes (Go's
// default), non-ASCII escaped or not (Python's default escapes it), the
// slash escaped or not (PHP's default).
func jsonForms(value string) []string {
	var plain bytes.Buffer
	enc := json.NewEncoder(&plain)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(value) // a string always encodes
	noHTML := strings.TrimSuffix(plain.String(), "\n")
	html, _ := json.Marshal(value)
	var out []string
	for _, base := range []string{noHTML[1 : len(noHTML)-1], string(html[1 : len(html)-1])} {
		for _, s := range []string{base, asciiOnly(base)} {
			out = append(out, s, strings.ReplaceAll(s, "/", `\/`))
		}
	}
	return out
}

// asciiOnly escapes every non-ASCII character of an already JSON-escaped
// text as \uXXXX (surrogate pairs beyond the BMP), as Python's json.dumps
// does by default.
func asciiOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// base64Fragment is the part of the encoding of value, preceded by offset
// other bytes, that does not depend on any byte around it: a longer text
// that holds value (a whole config file piped through base64) holds it at
// one of the three offsets.
func base64Fragment(enc *base64.Encoding, value string, offset int) string {
	data := make([]byte, offset+len(value))
	copy(data[offset:], value)
	s := enc.EncodeToString(data)
	s = strings.TrimRight(s, "=")
	// Leading characters mixing in the offset bytes: 8 bits per byte, 6 per character.
	skip := (offset*8 + 5) / 6
	// A last character holding fewer than 6 bits of the value also holds
	// bits of whatever follows it.
	if (offset+len(value))%3 != 0 {
		s = s[:len(s)-1]
	}
	if skip >= len(s) {
		return ""
	}
	return s[skip:]
}
