package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/airbytehq/ci-secrets/labels"
)

// SecretCreator creates a GSM secret with labels and a first version. The
// gsm client satisfies it; tests use a fake.
type SecretCreator interface {
	CreateSecret(ctx context.Context, id string, labels map[string]string, data []byte) (version string, err error)
}

// maxPayload is GSM's limit for a secret version.
const maxPayload = 64 << 10

// ProvidedSecrets holds GITHUB_PROVIDED_SECRETS_JSON: the values of the
// GitHub secrets a workflow passes with toJson(secrets). It prints redacted
// under every fmt verb, so a stray %v cannot leak a value.
type ProvidedSecrets struct{ m map[string]json.RawMessage }

// Format redacts the values whatever the verb.
func (p ProvidedSecrets) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "migrate.ProvidedSecrets{%d values redacted}", len(p.m))
}

// Len is the number of secrets provided.
func (p ProvidedSecrets) Len() int { return len(p.m) }

// ParseProvidedSecrets reads GITHUB_PROVIDED_SECRETS_JSON, a JSON object of
// secret name to string value. Its errors never quote the input.
func ParseProvidedSecrets(data []byte) (ProvidedSecrets, error) {
	const what = "GITHUB_PROVIDED_SECRETS_JSON"
	if len(strings.TrimSpace(string(data))) == 0 {
		return ProvidedSecrets{}, &InputError{File: what, Msg: "is empty: pass ${{ toJson(secrets) }} to the step that runs migrate"}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return ProvidedSecrets{}, &InputError{File: what, Msg: fmt.Sprintf("is not valid JSON (syntax error at byte %d)", se.Offset)}
		}
		return ProvidedSecrets{}, &InputError{File: what, Msg: "is not a JSON object of secret names to values"}
	}
	if m == nil {
		return ProvidedSecrets{}, &InputError{File: what, Msg: "is not a JSON object of secret names to values"}
	}
	return ProvidedSecrets{m: m}, nil
}

// has reports whether any of names is provided (whatever its value).
func (p ProvidedSecrets) has(names ...string) bool {
	for _, n := range names {
		if _, ok := p.m[n]; ok {
			return true
		}
		for k := range p.m {
			if strings.EqualFold(k, n) {
				return true
			}
		}
	}
	return false
}

// value looks a secret up by its GitHub name (case-insensitive, as GitHub
// names are), then by the environment name.
func (p ProvidedSecrets) value(names ...string) (data []byte, name, problem string) {
	for _, n := range names {
		raw, ok := p.m[n]
		if !ok {
			for k, v := range p.m {
				if strings.EqualFold(k, n) {
					raw, ok = v, true
					break
				}
			}
		}
		if !ok {
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, n, n + " in GITHUB_PROVIDED_SECRETS_JSON is not a string"
		}
		switch {
		case strings.TrimSpace(s) == "":
			return nil, n, "the value of " + n + " is empty"
		case len(s) > maxPayload:
			return nil, n, fmt.Sprintf("the value of %s is %d bytes, over GSM's %d-byte limit", n, len(s), maxPayload)
		case !json.Valid([]byte(s)):
			return nil, n, "the value of " + n + " is not JSON (CI secrets files must be JSON); create this secret by hand"
		}
		return []byte(s), n, ""
	}
	return nil, "", "GITHUB_PROVIDED_SECRETS_JSON has no " + strings.Join(dedupe(names), " or ") + " (is the secret set in the repository and passed with toJson(secrets)?)"
}

// CreateResult is what CreateMissing did (or would do, in a dry run).
type CreateResult struct {
	DryRun bool `json:"dry_run"`
	// Created are the secrets created (in a dry run: that would be).
	Created []NewSecret `json:"created"`
	// Manual are leftover registrations that are reported, not created:
	// templated and derived values, non-JSON files, ambiguous duplicates,
	// conflicts and secrets with invalid labels.
	Manual []Skipped `json:"manual"`
	// Refused are registrations whose value is missing or not JSON, or
	// whose value is provided but whose file name cannot become a filename
	// label (no secret could serve it).
	Refused []Skipped `json:"refused"`
	// Failed are secrets the API refused to create.
	Failed []Failure `json:"failed"`
}

