package migrate

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// goldenWorkflows names the workflows folder read with a test script.
var goldenWorkflows = map[string]string{"mixed": "testdata/workflows"}

// TestGolden renders the report of every testdata/*.sh (against
// testdata/NAME.inventory.json when present) in the three formats.
func TestGolden(t *testing.T) {
	scripts, err := filepath.Glob("testdata/*.sh")
	if err != nil || len(scripts) == 0 {
		t.Fatal("no test scripts", err)
	}
	for _, path := range scripts {
		name := strings.TrimSuffix(filepath.Base(path), ".sh")
		t.Run(name, func(t *testing.T) {
			s, err := ReadScriptFile(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			var opts Options
			if dir := goldenWorkflows[name]; dir != "" {
				if opts.Workflows, err = ReadWorkflows(dir); err != nil {
					t.Fatal(err)
				}
			}
			r := BuildReport(s, loadInventory(t, "testdata/"+name+".inventory.json"), opts)
			for _, format := range Formats {
				var b bytes.Buffer
				if err := r.Write(&b, format); err != nil {
					t.Fatal(err)
				}
				golden(t, name+"."+format, b.Bytes())
			}
		})
	}
}
