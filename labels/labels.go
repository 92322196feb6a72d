// Package labels decides which Secret Manager secrets belong to which connector
// and what file each becomes. It is the one place that decides what text from a
// secret's name or labels may reach a file path.
//
// Labels are untrusted input: anyone with edit rights on a secret can set them,
// and an emulator or a future API may allow more than GSM's charset. Everything
// here is a pure function over strings; the package never touches the file
// system, the network or a payload.
package labels

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Label keys the CI convention relies on.
const (
	ConnectorKey = "connector"
	FilenameKey  = "filename"
	// DefaultStem is the file stem of a secret without a filename label.
	DefaultStem = "config"
	// FileExt is appended to every stem: labels cannot hold a dot.
	FileExt = ".json"
	// maxToken is GSM's limit for a label value.
	maxToken = 63
)

// secretName is the CI naming convention. Older migration tooling produced
// names ending in "__CREDS" with a file part before it, which this also accepts;
// the connector is never derived from the name.
var secretName = regexp.MustCompile(`^SECRET_[A-Z0-9_-]+_CREDS$`)

// ListFilter is the server-side ListSecrets filter that narrows a project to
// candidate CI secrets in a single request; names are matched exactly client side.
const ListFilter = "name:SECRET_"

// Errors callers may branch on.
var (
	ErrNoConnectorLabel = errors.New("no connector label")
	ErrInvalidLabel     = errors.New("invalid label")
)

// IsSecretName reports whether a secret ID follows the SECRET_<...>_CREDS convention.
func IsSecretName(id string) bool { return secretName.MatchString(id) }

// isTokenChar is the charset allowed into a path: GSM's label charset without
// international letters, which could be look-alikes of path characters.
func isTokenChar(r rune, allowUnderscore bool) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
		return true
	case r == '_':
		return allowUnderscore
	}
	return false
}

// quote renders untrusted text for an error message: Go-quoted with every
// non-ASCII rune escaped, so control characters and look-alikes are visible
// ("\u0441onfig", not a "сonfig" that reads like "config"), and cut so a huge
// label cannot flood a log.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return fmt.Sprintf("%+q", s)
}

func checkToken(what, s string, allowUnderscore bool) error {
	if s == "" {
		return fmt.Errorf("%w: %s is empty", ErrInvalidLabel, what)
	}
	if len(s) > maxToken {
		return fmt.Errorf("%w: %s %s is longer than %d characters", ErrInvalidLabel, what, quote(s), maxToken)
	}
	for _, r := range s {
		if !isTokenChar(r, allowUnderscore) {
			allowed := "a-z, 0-9 and -"
			if allowUnderscore {
				allowed = "a-z, 0-9, _ and -"
			}
			return fmt.Errorf("%w: %s %s may only hold %s", ErrInvalidLabel, what, quote(s), allowed)
		}
	}
	return nil
}

// ValidateConnector checks one connector name (e.g. "source-s3"): lowercase
// letters, digits and '-', starting with a letter or digit, at most 63 characters.
func ValidateConnector(name string) error {
	if err := checkToken("connector name", name, false); err != nil {
		return err
	}
	if name[0] == '-' || name[len(name)-1] == '-' {
		return fmt.Errorf("%w: connector name %s must not start or end with '-'", ErrInvalidLabel, quote(name))
	}
	return nil
}

