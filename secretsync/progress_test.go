package secretsync_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
	"github.com/airbytehq/ci-secrets/secretsync"
)

func TestRunReportsProgressOncePerSecret(t *testing.T) {
	var seeds []emulator.SeedSecret
	for i := range 12 {
		seeds = append(seeds, secret(fmt.Sprintf("SECRET_SOURCE-P%02d_CREDS", i), conn(fmt.Sprintf("source-p%02d", i)), fmt.Sprintf(`{"k": "progress-%02d"}`, i)))
	}
	// One that fails still counts as done.
	seeds = append(seeds, secret("SECRET_SOURCE-PBAD_CREDS", conn("source-pbad"), "not json"))
	e := newEnv(t, seeds, emulator.Options{})
	var mu sync.Mutex
	var dones []int
	totals := map[int]bool{}
	res, err := secretsync.Run(context.Background(), e.client, e.layout, e.entries, secretsync.Options{
		All: true, Concurrency: 4,
		Progress: func(done, total int) {
			mu.Lock()
			defer mu.Unlock()
			dones = append(dones, done)
			totals[total] = true
		},
	})
	if err != nil || len(res.Written) != 12 || len(res.Failed) != 1 {
		t.Fatalf("Run = %d written, %d failed, %v", len(res.Written), len(res.Failed), err)
	}
	if len(totals) != 1 || !totals[13] {
		t.Errorf("totals = %v, want 13 in every call", totals)
	}
	if dones[0] != 0 {
		t.Errorf("first call done = %d, want 0 before any read", dones[0])
	}
	slices.Sort(dones)
	want := make([]int, 14)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(dones, want) {
		t.Errorf("done values = %v, want each of 0..13 once", dones)
	}
}

func TestRunAllSkipsConnectors(t *testing.T) {
	seeds := []emulator.SeedSecret{
		secret("SECRET_SOURCE-HERE_CREDS", conn("source-here"), `{"k": "skip-here"}`),
		secret("SECRET_SOURCE-GONE_CREDS", conn("source-gone"), `{"k": "skip-gone"}`),
		secret("SECRET_BOTH_CREDS", map[string]string{"connector": "source-here_source-away", "filename": "shared"}, `{"k": "skip-both"}`),
	}
	e := newEnv(t, seeds, emulator.Options{})
	absent := map[string]bool{"source-gone": true, "source-away": true}
	res, err := secretsync.Run(context.Background(), e.client, e.layout, e.entries, secretsync.Options{
		All: true, Skip: func(c string) bool { return absent[c] },
	})
	if err != nil || !res.OK() {
		t.Fatalf("Run: %v, failed %v", err, res.Failed)
	}
	if want := []string{"source-away", "source-gone"}; !slices.Equal(res.Skipped, want) {
		t.Errorf("Skipped = %v, want %v", res.Skipped, want)
	}
	var paths []string
	for _, f := range res.Written {
		paths = append(paths, f.Connector)
	}
	if want := []string{"source-here", "source-here"}; !slices.Equal(paths, want) {
		t.Errorf("written for %v, want only source-here (twice: its own secret and the shared one)", paths)
	}
	for c := range absent {
		if _, err := os.Stat(filepath.Join(e.root, "airbyte-integrations", "connectors", c)); !os.IsNotExist(err) {
			t.Errorf("a folder was created for skipped %s (stat: %v)", c, err)
		}
	}
	if got := e.accesses(); got != 2 {
		t.Errorf("%d accesses, want 2: a secret serving only skipped connectors is not read", got)
	}

	// Named connectors are never skipped: the rule is for --all.
	res, err = secretsync.Run(context.Background(), e.client, e.layout, e.entries, secretsync.Options{
		Connectors: []string{"source-gone"}, Skip: func(string) bool { return true },
	})
	if err != nil || len(res.Written) != 1 || len(res.Skipped) != 0 {
		t.Errorf("named run with Skip: written %v skipped %v err %v", res.Written, res.Skipped, err)
	}
}

func TestRunSuggestsNearConnector(t *testing.T) {
	seeds := []emulator.SeedSecret{secret("SECRET_SOURCE-HUBSPOT_CREDS", conn("source-hubspot"), `{"k": "suggest-hub"}`)}
	e := newEnv(t, seeds, emulator.Options{})
	res, err := secretsync.Run(context.Background(), e.client, e.layout, e.entries, secretsync.Options{
		Connectors: []string{"source-hubsopt", "destination-nothing-near"}, Require: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Suggestions["source-hubsopt"]; !slices.Equal(got, []string{"source-hubspot"}) {
		t.Errorf("suggestions = %v, want source-hubspot", res.Suggestions)
	}
	if _, ok := res.Suggestions["destination-nothing-near"]; ok {
		t.Errorf("a name with nothing near got suggestions: %v", res.Suggestions)
	}
	var msg string
	for _, f := range res.Failed {
		if f.Connector == "source-hubsopt" {
			msg = f.Err.Error()
		}
	}
	if want := "(did you mean source-hubspot?)"; !strings.Contains(msg, want) {
		t.Errorf("--require failure = %q, want it to contain %q", msg, want)
	}
}
