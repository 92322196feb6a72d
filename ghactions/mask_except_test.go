package ghactions

import (
	"reflect"
	"testing"
)

func TestMaskValuesWithExceptKeys(t *testing.T) {
	payload := []byte(`{"host": "db.example.internal", "database": "postgres", "schema": "public",
		"password": "hunter2-secret", "tunnel": {"database": "tunnel-db-name", "key": "tunnel-key-value"},
		"replicas": [{"database": "replica-db"}, "replica-token"], "odd key` + "`" + `": "odd-value",
		"credentials_json": "{\"database\": \"inner-db-name\", \"token\": \"inner-token\"}",
		"other": "postgres"}`)
	got := MaskValuesWith(payload, MaskOptions{ExceptKeys: []string{"database", "schema", "odd key`"}})
	wantValues := []string{"db.example.internal", "hunter2-secret", "tunnel-key-value", "replica-token",
		`{"database": "inner-db-name", "token": "inner-token"}`, "inner-token", "postgres"}
	if !reflect.DeepEqual(got.Values, wantValues) {
		t.Errorf("values:\n got %q\nwant %q", got.Values, wantValues)
	}
	wantPaths := []string{"[\"odd key\\x60\"]", "credentials_json.database", "database", "replicas[0].database", "schema", "tunnel.database"}
	if !reflect.DeepEqual(got.Exempted, wantPaths) {
		t.Errorf("paths:\n got %q\nwant %q", got.Exempted, wantPaths)
	}
}

func TestMaskValuesWithoutExceptKeysIsMaskValues(t *testing.T) {
	payload := []byte(`{"a": "value-one", "b": ["value-two\nline-two"], "c": "{\"d\": \"value-three\"}"}`)
	got := MaskValuesWith(payload, MaskOptions{})
	if !reflect.DeepEqual(got.Values, MaskValues(payload)) || got.Exempted != nil {
		t.Errorf("got %+v, want %q", got, MaskValues(payload))
	}
	// A key never present exempts nothing and finds the same values.
	got = MaskValuesWith(payload, MaskOptions{ExceptKeys: []string{"zzz"}})
	if !reflect.DeepEqual(got.Values, MaskValues(payload)) || len(got.Exempted) != 0 {
		t.Errorf("with an absent key: got %+v, want %q", got, MaskValues(payload))
	}
	// Not JSON: masked line by line as MaskValues does.
	bad := []byte("not json line\nsecond line here")
	if got := MaskValuesWith(bad, MaskOptions{ExceptKeys: []string{"a"}}); !reflect.DeepEqual(got.Values, MaskValues(bad)) {
		t.Errorf("not JSON: got %q, want %q", got.Values, MaskValues(bad))
	}
}

func TestParseExceptKeys(t *testing.T) {
	got, err := ParseExceptKeys([]string{"database", "schema"}, "host, database ,port")
	if err != nil || !reflect.DeepEqual(got, []string{"database", "schema", "host", "port"}) {
		t.Fatalf("got %q, %v", got, err)
	}
	for _, bad := range [][]string{{""}, {" db"}} {
		if _, err := ParseExceptKeys(bad, ""); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseExceptKeys(nil, "a,,b"); err == nil {
		t.Error("an empty key in the env accepted")
	}
}

// FuzzMaskValuesWith: an exemption only ever removes masks (every value
// left is one MaskValues gives), and every path is printable ASCII without
// a backtick, safe in a log line and in Markdown.
func FuzzMaskValuesWith(f *testing.F) {
	f.Add([]byte(`{"database": "postgres", "a": {"database": ["x-value"], "b": "secret-value"}}`), "database")
	f.Add([]byte(`{"k\u0060": "{\"k\u0060\": \"inner-value\"}"}`), "k`")
	f.Fuzz(func(t *testing.T, payload []byte, key string) {
		all := map[string]bool{}
		for _, v := range MaskValues(payload) {
			all[v] = true
		}
		m := MaskValuesWith(payload, MaskOptions{ExceptKeys: []string{key}})
		for _, v := range m.Values {
			if !all[v] {
				t.Fatalf("value %q is not one MaskValues gives", v)
			}
		}
		for _, p := range m.Exempted {
			for _, r := range p {
				if r < 0x20 || r > 0x7e || r == '`' {
					t.Fatalf("path %q holds %q", p, r)
				}
			}
		}
	})
}
