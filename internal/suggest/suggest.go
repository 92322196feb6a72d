// Package suggest finds the names closest to a mistyped one ("did you mean
// source-hubspot?"), for connector names, flags and commands. It owns the
// edit-distance rule only: no I/O, and it never sees a secret value.
package suggest

import (
	"fmt"
	"sort"
	"strings"

	"github.com/agnivade/levenshtein"
)

// Closest returns the candidates closest to word by edit distance, at most
// three, within a distance that scales with the word's length (a typo, not a
// different name). Order: nearest first, then alphabetical.
func Closest(word string, candidates []string) []string {
	limit := max(2, len(word)/4)
	type scored struct {
		s string
		d int
	}
	var near []scored
	seen := map[string]bool{}
	for _, c := range candidates {
		if c == word || seen[c] {
			continue
		}
		seen[c] = true
		if d := levenshtein.ComputeDistance(word, c); d <= limit {
			near = append(near, scored{c, d})
		}
	}
	sort.Slice(near, func(i, j int) bool {
		if near[i].d != near[j].d {
			return near[i].d < near[j].d
		}
		return near[i].s < near[j].s
	})
	out := make([]string, 0, 3)
	for i := 0; i < len(near) && i < 3; i++ {
		out = append(out, near[i].s)
	}
	return out
}

// DidYouMean is ` (did you mean a or b?)`, or "" with nothing close.
func DidYouMean(word string, candidates []string) string {
	s := Closest(word, candidates)
	if len(s) == 0 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
}
