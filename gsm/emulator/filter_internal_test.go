package emulator

import (
	"strings"
	"testing"
)

type fakeRecord map[string]string

func (r fakeRecord) values(field string) ([]string, bool) {
	v, ok := r[field]
	return []string{v}, ok
}

func TestFilterParseAndMatch(t *testing.T) {
	rec := fakeRecord{"name": "projects/p/secrets/SECRET_A_CREDS", "labels.connector": "source-a_destination-b", "labels.empty": ""}
	tests := []struct {
		filter string
		want   bool
	}{
		{"", true},
		{"   ", true},
		{"name:SECRET_", true},
		{"name:SECRET_*", true},
		{"name:OTHER", false},
		{`name:"A_CREDS"`, true},
		{"labels.connector=source-a_destination-b", true},
		{"labels.connector=source-a", false},
		{"labels.connector:source-a", true},
		{"labels.connector!=source-a", true},
		{"labels.missing!=x", true},
		{"labels.connector:*", true},
		{"labels.missing:*", false},
		{"labels:connector", true},
		{"labels:missing", false},
		{"labels.empty=''", true},
		{"labels.empty:*", true},
		{"NOT labels.missing:*", true},
		{"-labels.missing:*", true},
		{"-(labels.missing:* OR name:X)", true},
		{"name:SECRET_ AND labels.connector:source-a", true},
		{"name:SECRET_ labels.connector:nope", false},
		{"name:NOPE OR labels.connector:source-a", true},
		// OR binds tighter than AND (AIP-160): a AND (b OR c).
		{"name:NOPE AND labels.connector:x OR labels.connector:source", false},
		{"name:SECRET AND labels.connector:x OR labels.connector:source", true},
		{"(name:NOPE AND labels.connector:x) OR labels.connector:source", true},
		{"NOT (name:SECRET_ AND labels.connector:*)", false},
		{"name=projects/p/secrets/SECRET_A_CREDS", true},
		{`labels.connector="source-a_destination-b" AND NOT name:"B"`, true},
	}
	for _, tt := range tests {
		checkMatch(t, tt.filter, secretSchema, rec, tt.want)
	}
}

func TestFilterErrors(t *testing.T) {
	tests := []struct{ filter, want string }{
		{"SECRET_", "needs an operator"},
		{"name", "needs an operator"},
		{"name:", "missing value"},
		{"name:a AND", "expected a field"},
		{"AND name:a", "expected a field"},
		{"name:a OR", "expected a field"},
		{"(name:a", "missing ')'"},
		{"name:a)", `unexpected ")"`},
		{"create_time>2020", "not an RFC 3339 timestamp"},
		{"name<a", `operator "<"`},
		{"name!a", "did you mean"},
		{`name:"abc`, "unterminated string"},
		{"state:ENABLED", `unknown field "state"`},
		{"labels=x", "labels:KEY"},
		{"labels:Bad", "must start with a lowercase letter"},
		{"labels.:x", `unknown field "labels."`},
		{"name:a:b", `unexpected ":"`},
		{"- name:a", "must be followed directly"},
		{strings.Repeat("(", 40) + "name:a" + strings.Repeat(")", 40), "nests deeper"},
		{strings.Repeat("name:a ", 1000), "over the emulator's limit"},
		{"name:\xff", "not valid UTF-8"},
		{"name:\"0*\x85\"", "not valid UTF-8 at offset 8"},
		{"NOT NOT name:a", "expected a field"},
	}
	for _, tt := range tests {
		_, err := parseFilter(tt.filter, secretSchema)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.filter, err, tt.want)
		}
	}
	for _, f := range []string{"state:enabled", "state=DISABLED", "state:* AND NOT state:DESTROYED", "name:versions/1"} {
		if _, err := parseFilter(f, versionSchema); err != nil {
			t.Errorf("version filter %q: %v", f, err)
		}
	}
	if _, err := parseFilter("state:GONE", versionSchema); err == nil || !strings.Contains(err.Error(), "ENABLED, DISABLED, DESTROYED") {
		t.Errorf("bad state: %v", err)
	}
}

func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		"name:SECRET_", `labels.connector="a" AND NOT labels.x:*`, "-(a:b OR c=d) e!=f",
		"labels:connector", "state:ENABLED", `name:'q\'x'`, "((name:a))", "name<=b", "- x",
		"labels.a:(b OR (c AND d))", "create_time>2026-01-01T00:00:00Z", "name:a*b*c", "state:(ENABLED OR DISABLED)",
	} {
		f.Add(s)
	}
	rec := fakeRecord{"name": "projects/p/secrets/S", "labels.a": "b", "state": "ENABLED"}
	f.Fuzz(func(t *testing.T, s string) {
		for _, schema := range []filterSchema{secretSchema, versionSchema} {
			if n, err := parseFilter(s, schema); err == nil {
				n.match(rec)
			}
		}
	})
}

func TestSecretIDOf(t *testing.T) {
	for name, want := range map[string]string{
		"projects/secrets/secrets/X":                 "X",
		"projects/p/locations/secrets/secrets/Y":     "Y",
		"projects/p/secrets/Z/versions/latest":       "Z",
		"projects/p":                                 "",
		"projects/p/locations/l":                     "",
		"secrets/W":                                  "",
		"projects/p/locations/l/secrets/V/versions/": "V",
	} {
		if got := secretIDOf(name); got != want {
			t.Errorf("secretIDOf(%q) = %q, want %q", name, got, want)
		}
	}
}
