package doctor

import (
	"strings"
	"testing"
)

// FuzzDiffJSON: any two documents compare without panicking, every path is
// a JSON path, and equal documents have no difference.
func FuzzDiffJSON(f *testing.F) {
	f.Add(`{"a": 1}`, `{"a": [1, {"b": null}]}`)
	f.Add(`[1, 2]`, `"x"`)
	f.Add(`{"a b": {"c": true}}`, `{}`)
	f.Fuzz(func(t *testing.T, a, b string) {
		d, err := DiffJSON([]byte(a), []byte(b))
		if err != nil {
			return
		}
		for _, p := range append(append(d.Added, d.Removed...), d.Changed...) {
			if !strings.HasPrefix(p, "$") {
				t.Fatalf("path %q", p)
			}
		}
		if same, err := DiffJSON([]byte(a), []byte(a)); err != nil || !same.Empty() {
			t.Fatalf("a document differs from itself: %+v, %v", same, err)
		}
	})
}

// FuzzParseAcceptanceConfig: any text parses or fails cleanly, and every
// file it names lies inside the secrets folder.
func FuzzParseAcceptanceConfig(f *testing.F) {
	f.Add("tests:\n  - config_path: secrets/config.json\n")
	f.Add("config_path: secrets/../../x\n")
	f.Add("a: &x [*x]\n")
	f.Fuzz(func(t *testing.T, doc string) {
		needs, err := ParseAcceptanceConfig([]byte(doc))
		if err != nil {
			return
		}
		for _, n := range needs {
			if n.File == "" || strings.HasPrefix(n.File, "/") || n.File == ".." || strings.HasPrefix(n.File, "../") {
				t.Fatalf("%q names %q", doc, n.File)
			}
		}
	})
}
