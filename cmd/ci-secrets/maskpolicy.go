package main

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/pflag"

	"github.com/airbytehq/ci-secrets/ghactions"
)

// maskExceptEnv holds comma-separated keys exempted from masks and redaction.
const maskExceptEnv = "CI_SECRETS_MASK_EXCEPT"

func addMaskExceptFlag(f *pflag.FlagSet, keys *[]string) {
	f.StringArrayVar(keys, "mask-except-key", nil, "JSON key whose values are neither masked nor redacted, e.g. database (repeatable; env "+maskExceptEnv+", comma-separated)")
}

// maskPolicy turns payloads into masks (when a Masker is set) and collects
// what a run needs to know afterwards: the values (for exec's redactor) and
// the JSON paths exempted. Safe for concurrent use (sync reads in parallel).
type maskPolicy struct {
	opts    ghactions.MaskOptions
	masker  *ghactions.Masker // nil: no ::add-mask:: lines
	collect bool

	mu       sync.Mutex
	values   []string
	seen     map[string]bool
	exempted map[string]bool
}

func newMaskPolicy(flagKeys []string, getenv func(string) string, masker *ghactions.Masker, collect bool) (*maskPolicy, error) {
	keys, err := ghactions.ParseExceptKeys(flagKeys, getenv(maskExceptEnv))
	if err != nil {
		return nil, &usageError{err}
	}
	return &maskPolicy{opts: ghactions.MaskOptions{ExceptKeys: keys}, masker: masker, collect: collect,
		seen: map[string]bool{}, exempted: map[string]bool{}}, nil
}

// active reports whether mask needs to see payloads at all.
func (p *maskPolicy) active() bool { return p.masker != nil || p.collect || len(p.opts.ExceptKeys) > 0 }

// mask is the secretsync/secretpush Mask hook.
func (p *maskPolicy) mask(payload []byte) error {
	m := ghactions.MaskValuesWith(payload, p.opts)
	p.mu.Lock()
	for _, path := range m.Exempted {
		p.exempted[path] = true
	}
	if p.collect {
		for _, v := range m.Values {
			if !p.seen[v] {
				p.seen[v] = true
				p.values = append(p.values, v)
			}
		}
	}
	p.mu.Unlock()
	if p.masker == nil {
		return nil
	}
	return p.masker.Mask(m.Values)
}

// hook is mask, or nil when nothing is to be done with payloads.
func (p *maskPolicy) hook() func([]byte) error {
	if !p.active() {
		return nil
	}
	return p.mask
}

func (p *maskPolicy) collected() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.values)
}

// exemptedPaths are the JSON paths whose values were left unmasked, sorted.
func (p *maskPolicy) exemptedPaths() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.exempted))
	for k := range p.exempted {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// exemptionsMarkdown is the step-summary note on exempted paths ("" when none).
func exemptionsMarkdown(command string, paths []string) string {
	if len(paths) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#### ci-secrets %s: values not masked (--mask-except-key)\n\n", command)
	for _, p := range paths {
		fmt.Fprintf(&b, "- `%s`\n", p) // paths are ASCII without backticks (ghactions.MaskValuesWith)
	}
	b.WriteString("\n")
	return b.String()
}

// appendSummary appends Markdown to $GITHUB_STEP_SUMMARY when it is set.
func appendSummary(getenv func(string) string, md string) error {
	path := getenv("GITHUB_STEP_SUMMARY")
	if path == "" || md == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("cannot append to $GITHUB_STEP_SUMMARY %s: %w", path, err)
	}
	if _, err := f.WriteString(md); err != nil {
		f.Close()
		return fmt.Errorf("cannot append to $GITHUB_STEP_SUMMARY %s: %w", path, err)
	}
	return f.Close()
}