// ParseConnectors splits a connector label ("source-mysql_destination-mysql")
// into its connector names, each validated. Empty parts (a leading, trailing or
// doubled '_') are errors rather than being skipped, since they show a label
// that was written wrong.
func ParseConnectors(value string) ([]string, error) {
	if value == "" {
		return nil, fmt.Errorf("%w: connector label is empty", ErrInvalidLabel)
	}
	if len(value) > maxToken {
		return nil, fmt.Errorf("%w: connector label %s is longer than %d characters", ErrInvalidLabel, quote(value), maxToken)
	}
	parts := strings.Split(value, "_")
	seen := make(map[string]bool, len(parts))
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("%w: connector label %s has an empty part (a leading, trailing or doubled '_')", ErrInvalidLabel, quote(value))
		}
		if err := ValidateConnector(p); err != nil {
			return nil, fmt.Errorf("connector label %s: %w", quote(value), err)
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// FileName turns a filename label into the file a secret is written to. An
// absent label (ok=false) means "config.json".
func FileName(stem string, present bool) (string, error) {
	if !present {
		return DefaultStem + FileExt, nil
	}
	if err := checkToken("filename label", stem, true); err != nil {
		return "", err
	}
	return stem + FileExt, nil
}

// StemOf is the inverse of FileName: "ssh_config.json" -> "ssh_config". It
// validates the result as a filename label.
func StemOf(file string) (string, error) {
	stem, ok := strings.CutSuffix(file, FileExt)
	if !ok {
		return "", fmt.Errorf("%w: file %s does not end in %s", ErrInvalidLabel, quote(file), FileExt)
	}
	if err := checkToken("file name", stem, true); err != nil {
		return "", err
	}
	return stem, nil
}

// NormalizeConnector accepts the spellings users type for a connector
// ("source-s3", "connectors/source-s3", "bases/base-normalization",
// "airbyte-integrations/connectors/source-s3", with or without a trailing '/')
// and returns the bare, validated connector name.
func NormalizeConnector(arg string) (string, error) {
	s := strings.TrimSuffix(strings.TrimPrefix(arg, "./"), "/")
	s = strings.TrimPrefix(s, "airbyte-integrations/")
	if rest, ok := strings.CutPrefix(s, "connectors/"); ok {
		s = rest
	} else if rest, ok := strings.CutPrefix(s, "bases/"); ok {
		s = rest
	}
	if err := ValidateConnector(s); err != nil {
		return "", fmt.Errorf("connector argument %s is not a connector name like source-s3 or connectors/source-s3: %w", quote(arg), err)
	}
	return s, nil
}

// Target is one place a secret is written to.
type Target struct {
	Connector string
	File      string // with ".json"
}

func (t Target) String() string { return t.Connector + "/" + t.File }

// Entry is what a CI secret means, from its ID and labels alone.
type Entry struct {
	Secret     string            // the secret ID, e.g. SECRET_SOURCE-S3_CREDS
	Connectors []string          // parsed from the connector label; nil if invalid
	File       string            // e.g. config.json; empty if the filename label is invalid
	Labels     map[string]string // all labels as the server sent them
	Problem    error             // nil when the secret can be synced
}

// Targets lists the (connector, file) pairs the entry serves; none when it has a problem.
func (e Entry) Targets() []Target {
	if e.Problem != nil {
		return nil
	}
	out := make([]Target, len(e.Connectors))
	for i, c := range e.Connectors {
		out[i] = Target{Connector: c, File: e.File}
	}
	return out
}

// Serves reports whether the entry has no problem and names the connector.
func (e Entry) Serves(connector string) bool {
	if e.Problem != nil {
		return false
	}
	for _, c := range e.Connectors {
		if c == connector {
			return true
		}
	}
	return false
}

// Classify interprets one secret's ID and labels. A secret whose name does not
// follow the convention is reported with ok=false and should be ignored.
func Classify(id string, lbls map[string]string) (e Entry, ok bool) {
	if !IsSecretName(id) {
		return Entry{}, false
	}
	e = Entry{Secret: id, Labels: lbls}
	var problems []error
	if v, present := lbls[ConnectorKey]; !present {
		problems = append(problems, ErrNoConnectorLabel)
	} else if cs, err := ParseConnectors(v); err != nil {
		problems = append(problems, err)
	} else {
		e.Connectors = cs
	}
	stem, present := lbls[FilenameKey]
	if f, err := FileName(stem, present); err != nil {
		problems = append(problems, err)
	} else {
		e.File = f
	}
	e.Problem = errors.Join(problems...)
	return e, true
}

// Conflict is two or more secrets claiming the same (connector, file).
type Conflict struct {
	Target  Target
	Secrets []string // sorted
}

// Plan is the outcome of matching CI secrets against the connectors a run asked for.
type Plan struct {
	// Writes maps each target to the one secret that serves it, sorted by target.
	Writes []Write
	// Conflicts are targets claimed by several secrets; none of them is written.
	Conflicts []Conflict
	// Invalid are secrets naming a wanted connector (or any, with all) that
	// cannot be synced because of their labels.
	Invalid []Entry
	// Missing are asked-for connectors that no secret serves.
	Missing []string
	// Unlabelled are CI secrets with no connector label at all, reported
	// only for a run over all connectors: they belong to none.
	Unlabelled []Entry
}

// Write is one secret to read and the file it becomes.
type Write struct {
	Target Target
	Secret string
}

// PlanFor matches entries against the wanted connectors (all connectors when
// all is true). A secret with invalid labels is reported when its raw connector
// label mentions a wanted connector, so a typo in a filename label is not
// silently skipped. Results are sorted so output is stable.
func PlanFor(entries []Entry, wanted []string, all bool) Plan {
	want := make(map[string]bool, len(wanted))
	for _, w := range wanted {
		want[w] = true
	}
	claims := map[Target][]string{}
	served := map[string]bool{}
	var p Plan
	for _, e := range entries {
		if e.Problem != nil {
			if _, has := e.Labels[ConnectorKey]; !has {
				if all {
					p.Unlabelled = append(p.Unlabelled, e)
				}
				continue
			}
			if all || mentionsAny(e.Labels[ConnectorKey], want) {
				p.Invalid = append(p.Invalid, e)
			}
			continue
		}
		for _, t := range e.Targets() {
			if all || want[t.Connector] {
				claims[t] = append(claims[t], e.Secret)
				served[t.Connector] = true
			}
		}
	}
	for t, secrets := range claims {
		if len(secrets) > 1 {
			sort.Strings(secrets)
			p.Conflicts = append(p.Conflicts, Conflict{Target: t, Secrets: secrets})
			continue
		}
		p.Writes = append(p.Writes, Write{Target: t, Secret: secrets[0]})
	}
	for _, w := range wanted {
		if !served[w] {
			p.Missing = append(p.Missing, w)
		}
	}
	sort.Slice(p.Writes, func(i, j int) bool { return lessTarget(p.Writes[i].Target, p.Writes[j].Target) })
	sort.Slice(p.Conflicts, func(i, j int) bool { return lessTarget(p.Conflicts[i].Target, p.Conflicts[j].Target) })
	sort.Slice(p.Invalid, func(i, j int) bool { return p.Invalid[i].Secret < p.Invalid[j].Secret })
	sort.Strings(p.Missing)
	return p
}

func lessTarget(a, b Target) bool {
	if a.Connector != b.Connector {
		return a.Connector < b.Connector
	}
	return a.File < b.File
}

// mentionsAny is a lenient match of a raw (possibly invalid) connector label
// against wanted connectors, used only to decide what problems to report.
func mentionsAny(raw string, want map[string]bool) bool {
	for _, part := range strings.Split(raw, "_") {
		if want[part] {
			return true
		}
	}
	return false
}

// Error describes the conflict as a sentence naming every secret involved.
func (c Conflict) Error() string {
	return fmt.Sprintf("%s is claimed by %d secrets (%s); none of them was written: remove or relabel all but one",
		c.Target, len(c.Secrets), strings.Join(c.Secrets, ", "))
}
