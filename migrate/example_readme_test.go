package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestExampleReadme keeps examples/migrate/README.md honest: the report it
// shows is the one the example files produce.
func TestExampleReadme(t *testing.T) {
	t.Chdir("..")
	data, err := os.ReadFile("examples/migrate/seed.json")
	if err != nil {
		t.Skip("no example:", err)
	}
	var seed struct {
		Secrets inventoryFile `json:"secrets"`
	}
	if err := json.Unmarshal(data, &seed); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]map[string]string{}
	for _, s := range seed.Secrets {
		secrets[s.Name] = s.Labels
	}
	s, err := ReadScriptFile(context.Background(), "examples/migrate/ci_credentials.sh")
	if err != nil {
		t.Fatal(err)
	}
	wf, err := ReadWorkflows("examples/migrate/workflows")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := BuildReport(s, entries(t, secrets), Options{Workflows: wf}).WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("examples/migrate/README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```\n"+b.String()+"```") {
		t.Errorf("examples/migrate/README.md does not show the current report:\n%s", b.String())
	}

	// The top-level README shows sections of the same report.
	top, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(top), "The report on that example")
	_, after, ok2 := strings.Cut(after, "```\n")
	shown, _, ok3 := strings.Cut(after, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no example report after \"The report on that example\"")
	}
	for _, section := range strings.Split(strings.TrimSpace(shown), "\n\n") {
		if !strings.Contains(b.String(), section+"\n") {
			t.Errorf("README.md shows a report section the example no longer produces:\n%s", section)
		}
	}
}
