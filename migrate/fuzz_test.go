package migrate

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/airbytehq/ci-secrets/labels"
)

// FuzzReadScript: any input either fails with an InputError or yields a
// report that renders, whose registrations point inside the file, and whose
// rewrite (dry run) still parses. Inputs are bounded so one run stays fast.
func FuzzReadScript(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.sh")
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		if err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		`echo "$A" > airbyte-integrations/connectors/source-a/secrets/config.json`,
		"D=x/connectors/c/secrets\necho $A > $D/f.json\nD+=/y\n",
		"read_secrets source-a \"$A\" # read_secrets source-b \"$B\"\n",
		"f() { read_secrets \"$1\" \"$2\"; }\nf source-x \"$X\"\n",
		"A=$(echo \"$B\")\nB=$(echo \"$A\")\nwrite_standard_creds source-a \"$B\"\n",
		"cat <<EOF > connectors/c/secrets/x.json\n$V\nEOF\n",
		"if a; then\nread_secrets source-a \"$A\"\nfi\n",
		"echo \"$A\" | jq . | tee > bases/b/secrets/c.json\r\n",
		"X=(\"$A\" b)\nwrite_standard_creds source-a \"${X[0]}\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		s, err := ReadScript("fuzz.sh", data)
		if err != nil {
			if _, ok := err.(*InputError); !ok {
				t.Fatalf("error %T is not an *InputError: %v", err, err)
			}
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, r := range s.Registrations {
			if r.Line < 1 || r.Line > lines || len(r.Sources) == 0 || r.Variable != r.Sources[0] {
				t.Fatalf("bad registration %+v", r)
			}
			if r.span.start < 0 || r.span.end > len(data) || r.span.start > r.span.end {
				t.Fatalf("bad span %+v", r.span)
			}
		}
		// Serve everything servable so the rewrite removes all it can; the
		// rewrite refuses (an error) to produce a script that does not parse.
		inv := map[string]map[string]string{}
		for i, r := range s.Registrations {
			stem, err := labels.StemOf(r.File)
			if err != nil {
				continue
			}
			l := map[string]string{"connector": r.Connector}
			if stem != labels.DefaultStem {
				l["filename"] = stem
			}
			inv[fmt.Sprintf("SECRET_F%d_CREDS", i)] = l
		}
		rep := BuildReport(s, entries(t, inv), Options{})
		for _, format := range Formats {
			if err := rep.Write(io.Discard, format); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := Rewrite(rep, true); err != nil {
			t.Fatalf("rewrite: %v", err)
		}
	})
}
