package doctor

import (
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
	"unicode"

	"github.com/airbytehq/ci-secrets/gsm"
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

// FuzzReportPrintable puts one hostile text everywhere a server or the
// repository supplies one (secret IDs, label values, file and folder names,
// test configuration errors, git's paths, server errors) and holds every
// line of the table and the Markdown to what a GitHub Actions log needs: no
// control or format character, and no line the runner would read as a
// workflow command ("::" after leading white space).
func FuzzReportPrintable(f *testing.F) {
	for _, s := range []string{"::add-mask::x", " \u00a0::warning::x", "a\n::error::b", "\x1b]0;t\x07", "\u202e", "x\r\n  ::notice::y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in := healthy()
		a := in.Repo.Connectors["source-a"]
		in.Inventory.Secrets = append(in.Inventory.Secrets, sec(s, "connector", s), sec("SECRET_Z_CREDS", "connector", s, "filename", s))
		in.Inventory.VersionErrors = map[string]error{"SECRET_SOURCE-A_CREDS": errors.New(s)}
		a.Needs = append(a.Needs, Need{File: s, Source: AcceptanceConfig}, Need{Secret: s, Source: MetadataFile})
		a.ConfigErrors = []ConfigError{{File: s, Err: s}}
		a.Secrets.Entries = append(a.Secrets.Entries, DirEntry{s, 0o644}, DirEntry{s + "l", fs.ModeSymlink})
		a.Secrets.Updated = &Folder{Path: a.Secrets.Path + "/updated_configurations", Mode: fs.ModeDir | 0o755, Entries: []DirEntry{{s, 0o600}}}
		in.Git.Tracked = []string{s, s + "/secrets/x.json"}
		in.Git.NotIgnored = []string{s, "airbyte-integrations/connectors/source-a/secrets/" + s}
		in.Drift = []DriftResult{
			{DriftItem: DriftItem{Connector: "source-a", Path: s, Secret: s, Version: s}, Err: errors.New(s)},
			{DriftItem: DriftItem{Connector: "source-a", Path: s}},
		}
		doc := NewDocument(Check(in), gsm.Stats{})
		for name, write := range map[string]func(io.Writer) error{"table": doc.WriteTable, "markdown": doc.WriteMarkdown} {
			var b strings.Builder
			if err := write(&b); err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(b.String(), "\n") {
				if strings.HasPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), "::") {
					t.Fatalf("%s: a workflow command line for %q: %q", name, s, line)
				}
				for _, r := range line {
					if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
						t.Fatalf("%s: %U in a line for %q: %q", name, r, s, line)
					}
				}
			}
		}
	})
}
