package emulator

import (
	"strings"
	"testing"
)

func TestParseSeedSizeCap(t *testing.T) {
	in := `{"project": "p"}` + strings.Repeat(" ", 100)
	if _, err := parseSeed(strings.NewReader(in), int64(len(in))); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	if _, err := parseSeed(strings.NewReader(in), int64(len(in)-1)); err == nil || !strings.Contains(err.Error(), "larger than the limit") {
		t.Errorf("over the limit: %v", err)
	}
}
