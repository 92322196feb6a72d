package doctor

import (
	"strings"
	"testing"
)

func TestDiffJSON(t *testing.T) {
	tests := []struct {
		name, local, remote     string
		added, removed, changed string
	}{
		{"equal", `{"a": 1, "b": [1, 2]}`, `{"b":[1,2],"a":1}`, "", "", ""},
		{"nested", `{"a": {"b": 1, "c": 2}}`, `{"a": {"b": 1, "d": 2}}`, "$.a.c", "$.a.d", ""},
		{"changed value and type", `{"a": "x", "b": {"c": 1}}`, `{"a": "y", "b": [1]}`, "", "", "$.a,$.b"},
		{"arrays by index", `{"l": [1, 2, 3]}`, `{"l": [1, 5]}`, "$.l[2]", "", "$.l[1]"},
		{"shorter array", `[{"k": 1}]`, `[{"k": 1}, {"k": 2}]`, "", "$[1]", ""},
		{"odd keys quoted", `{"a b": 1, "x.y": 2}`, `{}`, `$["a b"],$["x.y"]`, "", ""},
		{"numbers as written", `{"n": 1.0}`, `{"n": 1}`, "", "", "$.n"},
		{"null", `{"n": null}`, `{"n": false}`, "", "", "$.n"},
		{"top-level scalar", `"a"`, `"b"`, "", "", "$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := DiffJSON([]byte(tt.local), []byte(tt.remote))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				what string
				got  []string
				want string
			}{{"added", d.Added, tt.added}, {"removed", d.Removed, tt.removed}, {"changed", d.Changed, tt.changed}} {
				if got := strings.Join(c.got, ","); got != c.want {
					t.Errorf("%s = %q, want %q", c.what, got, c.want)
				}
			}
		})
	}
}

// TestDiffJSONNeverQuotesData: neither the errors nor the paths carry a value.
func TestDiffJSONNeverQuotesData(t *testing.T) {
	const value = "hunter2-very-secret"
	for _, pair := range [][2]string{
		{`{"password": "` + value + `"`, `{}`},
		{`{}`, `["` + value + `" oops`},
		{`{"password": "` + value + `"} trailing-` + value, `{}`},
	} {
		_, err := DiffJSON([]byte(pair[0]), []byte(pair[1]))
		if err == nil {
			t.Fatalf("DiffJSON(%s, %s) accepted broken JSON", pair[0], pair[1])
		}
		if strings.Contains(err.Error(), value) || strings.Contains(err.Error(), "hunter") {
			t.Errorf("error quotes the data: %v", err)
		}
	}
	d, err := DiffJSON([]byte(`{"password": "`+value+`"}`), []byte(`{"password": "other"}`))
	if err != nil {
		t.Fatal(err)
	}
	r := checkDrift([]DriftResult{{DriftItem: DriftItem{Connector: "c", Path: "p", Secret: "S", Version: "1"}, Diff: d}}, commands{})
	if len(r) != 1 || strings.Contains(r[0].Message+r[0].Fix, value) || !strings.Contains(r[0].Message, "changed $.password") {
		t.Errorf("drift problem = %+v", r)
	}
}

func TestDiffJSONDeep(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 200) + "1" + strings.Repeat("}", 200)
	other := strings.Repeat(`{"a":`, 200) + "2" + strings.Repeat("}", 200)
	d, err := DiffJSON([]byte(deep), []byte(other))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Changed) != 1 || strings.Count(d.Changed[0], ".a") != maxDiffDepth {
		t.Errorf("deep difference reported as %v, want one path cut at depth %d", d.Changed, maxDiffDepth)
	}
}

func TestCompare(t *testing.T) {
	it := DriftItem{Connector: "c", Path: "p", Secret: "S", Version: "1"}
	if r := Compare(it, []byte("{}\n"), []byte("{}\n")); !r.Same {
		t.Errorf("identical bytes not Same: %+v", r)
	}
	if r := Compare(it, []byte("{}"), []byte("{}\n")); r.Same || !r.Diff.Empty() || r.NotJSON != nil {
		t.Errorf("format-only difference: %+v", r)
	}
	if r := Compare(it, []byte("{}"), []byte("not json")); r.NotJSON == nil || !strings.Contains(r.NotJSON.Error(), "Secret Manager is not valid JSON") {
		t.Errorf("remote not JSON: %+v", r)
	}
}
