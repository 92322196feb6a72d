package migrate

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/diff"

	"github.com/airbytehq/ci-secrets/labels"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// inventoryFile is the test form of a GSM listing: ID and labels per secret.
type inventoryFile []struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
}

func entries(t testing.TB, secrets map[string]map[string]string) []labels.Entry {
	t.Helper()
	var out []labels.Entry
	for id, l := range secrets {
		e, ok := labels.Classify(id, l)
		if !ok {
			t.Fatalf("%s is not a CI secret name", id)
		}
		out = append(out, e)
	}
	return out
}

func loadInventory(t testing.TB, path string) []labels.Entry {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var inv inventoryFile
	if err := json.Unmarshal(data, &inv); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []labels.Entry
	for _, s := range inv {
		if e, ok := labels.Classify(s.Name, s.Labels); ok {
			out = append(out, e)
		}
	}
	return out
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", name,
			diff.Diff("want", want, "got", got))
	}
}

// parse reads an inline script, failing the test on error.
func parse(t testing.TB, src string) *Script {
	t.Helper()
	s, err := ReadScript("test.sh", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
