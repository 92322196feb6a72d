package suggest_test

import (
	"slices"
	"testing"

	"github.com/airbytehq/ci-secrets/internal/suggest"
)

func TestClosest(t *testing.T) {
	conns := []string{"source-hubspot", "source-s3", "source-mysql", "destination-s3", "source-github", "source-hubspot"}
	for _, tc := range []struct {
		word string
		want []string
	}{
		{"source-hubsopt", []string{"source-hubspot"}},
		{"source-s4", []string{"source-s3"}},
		{"destination-s3", nil}, // an exact name is no suggestion
		{"destination-bigquery", nil},
		{"sourcehubspot", []string{"source-hubspot"}},
	} {
		if got := suggest.Closest(tc.word, conns); !slices.Equal(got, tc.want) {
			t.Errorf("Closest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}

func TestClosestOrderAndLimit(t *testing.T) {
	got := suggest.Closest("--rot", []string{"--out", "--root", "--dry-run", "--all", "--roots"})
	if want := []string{"--root", "--out", "--roots"}; !slices.Equal(got, want) {
		t.Errorf("Closest(--rot) = %q, want %q (nearest first, then by name, at most three)", got, want)
	}
}

func TestDidYouMean(t *testing.T) {
	if got, want := suggest.DidYouMean("source-s4", []string{"source-s3", "source-s5"}), " (did you mean source-s3 or source-s5?)"; got != want {
		t.Errorf("DidYouMean = %q, want %q", got, want)
	}
	if got := suggest.DidYouMean("zzz", []string{"source-s3"}); got != "" {
		t.Errorf("DidYouMean with nothing close = %q, want empty", got)
	}
}
