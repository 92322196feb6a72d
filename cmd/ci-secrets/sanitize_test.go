package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/airbytehq/ci-secrets/secretpush"
	"github.com/airbytehq/ci-secrets/secretsync"
)

// sanitizeReport reaches every string and error of a result, fields added
// later included, and keeps errors matchable with errors.Is.
func TestSanitizeReport(t *testing.T) {
	const bad = "v\n::stop-commands::t\r::error::x"
	sentinel := errors.New("root cause")
	sync := &secretsync.Result{
		Written: []secretsync.File{{Secret: bad, Version: bad, Path: bad, Connector: bad}},
		Failed:  []secretsync.Failure{{Secret: bad, Err: errors.Join(errors.New("first line"), errors.New(bad), sentinel)}},
		Missing: []string{bad},
	}
	push := &secretpush.Result{
		Pushed:     []secretpush.Push{{Secret: bad, Version: bad, AddedVersion: bad, Warning: bad, Files: []secretpush.File{{Path: bad}}}},
		Failed:     []secretpush.Failure{{Secret: bad, Err: errors.New(bad)}},
		Superseded: []secretpush.Superseded{{Path: bad, By: bad}},
		Removed:    []string{bad},
	}
	rows := []listRow{{Name: bad, Labels: map[string]string{bad: bad}, Connectors: []string{bad}}}
	sanitizeReport(sync)
	sanitizeReport(push)
	sanitizeReport(&rows)
	for name, v := range map[string]any{"sync": sync, "push": push, "list": rows} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		// JSON escapes a raw line break as \n; a sanitized one is \\n.
		if s := string(b); strings.Contains(strings.ReplaceAll(s, `\\n`, ""), `\n::`) || strings.Contains(strings.ReplaceAll(s, `\\r`, ""), `\r::`) {
			t.Errorf("%s keeps a raw line break before a command: %s", name, s)
		}
	}
	msg := sync.Failed[0].Err.Error()
	if !errors.Is(sync.Failed[0].Err, sentinel) {
		t.Errorf("sanitized error lost its chain")
	}
	// Lines stay lines (a joined error reads as before), but none, even
	// the one a server's own line break starts, is a command.
	if got := strings.Split(msg, "\n"); len(got) != 4 || got[0] != "first line" || got[3] != "root cause" || commandLines(msg) != nil {
		t.Errorf("joined error lines %q: want the lines kept, none a command", got)
	}
	if rows[0].Labels[`v\n::stop-commands::t\r::error::x`] == "" {
		t.Errorf("map keys and values not sanitized: %q", rows[0].Labels)
	}
}
