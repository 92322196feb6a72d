package migrate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The script's steps are found through one level of repository scripts,
// read from the repository root; an unreadable or unrelated one does not
// count.
func TestScriptStepsThroughRepositoryScript(t *testing.T) {
	root := t.TempDir()
	for path, text := range map[string]string{
		"tools/bin/test.sh":  "#!/bin/sh\n./tools/bin/ci_credentials.sh \"$@\"\n",
		"tools/bin/other.sh": "#!/bin/sh\necho ci_credentials\n",
		".github/workflows/ci.yml": `jobs:
  a:
    steps:
      - run: tools/bin/test.sh all
      - run: ./tools/bin/other.sh
      - run: ./tools/bin/missing.sh
      - run: bash tools/bin/ci_credentials.sh
`,
	} {
		p := filepath.Join(root, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, text)
	}
	wf, err := ReadWorkflows(filepath.Join(root, ".github", "workflows"))
	if err != nil {
		t.Fatal(err)
	}
	if wf.Root != root {
		t.Fatalf("root %q, want %q", wf.Root, root)
	}
	st := wf.findScriptSteps("tools/bin/ci_credentials.sh")
	file := wf.Files[0]
	for i, want := range []bool{true, false, false, true} {
		if got := st.isScript(file, scope{job: "a", step: i}); got != want {
			t.Errorf("step %d runs the script: %v, want %v", i, got, want)
		}
	}
	if how := st.via[st.steps[stepKey{file, scope{job: "a", step: 0}}]]; how != "runs tools/bin/test.sh, which runs ci_credentials.sh" {
		t.Errorf("step 0: %q", how)
	}
}

// Every secret at once passed to something other than the script's step
// (secrets: inherit to a workflow outside the folder) may be read by it:
// nothing is safe to delete; inherit to a workflow of the folder is fine.
func TestAllSecretsElsewhereHoldEverySecret(t *testing.T) {
	s := parse(t, "read_secrets source-a \"$A_CREDS\"\n")
	inv := entries(t, map[string]map[string]string{"SECRET_A_CREDS": {"connector": "source-a"}})
	const base = "jobs:\n  t:\n    steps:\n      - run: ./test.sh\n        env:\n          A_CREDS: ${{ secrets.A_CREDS }}\n"
	for _, c := range []struct {
		extra string
		safe  bool
	}{
		{"", true},
		{"  call:\n    uses: ./.github/workflows/ci.yml\n    secrets: inherit\n", true},
		{"  call:\n    uses: other/repo/.github/workflows/x.yml@v1\n    secrets: inherit\n", false},
		{"  dump:\n    steps:\n      - run: ./dump.sh\n        env:\n          ALL: ${{ toJson(secrets) }}\n", false},
	} {
		r := BuildReport(s, inv, Options{Workflows: readWorkflows(t, map[string]string{"ci.yml": base + c.extra})})
		if got := len(r.ToDelete) == 1; got != c.safe {
			t.Errorf("safe to delete %v, want %v, with:\n%s\n%+v", got, c.safe, c.extra, r.Variables)
		}
		if !c.safe && !strings.Contains(r.Variables[0].OtherReferences[0].Context, "passes every secret at once") {
			t.Errorf("reference %+v", r.Variables[0].OtherReferences)
		}
	}
}

// blockingChecker answers once released, recording how many calls were in
// flight at once.
type blockingChecker struct {
	mu             sync.Mutex
	inFlight, peak int
	release        chan struct{}
	fail           string
}

func (b *blockingChecker) HasEnabledVersion(ctx context.Context, id string) (bool, error) {
	b.mu.Lock()
	b.inFlight++
	b.peak = max(b.peak, b.inFlight)
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.inFlight--
		b.mu.Unlock()
	}()
	select {
	case <-b.release:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	if id == b.fail {
		return false, errors.New("permission denied")
	}
	return id != "SECRET_S3_CREDS", nil
}

// CheckVersions checks only the secrets that serve a registration, at most
// concurrency at a time, and names the secret of a failed check.
func TestCheckVersionsBounded(t *testing.T) {
	var b strings.Builder
	secrets := map[string]map[string]string{"SECRET_UNUSED_CREDS": {"connector": "source-unused"}}
	for _, c := range []string{"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9"} {
		b.WriteString("read_secrets source-" + c + " \"$" + strings.ToUpper(c) + "_CREDS\"\n")
		secrets["SECRET_"+strings.ToUpper(c)+"_CREDS"] = map[string]string{"connector": "source-" + c}
	}
	s := parse(t, b.String())
	inv := entries(t, secrets)
	bc := &blockingChecker{release: make(chan struct{})}
	close(bc.release)
	en, err := CheckVersions(context.Background(), s, inv, bc, 3)
	if err != nil {
		t.Fatal(err)
	}
	if en.Checked != 10 || bc.peak > 3 || bc.peak < 1 {
		t.Errorf("checked %d with %d at once, want 10 with at most 3", en.Checked, bc.peak)
	}
	if en.Has("SECRET_S3_CREDS") || !en.Has("SECRET_S4_CREDS") || en.Has("SECRET_UNUSED_CREDS") {
		t.Errorf("enabled %+v", en.secrets)
	}
	r := BuildReport(s, inv, Options{Enabled: en})
	for _, reg := range r.Registrations {
		if (reg.Status == StatusServed) == (reg.Connector == "source-s3") {
			t.Errorf("%s: %s (%s)", reg.Connector, reg.Status, reg.Note)
		}
	}

	bad := &blockingChecker{release: make(chan struct{}), fail: "SECRET_S5_CREDS"}
	close(bad.release)
	if _, err := CheckVersions(context.Background(), s, inv, bad, 2); err == nil || !strings.Contains(err.Error(), "check the versions of SECRET_S5_CREDS: permission denied") {
		t.Errorf("error %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := CheckVersions(ctx, s, inv, &blockingChecker{release: make(chan struct{})}, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
