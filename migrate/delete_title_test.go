package migrate

import (
	"bytes"
	"strings"
	"testing"
)

// TestDeleteTitleFollowsTheScript: the delete section says to run
// --rewrite first only for the secrets whose lines the script still has.
// Bug: after a rewrite, the title still said "run --rewrite first".
func TestDeleteTitleFollowsTheScript(t *testing.T) {
	inv := entries(t, map[string]map[string]string{
		"SECRET_SOURCE-A_CREDS": {"connector": "source-a"},
		"SECRET_SOURCE-B_CREDS": {"connector": "source-b"},
	})
	const marker = "# ci-secrets migrate: source-a/config.json now comes from Secret Manager (SECRET_SOURCE-A_CREDS); it was $A_CREDS\n"
	const live = "read_secrets source-b \"$B_CREDS\"\n"
	for _, c := range []struct {
		name, src  string
		table, md  string
		reads      map[string]bool
		markedLine string // a delete line carrying the per-line note
	}{
		{"before any rewrite", "read_secrets source-a \"$A_CREDS\"\n" + live,
			"SAFE TO DELETE as far as the script goes (workflows not checked: pass --workflows; once the script no longer reads them: run --rewrite first)",
			"Once the script no longer reads them (rewrite first):", map[string]bool{"A_CREDS": true, "B_CREDS": true}, ""},
		{"after it", marker + "# ci-secrets migrate: source-b/config.json now comes from Secret Manager (SECRET_SOURCE-B_CREDS); it was $B_CREDS\n",
			"SAFE TO DELETE as far as the script goes (workflows not checked: pass --workflows; the script no longer reads them: --rewrite removed their lines)",
			"The script no longer reads them (`--rewrite` removed their lines):", map[string]bool{"A_CREDS": false, "B_CREDS": false}, ""},
		{"some of each", marker + live,
			"SAFE TO DELETE as far as the script goes (workflows not checked: pass --workflows; those marked are still read by the script: run --rewrite first; --rewrite removed the others' lines)",
			"Those marked are still read by the script (rewrite first); `--rewrite` removed the others' lines:", map[string]bool{"A_CREDS": false, "B_CREDS": true},
			"gh secret delete B_CREDS  # after --rewrite: the script still reads B_CREDS"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := BuildReport(parse(t, "#!/usr/bin/env bash\n"+c.src), inv, Options{})
			got := map[string]bool{}
			for _, d := range r.ToDelete {
				got[d.Secret] = d.ScriptReads
			}
			if len(got) != len(c.reads) {
				t.Fatalf("to delete %+v, want %v", r.ToDelete, c.reads)
			}
			for sec, want := range c.reads {
				if got[sec] != want {
					t.Errorf("%s: script_reads %v, want %v", sec, got[sec], want)
				}
			}
			var table, md bytes.Buffer
			if err := r.WriteTable(&table); err != nil {
				t.Fatal(err)
			}
			if err := r.WriteMarkdown(&md); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(table.String(), "\n"+c.table+"\n") {
				t.Errorf("table lacks %q:\n%s", c.table, table.String())
			}
			if !strings.Contains(md.String(), "\n"+c.md+"\n") {
				t.Errorf("markdown lacks %q:\n%s", c.md, md.String())
			}
			for _, out := range []string{table.String(), md.String()} {
				if c.markedLine != "" && !strings.Contains(out, "\n"+c.markedLine+"\n") {
					t.Errorf("no %q in:\n%s", c.markedLine, out)
				}
				if c.markedLine == "" && strings.Contains(out, "# after --rewrite") {
					t.Errorf("a per-line note where all lines share one state:\n%s", out)
				}
			}
		})
	}
}