// NewSecret is one secret created for leftover registrations of one
// variable and file, possibly for several connectors (a multi-connector label).
type NewSecret struct {
	Secret       string            `json:"secret"`
	Labels       map[string]string `json:"labels"`
	Connectors   []string          `json:"connectors"`
	File         string            `json:"file"`
	Variable     string            `json:"variable"`
	GitHubSecret string            `json:"github_secret"`
	Lines        []int             `json:"lines"`
	Version      string            `json:"version,omitempty"`
}

// Skipped is a leftover registration CreateMissing did not create.
type Skipped struct {
	Line      int    `json:"line"`
	Connector string `json:"connector"`
	File      string `json:"file"`
	Variable  string `json:"variable"`
	Reason    string `json:"reason"`

	badFile bool // refused for its file name, not its value
}

// Summary is the refusal in a few words, for an error message that names
// every failed line: "line 3 (FOO_CREDS)", or with the file when its name
// is the problem.
func (s Skipped) Summary() string {
	if s.badFile {
		return fmt.Sprintf("line %d (%s: file %s cannot become a filename label)", s.Line, s.Variable, s.File)
	}
	return fmt.Sprintf("line %d (%s)", s.Line, s.Variable)
}

// Failure is a create call that failed.
type Failure struct {
	Secret   string `json:"secret"`
	Variable string `json:"variable"`
	Error    string `json:"error"`
}

// Incomplete reports whether anything was refused or failed: the run is a
// failure (exit 1) even if other secrets were created.
func (c *CreateResult) Incomplete() bool { return len(c.Refused) > 0 || len(c.Failed) > 0 }

// Entries are the created secrets as inventory entries, to rebuild the
// report without listing again. Empty in a dry run.
func (c *CreateResult) Entries() []labels.Entry {
	if c.DryRun {
		return nil
	}
	var out []labels.Entry
	for _, s := range c.Created {
		if e, ok := labels.Classify(s.Secret, s.Labels); ok {
			out = append(out, e)
		}
	}
	return out
}

