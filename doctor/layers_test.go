package doctor

import (
	"go/build"
	"strings"
	"testing"
)

// TestDoctorImportsNoJobPackage keeps the design's one-way flow: doctor is a
// job, like sync, push, migrate and exec, and shares only the mechanisms
// below them (labels, gsm, writer, ...), never another job's package.
func TestDoctorImportsNoJobPackage(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	jobs := []string{"secretsync", "secretpush", "secretexec", "migrate", "cmd"}
	for _, imp := range pkg.Imports {
		rest, ours := strings.CutPrefix(imp, "github.com/airbytehq/ci-secrets/")
		if !ours {
			continue
		}
		for _, j := range jobs {
			if rest == j || strings.HasPrefix(rest, j+"/") {
				t.Errorf("doctor imports %s: move what it needs into a shared package below the jobs (labels, writer, gsm)", imp)
			}
		}
	}
}
