package secretpush

import (
	"errors"
	"strings"
	"testing"
)

func TestJSONEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		eq   bool
	}{
		{`{"a":1,"b":2}`, "{\n \"b\": 2,\n \"a\": 1\n}\n", true},
		{`{"a":"x"}`, `{"a":"\u0078"}`, true},
		{`{"n":1}`, `{"n":1.0}`, true},
		{`{"n":1}`, `{"n":10e-1}`, true},
		{`{"n":100}`, `{"n":1E+2}`, true},
		{`{"n":0}`, `{"n":-0.0}`, true},
		{`{"n":0.5}`, `{"n":5e-1}`, true},
		{`{"n":12345678901234567890}`, `{"n":12345678901234567891}`, false},
		{`{"n":1e999999999}`, `{"n":1e999999998}`, false},
		{`{"n":-1}`, `{"n":1}`, false},
		{`{"a":[1,2]}`, `{"a":[2,1]}`, false},
		{`{"a":null}`, `{}`, false},
		{`{"a":null}`, `{"a":null}`, true},
		{`{"a":true}`, `{"a":"true"}`, false},
		{`{"a":1}`, `{"a":1,"b":1}`, false},
		{`{"a":{"b":[{"c":"d"}]}}`, `{"a":{"b":[{"c":"d"}]}}`, true},
		{`{"a":1}`, `{"a":1} {"a":1}`, false},
		{`not json`, `not json`, false},
		{``, ``, false},
	} {
		if got := JSONEqual([]byte(tc.a), []byte(tc.b)); got != tc.eq {
			t.Errorf("JSONEqual(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.eq)
		}
		if got := JSONEqual([]byte(tc.b), []byte(tc.a)); got != tc.eq {
			t.Errorf("JSONEqual(%s, %s) = %v, want %v (swapped)", tc.b, tc.a, got, tc.eq)
		}
	}
}

func TestCheckPayloadNeverQuotesData(t *testing.T) {
	for _, data := range []string{
		`{"token": "secret-abc`, `{"token": secret-abc}`, `secret-abc`, `{"a":"b"} secret-abc`,
		"{\"token\": \"secret-abc\xff\"}", `"secret-abc"`, `[]`, ``,
	} {
		err := CheckPayload([]byte(data))
		if !errors.Is(err, ErrNotJSON) {
			t.Errorf("CheckPayload(%q) = %v, want ErrNotJSON", data, err)
			continue
		}
		if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "abc") {
			t.Errorf("CheckPayload(%q) error quotes the data: %v", data, err)
		}
	}
	if err := CheckPayload([]byte(`{"a": "` + strings.Repeat("x", 70000) + `"}`)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversize: %v", err)
	}
	if err := CheckPayload([]byte(`{"a": 1}`)); err != nil {
		t.Errorf("valid: %v", err)
	}
}

func FuzzJSONEqual(f *testing.F) {
	f.Add([]byte(`{"a":1.0}`), []byte(`{"a":1}`))
	f.Add([]byte(`[1e5]`), []byte(`[100000]`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		// Symmetric, reflexive on valid JSON, and never panics.
		if JSONEqual(a, b) != JSONEqual(b, a) {
			t.Fatalf("not symmetric for %q, %q", a, b)
		}
		if _, err := decodeJSON(a); err == nil && !JSONEqual(a, a) {
			t.Fatalf("not reflexive for %q", a)
		}
	})
}
