package secretpush

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// decodeJSON parses exactly one JSON value, keeping numbers as written.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one JSON value")
	}
	return v, nil
}

// jsonProblem describes a decoding error without quoting the data: the
// standard library's messages can hold a piece of the input (an invalid
// character, a literal), which could be part of a secret.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.Is(err, io.EOF):
		return "the file is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "it ends before the JSON value does"
	case err.Error() == "more than one JSON value":
		return "it holds more than one JSON value"
	}
	return "it cannot be parsed"
}

// JSONEqual reports whether a and b hold the same JSON value: object key
// order, white space, string escapes and the spelling of numbers (1, 1.0,
// 10e-1) do not count. Data that is not a single JSON value equals nothing.
func JSONEqual(a, b []byte) bool {
	va, err := decodeJSON(a)
	if err != nil {
		return false
	}
	vb, err := decodeJSON(b)
	if err != nil {
		return false
	}
	return equalValue(va, vb)
}

func equalValue(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, va := range a {
			vb, ok := b[k]
			if !ok || !equalValue(va, vb) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equalValue(a[i], b[i]) {
				return false
			}
		}
		return true
	case json.Number:
		b, ok := b.(json.Number)
		return ok && canonicalNumber(string(a)) == canonicalNumber(string(b))
	case string:
		b, ok := b.(string)
		return ok && a == b
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case nil:
		return b == nil
	}
	return false
}

// canonicalNumber rewrites a JSON number as "[-]D...De<exp>" with no leading
// or trailing zeros in the digits, so two spellings of one value compare
// equal. It works on the text, exactly: float64 would make two different
// 20-digit account IDs equal, and big.Rat would let "1e999999999" allocate
// gigabytes. A number whose exponent does not fit is returned as written.
func canonicalNumber(s string) string {
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	mant, exp := body, "0"
	if i := strings.IndexAny(body, "eE"); i >= 0 {
		mant, exp = body[:i], body[i+1:]
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	e, err := strconv.ParseInt(strings.TrimPrefix(exp, "+"), 10, 64)
	if err != nil || e > 1<<60 || e < -(1<<60) {
		return s
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return "0" // -0 and 0.000 are 0
	}
	trimmed := strings.TrimRight(digits, "0")
	e += int64(len(digits)-len(trimmed)) - int64(len(frac))
	sign := ""
	if neg {
		sign = "-"
	}
	return sign + trimmed + "e" + strconv.FormatInt(e, 10)
}
