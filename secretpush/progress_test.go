package secretpush_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
	"github.com/airbytehq/ci-secrets/secretpush"
	"github.com/airbytehq/ci-secrets/writer"
)

func TestEmulatorPushReportsProgress(t *testing.T) {
	c, _ := connect(t, emulator.Options{})
	root := t.TempDir()
	update(t, root, "source-foo", "config|2.json", `{"token": "token-progress"}`)
	update(t, root, "source-foo", "oauth|1.json", `{"refresh": "token-o-progress"}`)
	var mu sync.Mutex
	var calls [][2]int
	res, err := secretpush.Run(ctxFor(t), c, writer.Layout{Root: root}, secretpush.Options{
		Connectors: []string{"source-foo"}, Concurrency: 2,
		Progress: func(done, total int) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, [2]int{done, total})
		},
	})
	if err != nil || !res.OK() {
		t.Fatalf("push: %v %+v", err, res.Failed)
	}
	if len(calls) != 3 || calls[0] != [2]int{0, 2} {
		t.Fatalf("progress calls = %v, want (0,2) then one per secret", calls)
	}
	dones := []int{calls[1][0], calls[2][0]}
	slices.Sort(dones)
	if !slices.Equal(dones, []int{1, 2}) || calls[1][1] != 2 || calls[2][1] != 2 {
		t.Errorf("progress calls = %v, want done 1 and 2 of 2", calls)
	}
}