// CreateMissing creates a GSM secret for the leftover verbatim registrations
// of the report, from the values in provided. Registrations of one GitHub
// secret and one file share a secret whose connector label lists their
// connectors. Names are SECRET_<CONNECTOR>[_<STEM>]__CREDS in capitals, with
// _2, _3... when taken. It is idempotent: a created secret serves its
// registrations, so the next report has nothing left to create. Values go
// to c only; never to the result or an error. It stops early only when ctx
// is cancelled, returning ctx's error with what was done so far.
func CreateMissing(ctx context.Context, r *Report, provided ProvidedSecrets, c SecretCreator, dryRun bool) (*CreateResult, error) {
	res := &CreateResult{DryRun: dryRun, Created: []NewSecret{}, Manual: []Skipped{}, Refused: []Skipped{}, Failed: []Failure{}}
	taken := newIndex(r.entries).ids

	// Variables registered for each target: two different ones are ambiguous.
	varsOf := map[labels.Target][]string{}
	for _, reg := range r.Registrations {
		t := labels.Target{Connector: reg.Connector, File: reg.File}
		varsOf[t] = union(varsOf[t], reg.Sources)
	}

	type group struct {
		secret, variable, file, stem string
		regs                         []Registration
	}
	var groups []*group
	byKey := map[[2]string]*group{}
	seen := map[labels.Target]bool{}
	for _, reg := range r.Registrations {
		if reg.Status != StatusLeftover {
			continue
		}
		skip := func(reason string) {
			res.Manual = append(res.Manual, Skipped{Line: reg.Line, Connector: reg.Connector, File: reg.File, Variable: reg.Variable, Reason: reason})
		}
		t := labels.Target{Connector: reg.Connector, File: reg.File}
		stem, stemErr := labels.StemOf(reg.File)
		switch {
		case reg.Kind == KindTemplated:
			skip("templated: the file is built from a sample with " + reg.Variable + "; GSM must hold the finished file, so build it and create the secret by hand")
			continue
		case reg.Kind == KindDerived:
			skip("derived in the script from " + strings.Join(reg.Sources, ", ") + viaText(reg.Via) + "; compute the value and create the secret by hand")
			continue
		case stemErr != nil && provided.has(reg.GitHubSecret, reg.Variable):
			// The value is there, but no secret can serve this file: the
			// run must not look done.
			res.Refused = append(res.Refused, Skipped{Line: reg.Line, Connector: reg.Connector, File: reg.File, Variable: reg.Variable,
				Reason:  fmt.Sprintf("cannot create a secret for %s: the file name cannot become a filename label (%v); rename the file (lower-case letters, digits, '_' and '-', ending in .json) in the connector and the script, or keep it out of Secret Manager", reg.File, stemErr),
				badFile: true})
			continue
		case reg.Note != "":
			skip(reg.Note)
			continue
		case stemErr != nil:
			skip("the file name cannot become a filename label: " + stemErr.Error())
			continue
		case len(varsOf[t]) > 1:
			skip("registered from several variables (" + strings.Join(varsOf[t], ", ") + "): decide which one GSM should hold and create it by hand")
			continue
		case seen[t]:
			continue // the same registration again: created once
		}
		seen[t] = true
		key := [2]string{reg.GitHubSecret, reg.File}
		g := byKey[key]
		if g == nil {
			g = &group{secret: reg.GitHubSecret, variable: reg.Variable, file: reg.File, stem: stem}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.regs = append(g.regs, reg)
	}

	for _, g := range groups {
		data, _, problem := provided.value(g.secret, g.variable)
		if problem != "" {
			for _, reg := range g.regs {
				res.Refused = append(res.Refused, Skipped{Line: reg.Line, Connector: reg.Connector, File: reg.File, Variable: reg.Variable, Reason: problem})
			}
			continue
		}
		for _, chunk := range chunkConnectors(g.regs) {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			conns := make([]string, len(chunk))
			lines := make([]int, len(chunk))
			for i, reg := range chunk {
				conns[i], lines[i] = reg.Connector, reg.Line
			}
			lbls := map[string]string{labels.ConnectorKey: strings.Join(conns, "_")}
			if g.stem != labels.DefaultStem {
				lbls[labels.FilenameKey] = g.stem
			}
			name := secretName(conns[0], g.stem, taken)
			taken[name] = true
			ns := NewSecret{Secret: name, Labels: lbls, Connectors: conns, File: g.file, Variable: g.variable, GitHubSecret: g.secret, Lines: lines}
			if !dryRun {
				v, err := c.CreateSecret(ctx, name, lbls, data)
				if err != nil {
					if ctx.Err() != nil {
						return res, ctx.Err()
					}
					res.Failed = append(res.Failed, Failure{Secret: name, Variable: g.variable, Error: err.Error()})
					continue
				}
				ns.Version = v
			}
			res.Created = append(res.Created, ns)
		}
		clear(data)
	}
	sort.SliceStable(res.Manual, func(i, j int) bool { return res.Manual[i].Line < res.Manual[j].Line })
	return res, nil
}

// chunkConnectors splits registrations so each connector label fits GSM's
// 63 characters.
func chunkConnectors(regs []Registration) [][]Registration {
	var out [][]Registration
	var cur []Registration
	n := 0
	for _, reg := range regs {
		add := len(reg.Connector)
		if len(cur) > 0 {
			add++
		}
		if len(cur) > 0 && n+add > 63 {
			out = append(out, cur)
			cur, n, add = nil, 0, len(reg.Connector)
		}
		cur = append(cur, reg)
		n += add
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// secretName is SECRET_<CONNECTOR>[_<STEM>]__CREDS, made unique against taken.
func secretName(connector, stem string, taken map[string]bool) string {
	base := "SECRET_" + strings.ToUpper(connector)
	if stem != labels.DefaultStem {
		base += "_" + strings.ToUpper(stem)
	}
	name := base + "__CREDS"
	for i := 2; taken[name] && i < 1_000_000; i++ {
		name = fmt.Sprintf("%s_%d__CREDS", base, i)
	}
	return name
}

func viaText(via []string) string {
	if len(via) == 0 {
		return ""
	}
	return " (through " + strings.Join(via, ", ") + ")"
}

func dedupe(l []string) []string {
	var out []string
	for _, s := range l {
		if s != "" {
			out = union(out, []string{s})
		}
	}
	return out
}
