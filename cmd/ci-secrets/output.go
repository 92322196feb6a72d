package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// schemaVersion is carried by every JSON document the tool prints, so a
// pipeline can tell a shape it understands from a future one.
const schemaVersion = 1

// Output formats. "text" and "table" name one format: the human one.
const (
	outputText     = "text"
	outputJSON     = "json"
	outputMarkdown = "markdown"
)

// parseOutput checks an --output value against the formats a command
// offers (text is always one; "table" is its synonym) and returns the
// canonical name.
func parseOutput(value string, extra ...string) (string, error) {
	v := strings.ToLower(strings.TrimSpace(value))
	if v == "table" {
		v = outputText
	}
	offered := append([]string{outputText, outputJSON}, extra...)
	for _, f := range offered {
		if v == f {
			return v, nil
		}
	}
	return "", usageErrorf("--output %q is not one of %s (text and table are the same)", value, strings.Join(offered, ", "))
}

// writeJSON prints v indented, with "schema_version" first in each object
// at the top level (in each element when v is an array, so list keeps its
// array shape).
func writeJSON(w io.Writer, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode the JSON output: %w", err)
	}
	return writeJSONBytes(w, raw)
}

// writeJSONBytes is writeJSON for a document already encoded.
func writeJSONBytes(w io.Writer, raw []byte) error {
	raw = bytes.TrimSpace(raw)
	var out []byte
	switch {
	case len(raw) > 0 && raw[0] == '{':
		out = withSchema(raw)
	case len(raw) > 0 && raw[0] == '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return fmt.Errorf("encode the JSON output: %w", err)
		}
		out = append(out, '[')
		for i, e := range elems {
			if i > 0 {
				out = append(out, ',')
			}
			if t := bytes.TrimSpace(e); len(t) > 0 && t[0] == '{' {
				e = withSchema(t)
			}
			out = append(out, e...)
		}
		out = append(out, ']')
	default:
		out = raw
	}
	var b bytes.Buffer
	if err := json.Indent(&b, out, "", "  "); err != nil {
		return fmt.Errorf("encode the JSON output: %w", err)
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// withSchema puts "schema_version" first in an encoded object.
func withSchema(obj []byte) []byte {
	head := fmt.Sprintf(`{"schema_version":%d`, schemaVersion)
	rest := bytes.TrimSpace(obj[1:])
	if len(rest) > 0 && rest[0] == '}' {
		return append([]byte(head), rest...)
	}
	return append([]byte(head+","), rest...)
}
