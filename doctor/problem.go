package doctor

import (
	"sort"
)

// Severity ranks a problem: an error breaks a connector's tests (exit 1), a
// warning is a risk or a leftover, info is worth knowing.
type Severity string

// Severities, most serious first.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Info    Severity = "info"
)

func (s Severity) rank() int {
	switch s {
	case Error:
		return 0
	case Warning:
		return 1
	}
	return 2
}

// Kind names what a problem is about; stable, for scripts to branch on.
type Kind string

// Problem kinds.
const (
	// Store.
	KindInvalidLabel     Kind = "invalid-label"
	KindNoConnectorLabel Kind = "no-connector-label"
	KindConflict         Kind = "conflicting-secrets"
	KindNameMismatch     Kind = "name-not-convention"
	KindNameSuggests     Kind = "name-suggests-other-connector"
	KindNoEnabled        Kind = "no-enabled-version"
	KindSeveralEnabled   Kind = "several-enabled-versions"
	KindDisabledLatest   Kind = "disabled-latest-version"
	KindVersionsUnread   Kind = "versions-unreadable"
	KindOrphan           Kind = "orphan-secret"
	// Repository.
	KindMissingFile   Kind = "missing-secret-file"
	KindMissingSecret Kind = "missing-secret"
	KindUnreferenced  Kind = "unreferenced-secret-file"
	KindBadTestConfig Kind = "unreadable-test-config"
	KindNotIgnored    Kind = "secrets-not-ignored"
	KindTracked       Kind = "tracked-secret-file"
	KindFileMode      Kind = "file-mode"
	KindFolderMode    Kind = "folder-mode"
	KindUnsafeEntry   Kind = "unsafe-secrets-entry"
	KindUnpushed      Kind = "unpushed-update"
	KindBadUpdate     Kind = "unpushable-update"
	// Drift.
	KindDrift         Kind = "drift"
	KindDriftFormat   Kind = "drift-format-only"
	KindDriftNotJSON  Kind = "drift-not-json"
	KindDriftUnread   Kind = "drift-unreadable"
	KindDriftUnserved Kind = "drift-no-secret"
)

// Kinds lists every kind a report can hold, for tests and documentation.
func Kinds() []Kind {
	return []Kind{
		KindInvalidLabel, KindNoConnectorLabel, KindConflict, KindNameMismatch, KindNameSuggests,
		KindNoEnabled, KindSeveralEnabled, KindDisabledLatest, KindVersionsUnread, KindOrphan,
		KindMissingFile, KindMissingSecret, KindUnreferenced, KindBadTestConfig, KindNotIgnored,
		KindTracked, KindFileMode, KindFolderMode, KindUnsafeEntry, KindUnpushed, KindBadUpdate,
		KindDrift, KindDriftFormat, KindDriftNotJSON, KindDriftUnread, KindDriftUnserved,
	}
}

// Problem is one finding with what to do about it. Every field is printable
// text: untrusted parts were escaped when the problem was made.
type Problem struct {
	Severity  Severity `json:"severity"`
	Kind      Kind     `json:"kind"`
	Secret    string   `json:"secret"`
	Connector string   `json:"connector"`
	File      string   `json:"file"`
	Message   string   `json:"message"`
	Fix       string   `json:"fix"`
}

// Skipped is a check that could not run, and why.
type Skipped struct {
	Check  string `json:"check"`
	Reason string `json:"reason"`
}

// Summary counts problems by severity.
type Summary struct {
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
	Info     int `json:"info"`
}

// Summarize counts problems by severity.
func Summarize(ps []Problem) Summary {
	var s Summary
	for _, p := range ps {
		switch p.Severity {
		case Error:
			s.Errors++
		case Warning:
			s.Warnings++
		default:
			s.Info++
		}
	}
	return s
}

// Sort orders problems for stable output: by severity, then kind,
// connector, secret, file and message.
func Sort(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Severity != b.Severity {
			return a.Severity.rank() < b.Severity.rank()
		}
		for _, pair := range [][2]string{
			{string(a.Kind), string(b.Kind)}, {a.Connector, b.Connector},
			{a.Secret, b.Secret}, {a.File, b.File}, {a.Message, b.Message},
		} {
			if pair[0] != pair[1] {
				return pair[0] < pair[1]
			}
		}
		return false
	})
}

// problem builds a Problem, escaping every field.
func problem(sev Severity, kind Kind, secret, connector, file, message, fix string) Problem {
	return Problem{
		Severity: sev, Kind: kind,
		Secret: Printable(secret), Connector: Printable(connector), File: Printable(file),
		Message: Printable(message), Fix: Printable(fix),
	}
}
