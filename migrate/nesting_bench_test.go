package migrate

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// nestedScript is n case/if statements nested inside each other, each
// level a few bytes, around one write: the hostile shape that used to cost
// quadratic time.
func nestedScript(n int) []byte {
	var b strings.Builder
	for i := range n {
		if i%2 == 0 {
			b.WriteString("case \"$X\" in a)\n")
		} else {
			b.WriteString("if [ -n \"$Y\" ]; then\n")
		}
	}
	b.WriteString("echo \"$SOURCE_A_CREDS\" > airbyte-integrations/connectors/source-a/secrets/config.json\n")
	for i := n - 1; i >= 0; i-- {
		if i%2 == 0 {
			b.WriteString(";; esac\n")
		} else {
			b.WriteString("fi\n")
		}
	}
	return []byte(b.String())
}

// flatScript is n statements of about the same size, one after the other.
func flatScript(n int) []byte {
	var b strings.Builder
	for i := range n {
		if i%2 == 0 {
			b.WriteString("case \"$X\" in a) : ;; esac\n")
		} else {
			b.WriteString("if [ -n \"$Y\" ]; then :; fi\n")
		}
	}
	b.WriteString("echo \"$SOURCE_A_CREDS\" > airbyte-integrations/connectors/source-a/secrets/config.json\n")
	return []byte(b.String())
}

// BenchmarkNesting compares 10,000 levels of nested case/if with 10,000
// flat statements of the same size: the analysis must grow linearly with
// depth, so the two stay within a small factor of each other.
func BenchmarkNesting(b *testing.B) {
	for _, c := range []struct {
		name string
		src  []byte
	}{
		{"deep-10000", nestedScript(10000)}, {"flat-10000", flatScript(10000)},
		// Twice the depth costs about twice the time: linear, not quadratic.
		{"deep-20000", nestedScript(20000)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.src)))
			for b.Loop() {
				s, err := ReadScriptContext(context.Background(), "ci.sh", c.src)
				if err != nil {
					b.Fatal(err)
				}
				BuildReport(s, nil, Options{})
			}
		})
	}
}

// cancelAfter is a context whose Err turns to Canceled after a number of
// looks: it cancels the analysis at a chosen point, with no clock involved.
type cancelAfter struct {
	context.Context
	left, looks int
}

func (c *cancelAfter) Err() error {
	c.looks++
	if c.looks > c.left {
		return context.Canceled
	}
	return nil
}

// TestReadScriptStopsWhenCancelled: an analysis of hostile input looks at
// its context while it walks, and stops at the first look after the
// cancellation instead of finishing the walk (what made Ctrl-C wait).
func TestReadScriptStopsWhenCancelled(t *testing.T) {
	src := nestedScript(10000)
	full := &cancelAfter{Context: context.Background(), left: 1 << 30}
	if _, err := ReadScriptContext(full, "ci.sh", src); err != nil {
		t.Fatal(err)
	}
	if full.looks < 10 {
		t.Fatalf("a 10,000-deep script was walked with %d looks at the context, want one every %d steps", full.looks, checkEvery)
	}
	for _, at := range []int{0, 1, full.looks / 2, full.looks - 1} {
		ctx := &cancelAfter{Context: context.Background(), left: at}
		s, err := ReadScriptContext(ctx, "ci.sh", src)
		if !errors.Is(err, context.Canceled) || s != nil {
			t.Fatalf("cancelled at look %d: got %v, %v; want context.Canceled and no script", at, s, err)
		}
		if ctx.looks != at+1 {
			t.Errorf("cancelled at look %d: went on for %d more looks", at, ctx.looks-at-1)
		}
	}
}
