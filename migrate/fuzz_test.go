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
		"w() {\n  d=\"airbyte-integrations/$1/secrets\"\n  echo \"$2\" > \"$d/${3:-config.json}\"\n}\nw source-a \"$A\"\nw x/y \"$B\" b.json\n",
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

// FuzzWorkflows: any workflow file is read (as YAML, or as text when it is
// not), and the report built with it renders; a reference that names a
// secret the script reads never leaves that secret in the plain delete
// list unless it comes from the script's own step.
func FuzzWorkflows(f *testing.F) {
	for _, s := range []string{
		"jobs:\n  t:\n    steps:\n      - run: ./ci.sh\n        env:\n          A_CREDS: ${{ secrets.A_CREDS }}\n",
		"env:\n  A_CREDS: ${{ secrets.A_CREDS }}\njobs:\n  t:\n    steps:\n      - run: ./ci.sh\n      - run: make\n",
		"jobs:\n  t:\n    uses: ./.github/workflows/x.yml\n    secrets: inherit\n",
		"jobs:\n  t:\n    steps:\n      - run: ./ci.sh\n        env:\n          ALL: ${{ toJson(secrets) }}\n      - uses: x/y@v1\n        with:\n          k: ${{ secrets['A_CREDS'] }}\n",
		"a: &x\n  A_CREDS: ${{ secrets.A_CREDS }}\njobs: {t: {env: *x, steps: [{run: ./ci.sh}]}}\n",
		"not: [valid\n${{ secrets.A_CREDS }}\n",
		"jobs:\n  t:\n    steps:\n      - run: A_CREDS=${{ secrets.A_CREDS }} ./ci.sh ${{ secrets.B_CREDS }}\n",
		"jobs:\n  t:\n    steps:\n      - run: |\n          A_CREDS=\"${{ secrets.A_CREDS }}\" bash ./ci.sh\n          B_CREDS=${{ secrets.B_CREDS }} ./other.sh\n",
	} {
		f.Add([]byte(s))
	}
	s, err := ReadScript("ci.sh", []byte("read_secrets source-a \"$A_CREDS\"\nread_secrets source-b \"$B_CREDS\"\n"))
	if err != nil {
		f.Fatal(err)
	}
	inv := entries(f, map[string]map[string]string{"SECRET_A_CREDS": {"connector": "source-a"}, "SECRET_B_CREDS": {"connector": "source-b"}})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 16<<10 {
			return
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "ci.yml"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		wf, err := ReadWorkflows(dir)
		if err != nil {
			if _, ok := err.(*InputError); !ok {
				t.Fatalf("error %T is not an *InputError: %v", err, err)
			}
			return
		}
		r := BuildReport(s, inv, Options{Workflows: wf})
		for _, format := range Formats {
			if err := r.Write(io.Discard, format); err != nil {
				t.Fatal(err)
			}
		}
		steps := wf.findScriptSteps(s.Name)
		// A run: prefix of the script's own command is its input, not a
		// reference (withRunInputs); every other reference blocks deletion.
		view := wf.withRunInputs(steps)
		for _, d := range r.ToDelete {
			for _, ref := range view.References {
				if ref.Secret == d.Secret {
					t.Fatalf("%s is to delete while %s:%d (%s) reads it", d.Secret, ref.File, ref.Line, ref.Context)
				}
			}
			for _, m := range wf.EnvMappings {
				if m.Secret == d.Secret && !steps.reaches(m.File, m.scope) {
					t.Fatalf("%s is to delete while %s (outside the script's steps) passes it", d.Secret, m.Context)
				}
			}
		}
	})
}
