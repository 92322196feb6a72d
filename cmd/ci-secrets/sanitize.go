package main

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"

	"github.com/airbytehq/ci-secrets/ghactions"
)

// sanitizeReport escapes, in place, every string and error message a
// command's result holds (through pointers, structs, slices and maps) with
// ghactions.Sanitize, before the result is logged or printed as text or
// JSON. Secret and version names, error messages and label values come from
// the server, and a line break in one of them followed by "::" would be a
// workflow command in the Actions log (JSON escapes line breaks, but `jq -r`
// prints them again). Walking the whole value, rather than naming fields,
// keeps fields added later covered. Errors keep their chain for errors.Is.
func sanitizeReport(v any) { sanitizeValue(reflect.ValueOf(v)) }

var errorType = reflect.TypeFor[error]()

func sanitizeValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			sanitizeValue(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				sanitizeValue(f)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			sanitizeValue(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() || !v.CanSet() {
			return
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			k.Set(it.Key())
			e.Set(it.Value())
			sanitizeValue(k)
			sanitizeValue(e)
			out.SetMapIndex(k, e)
		}
		v.Set(out)
	case reflect.String:
		if v.CanSet() {
			v.SetString(ghactions.Sanitize(v.String()))
		}
	case reflect.Interface:
		if v.IsNil() || !v.CanSet() {
			return
		}
		if v.Type() == errorType {
			err := v.Interface().(error)
			if msg := sanitizeLines(err.Error()); msg != err.Error() {
				v.Set(reflect.ValueOf(error(&sanitizedError{msg: msg, err: err})))
			}
		}
	}
}

// sanitizedError is an error whose message was escaped for printing; it
// still unwraps to the original.
type sanitizedError struct {
	msg string
	err error
}

func (e *sanitizedError) Error() string { return e.msg }
func (e *sanitizedError) Unwrap() error { return e.err }

// sanitizeLines sanitizes each line of a message of ours on its own, so an
// error joined from several (errors.Join) keeps its lines, while no line,
// whatever a server put in it, can begin with "::" or hold another break.
func sanitizeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = ghactions.Sanitize(l)
	}
	return strings.Join(lines, "\n")
}

// sanitizeLogEvent escapes every string of a console log event (message and
// fields, at any depth) before zerolog formats it.
func sanitizeLogEvent(evt map[string]any) error {
	for k, v := range evt {
		evt[k] = sanitizeAny(v)
	}
	return nil
}

func sanitizeAny(v any) any {
	switch v := v.(type) {
	case string:
		return ghactions.Sanitize(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[ghactions.Sanitize(k)] = sanitizeAny(e)
		}
		return out
	case []any:
		for i, e := range v {
			v[i] = sanitizeAny(e)
		}
	}
	return v
}

// sanitizingJSONWriter escapes every string of each JSON log entry (zerolog
// writes one entry per Write) as the console format does, so a message or
// field that quotes a server reads the same in both formats, and `jq -r`
// over the log cannot print a line break a server sent. An entry that does
// not decode is passed on unchanged.
type sanitizingJSONWriter struct{ w io.Writer }

func (s sanitizingJSONWriter) Write(p []byte) (int, error) {
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber()
	var evt map[string]any
	if err := dec.Decode(&evt); err != nil {
		return s.w.Write(p)
	}
	_ = sanitizeLogEvent(evt)
	out, err := json.Marshal(evt)
	if err != nil {
		return s.w.Write(p)
	}
	if _, err := s.w.Write(append(out, '\n')); err != nil {
		return 0, err
	}
	return len(p), nil
}
