package migrate

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

// TestRunInputs: the NAME=${{ secrets.Y }} prefixes of the command that
// runs the script (by path, through bash or source, or through a
// repository script that runs it) are its input; prefixes of other
// commands, arguments, and values that are more than one secret are not.
func TestRunInputs(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, ".github", "workflows")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "tools", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "tools", "bin", "test.sh"), "#!/bin/sh\n./tools/bin/ci_credentials.sh\n")
	writeFile(t, filepath.Join(dir, "ci.yml"), `on: push
jobs:
  test:
    steps:
      - run: A_CREDS=${{ secrets.SA }} ./tools/bin/ci_credentials.sh
      - run: B_CREDS='${{ secrets.SB }}' bash -e tools/bin/ci_credentials.sh
      - run: |
          C_CREDS="${{secrets.SC}}" source ./tools/bin/ci_credentials.sh
          D_CREDS=${{ secrets.SD }} ./tools/bin/other.sh
      - run: E_CREDS=${{ secrets.SE }} ./tools/bin/test.sh
      - run: F_CREDS=${{ secrets.SF }}${{ secrets.SG }} ./tools/bin/ci_credentials.sh ${{ secrets.SH }}
      - run: G_CREDS=${{ secrets.SI || secrets.SJ }} ./tools/bin/ci_credentials.sh
  other:
    steps:
      - run: H_CREDS=${{ secrets.SK }} ./tools/bin/deploy.sh
`)
	wf, err := ReadWorkflows(dir)
	if err != nil {
		t.Fatal(err)
	}
	steps := wf.findScriptSteps("tools/bin/ci_credentials.sh")
	var got []string
	for _, m := range steps.runInputs() {
		got = append(got, m.Env+"="+m.Secret)
	}
	sort.Strings(got)
	want := []string{"A_CREDS=SA", "B_CREDS=SB", "C_CREDS=SC", "E_CREDS=SE"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("run inputs %v, want %v", got, want)
	}
	// The view drops exactly the references the prefixes were.
	v := wf.withRunInputs(steps)
	var refs []string
	for _, r := range v.References {
		refs = append(refs, r.Secret)
	}
	sort.Strings(refs)
	if want := []string{"SD", "SF", "SG", "SH", "SI", "SJ", "SK"}; !reflect.DeepEqual(refs, want) {
		t.Errorf("references left %v, want %v", refs, want)
	}
	if len(wf.EnvMappings) != 0 {
		t.Errorf("the workflows read were changed: %+v", wf.EnvMappings)
	}
}
