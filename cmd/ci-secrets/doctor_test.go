package main

import (
	"encoding/json"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/airbytehq/ci-secrets/doctor"
)

// TestDoctorScriptShowsEveryKind holds doctor_problems.txtar to its promise:
// its made-up monorepo and seed show every problem kind doctor knows, each
// with a message and a fix, so a new kind cannot ship without an end-to-end
// case.
func TestDoctorScriptShowsEveryKind(t *testing.T) {
	ar, err := txtar.ParseFile("testdata/script/doctor_problems.txtar")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		SchemaVersion int              `json:"schema_version"`
		Problems      []doctor.Problem `json:"problems"`
	}
	found := false
	for _, f := range ar.Files {
		if f.Name == "want-json" {
			found = true
			if err := json.Unmarshal(f.Data, &doc); err != nil {
				t.Fatalf("want-json: %v", err)
			}
		}
	}
	if !found {
		t.Fatal("doctor_problems.txtar has no want-json section")
	}
	if doc.SchemaVersion != 1 {
		t.Errorf("schema_version = %d, want 1", doc.SchemaVersion)
	}
	seen := map[doctor.Kind]bool{}
	for _, p := range doc.Problems {
		seen[p.Kind] = true
		if p.Message == "" || p.Fix == "" {
			t.Errorf("%s problem without a message or a fix: %+v", p.Kind, p)
		}
	}
	for _, k := range doctor.Kinds() {
		if !seen[k] {
			t.Errorf("no %s problem in doctor_problems.txtar", k)
		}
	}
}
