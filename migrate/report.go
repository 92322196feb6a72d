package migrate

import (
	"fmt"
	"sort"
	"strings"

	"github.com/airbytehq/ci-secrets/labels"
)

// VarStatus says whether a variable's GitHub secret can go.
type VarStatus string

const (
	// VarLeftover: some registration of the variable is not served by GSM yet.
	VarLeftover VarStatus = "leftover"
	// VarLeftover also covers a variable whose registrations are all served
	// while its GitHub secret is still read elsewhere (StillReferenced).
	//
	// VarSafeToDelete: every registration is served and nothing else
	// (workflow, other script variable, unrecognized line) reads the secret.
	VarSafeToDelete VarStatus = "safe-to-delete"
)

// Variable is one environment variable the script reads secrets from.
type Variable struct {
	Name string `json:"name"`
	// GitHubSecret is the secret behind the variable: from a workflow env:
	// entry when one maps it (Mapped), else assumed to be the same name.
	GitHubSecret string `json:"github_secret"`
	// GitHubSecrets lists them all when workflows map the name to several.
	GitHubSecrets []string `json:"github_secrets,omitempty"`
	Mapped        bool     `json:"mapped"`
	Registrations int      `json:"registrations"`
	Served        int      `json:"served"`
	// Status is leftover or safe-to-delete, as docs/cli.md fixes it.
	Status VarStatus `json:"status"`
	// StillReferenced: every registration is served, but the GitHub secret
	// is still read elsewhere (OtherReferences), so it stays leftover.
	StillReferenced bool        `json:"still_referenced"`
	Lines           []int       `json:"lines"`
	OtherReferences []Reference `json:"other_references"`
	// ManualEdits are served registrations of the variable that --rewrite
	// cannot remove: until they are edited out by hand the script still
	// reads the variable, so it stays leftover.
	ManualEdits []ManualEdit `json:"manual_edits"`
	// NameAssumed: workflows were read and none passes the variable to the
	// script's step, so its GitHub secret name is a guess (the credential
	// may be stored under another name).
	NameAssumed bool `json:"name_assumed"`
	// Removed counts the registrations an earlier --rewrite removed (their
	// marker comments), RemovedServed those GSM still serves.
	Removed       int `json:"removed"`
	RemovedServed int `json:"removed_served"`
}

// ManualEdit is a served registration whose line must be removed by hand.
type ManualEdit struct {
	Line      int    `json:"line"`
	Connector string `json:"connector"`
	File      string `json:"file"`
	Reason    string `json:"reason"`
}

// Duplicate is a (connector, file) registered again: Line repeats FirstLine.
type Duplicate struct {
	Line          int    `json:"line"`
	Connector     string `json:"connector"`
	File          string `json:"file"`
	Variable      string `json:"variable"`
	FirstLine     int    `json:"first_line"`
	FirstVariable string `json:"first_variable"`
}

// Deletion is a GitHub secret that nothing needs any more.
type Deletion struct {
	Secret    string   `json:"secret"`
	Variables []string `json:"variables"`
	Command   string   `json:"command"`
	// Reason says why the line is apart from the plain list (the name is
	// assumed).
	Reason string `json:"reason,omitempty"`
	// PassedAt, once --rewrite removed every registration reading the
	// secret, are the env: entries still handing it to the script: remove
	// them with it.
	PassedAt []Reference `json:"passed_at,omitempty"`
	// ScriptReads: the script still has registration lines reading the
	// secret (served, so --rewrite removes them): delete it only after
	// the rewrite. False once only marker comments are left.
	ScriptReads bool `json:"script_reads"`
}

// Summary counts the report.
type Summary struct {
	Registrations int `json:"registrations"`
	Served        int `json:"served"`
	Leftover      int `json:"leftover"`
	Variables     int `json:"variables"`
	SafeToDelete  int `json:"safe_to_delete"`
	// NeedsManualEdit counts the served registrations --rewrite cannot remove.
	NeedsManualEdit int `json:"needs_manual_edit"`
	CommentedOut    int `json:"commented_out"`
	Duplicates      int `json:"duplicates"`
	Unrecognized    int `json:"unrecognized"`
	LiteralWrites   int `json:"literal_writes"`
	// UnusedGitHubSecrets counts Report.UnusedGitHubSecrets.
	UnusedGitHubSecrets int `json:"unused_github_secrets"`
	// NameAssumed counts the variables no workflow passes, and
	// AssumedToDelete their delete lines (Report.AssumedToDelete).
	NameAssumed     int `json:"name_assumed"`
	AssumedToDelete int `json:"assumed_to_delete"`
	// PossibleSources counts Report.PossibleSources.
	PossibleSources int `json:"possible_sources"`
}

// Report is the state of the migration. Its JSON form is the contract of
// `ci-secrets migrate --output json` (docs/cli.md): arrays are never null.
type Report struct {
	Script    string `json:"script"`
	Workflows string `json:"workflows,omitempty"`
	// WorkflowsDefault: Workflows was not given but found in the current
	// directory (.github/workflows) and read.
	WorkflowsDefault bool `json:"workflows_default,omitempty"`
	// WorkflowsChecked: workflows were read, so secret names are mapped and
	// other references found; without them "safe to delete" only means the
	// script no longer needs the secret.
	WorkflowsChecked bool `json:"workflows_checked"`
	// VersionsChecked: served means the serving secret has an enabled
	// version, not only the right labels.
	VersionsChecked bool           `json:"versions_checked"`
	Cost            *Cost          `json:"cost,omitempty"`
	Registrations   []Registration `json:"registrations"`
	// Migrated are the registrations an earlier --rewrite removed, checked
	// again: their GitHub secrets stay in the delete lists.
	Migrated      []Migrated     `json:"migrated"`
	Variables     []Variable     `json:"variables"`
	CommentedOut  []CommentedOut `json:"commented_out"`
	Duplicates    []Duplicate    `json:"duplicates"`
	Unrecognized  []Unrecognized `json:"unrecognized"`
	LiteralWrites []LiteralWrite `json:"literal_writes"`
	// Plumbing are function bodies reading variables the workflows pass
	// to the script for its own use (GCP_GSM_CREDENTIALS,
	// GITHUB_PROVIDED_SECRETS_JSON): understood, so not unrecognized.
	Plumbing []Unrecognized `json:"plumbing"`
	// ToDelete are the GitHub secrets safe to delete, with ready commands.
	ToDelete []Deletion `json:"github_secrets_to_delete"`
	// UnusedGitHubSecrets are the GitHub secrets the workflows still pass
	// to the script under env names it no longer reads (its registrations
	// were removed) and nothing else references: safe to delete too.
	UnusedGitHubSecrets []UnusedSecret `json:"unused_github_secrets"`
	// AssumedToDelete are the delete lines of variables no workflow passes:
	// the name is a guess, so they are never in the plain list.
	AssumedToDelete []Deletion `json:"github_secrets_to_delete_assumed"`
	// PossibleSources are the secrets the workflows pass to the script under
	// names it does not read, while it reads names nothing passes: most
	// likely the same credential under an old name, so not deletable.
	PossibleSources []UnusedSecret `json:"possible_sources"`
	Warnings        []string       `json:"warnings"`
	Summary         Summary        `json:"summary"`
	// Actions holds the results of the finishing actions that ran.
	Actions *Actions `json:"actions,omitempty"`

	script  *Script
	entries []labels.Entry
}

// Actions are the results of the finishing actions, each present only when run.
type Actions struct {
	Create  *CreateResult  `json:"create,omitempty"`
	Rewrite *RewriteResult `json:"rewrite,omitempty"`
	GitHub  *GitHubCheck   `json:"github,omitempty"`
}

// Options tune BuildReport.
type Options struct {
	// Workflows maps variables to GitHub secrets and finds other references;
	// nil assumes each secret is named like its variable and read nowhere else.
	Workflows *Workflows
	// WorkflowsDefault tells that Workflows were read from the default
	// folder (.github/workflows) without being asked for.
	WorkflowsDefault bool
	// Repo (OWNER/NAME) is added to the gh secret delete commands.
	Repo string
	// Enabled tells which serving secrets have an enabled version
	// (CheckVersions); nil trusts the labels alone.
	Enabled *Enabled
	// Skipped are the secrets the listing found with a connector label but
	// a name sync ignores (not SECRET_..._CREDS): a leftover they seem
	// meant for says why.
	Skipped []SkippedSecret
	// Cost is what reading GSM cost, for the summary's cost line.
	Cost *Cost
}

// SkippedSecret is a listed secret that sync ignores for its name.
type SkippedSecret struct {
	Secret string            `json:"secret"`
	Labels map[string]string `json:"labels"`
}

// Cost is what the report cost in Secret Manager requests: one listing and
// the version checks, never a payload.
type Cost struct {
	ReadRequests   int64 `json:"read_requests"`
	AccessRequests int64 `json:"access_requests"`
	WriteRequests  int64 `json:"write_requests"`
	// VersionChecks counts the serving secrets whose versions were checked.
	VersionChecks int `json:"version_checks"`
}

// DefaultWorkflows is the folder read when none is given and it exists in
// the current directory.
const DefaultWorkflows = ".github/workflows"

// NoWorkflowsWarning is the warning of a report built without workflows
// that still lists secrets as safe to delete.
const NoWorkflowsWarning = "no workflows were read: GitHub secrets are assumed to be named like the script's variables, and a workflow may still read them; pass --workflows DIR (from the repository root, " + DefaultWorkflows + " is read by default) before deleting"

// BuildReport matches the script's registrations against the GSM inventory
// (the project's CI secrets, as listed once) and the workflows.
//
// A registration (C, F) is served when exactly one secret without a label
// problem names C in its connector label and has F as its file; two or more
// such secrets are a conflict that sync refuses, so it stays leftover.
func BuildReport(s *Script, inventory []labels.Entry, opts Options) *Report {
	r := &Report{
		Script: s.Name, Registrations: make([]Registration, len(s.Registrations)),
		Variables: []Variable{}, CommentedOut: s.CommentedOut, Duplicates: []Duplicate{},
		Unrecognized: s.Unrecognized, LiteralWrites: s.LiteralWrites,
		ToDelete: []Deletion{}, UnusedGitHubSecrets: []UnusedSecret{}, Warnings: []string{},
		AssumedToDelete: []Deletion{}, PossibleSources: []UnusedSecret{}, Plumbing: []Unrecognized{}, Migrated: make([]Migrated, len(s.Migrated)),
		script: s, entries: inventory,
	}
	wf := opts.Workflows
	if wf != nil {
		r.Workflows, r.WorkflowsChecked, r.WorkflowsDefault = wf.Dir, true, opts.WorkflowsDefault
		r.Warnings = append(r.Warnings, wf.Warnings...)
	}
	r.Warnings = append(r.Warnings, skippedWarnings(opts.Skipped)...)
	idx := newIndex(inventory)
	steps := wf.findScriptSteps(s.Name)
	wf = wf.withRunInputs(steps)
	r.Unrecognized, r.Plumbing = splitPlumbing(s.Unrecognized, wf, steps)
	if wf != nil && !steps.found() && (len(wf.EnvMappings) > 0 || len(wf.References) > 0) {
		r.Warnings = append(r.Warnings, noScriptStepWarning(steps.base))
	}

	copy(r.Registrations, s.Registrations)
	r.VersionsChecked = opts.Enabled != nil
	r.Cost = opts.Cost
	for i := range r.Registrations {
		reg := &r.Registrations[i]
		if reg.Kind == KindOutside {
			reg.Status, reg.Note = StatusLeftover, outsideNote
			continue
		}
		reg.Status, reg.GSMSecret, reg.Note = idx.status(reg.Connector, reg.File)
		if reg.Status == StatusServed && !opts.Enabled.Has(reg.GSMSecret) {
			reg.Status, reg.Note = StatusLeftover, reg.GSMSecret+" serves this file but has no enabled version (every version is disabled or destroyed): sync would fail; enable a version or add one"
			reg.GSMSecret = ""
		}
		if reg.Status == StatusLeftover && reg.Note == "" {
			reg.Note = skippedNote(opts.Skipped, reg.Connector, reg.File)
		}
	}
	copy(r.Migrated, s.Migrated)
	for i := range r.Migrated {
		m := &r.Migrated[i]
		st, sec, note := idx.status(m.Connector, m.File)
		switch {
		case st != StatusServed:
			m.Status, m.Note = StatusLeftover, "removed by --rewrite, but GSM no longer serves it"
			if note != "" {
				m.Note += ": " + note
			}
			m.Note += "; fix the secret, or restore the line and keep the GitHub secret"
		case !opts.Enabled.Has(sec):
			m.Status, m.Note = StatusLeftover, "removed by --rewrite, but "+sec+" has no enabled version any more: enable or add one before deleting the GitHub secret"
		default:
			m.Status = StatusServed
		}
		if m.Status == StatusLeftover {
			r.Warnings = append(r.Warnings, fmt.Sprintf("line %d: %s/%s was %s", m.Line, m.Connector, m.File, m.Note))
		}
	}
	// The same decision as Rewrite's: a served line it cannot remove keeps
	// its variables leftover.
	for i, why := range manualEdits(s, r.Registrations) {
		r.Registrations[i].ManualEdit = why
		if why != "" {
			r.Summary.NeedsManualEdit++
		}
	}
	first := map[labels.Target]int{}
	for i := range r.Registrations {
		reg := &r.Registrations[i]
		reg.GitHubSecret = githubSecrets(wf, steps, reg.Variable)[0]
		r.Summary.Registrations++
		if reg.Status == StatusServed {
			r.Summary.Served++
		} else {
			r.Summary.Leftover++
		}
		t := labels.Target{Connector: reg.Connector, File: reg.File}
		if reg.Kind == KindOutside {
			t = labels.Target{File: reg.Path}
		}
		if j, dup := first[t]; dup {
			f := r.Registrations[j]
			r.Duplicates = append(r.Duplicates, Duplicate{Line: reg.Line, Connector: reg.Connector, File: reg.File, Variable: reg.Variable, FirstLine: f.Line, FirstVariable: f.Variable})
		} else {
			first[t] = i
		}
	}

	r.Variables = buildVariables(s, r.Registrations, r.Migrated, wf, steps)
	var assumed []string
	if wf != nil {
		all := wf.providesAll(steps)
		for i := range r.Variables {
			v := &r.Variables[i]
			if !v.Mapped && !all {
				v.NameAssumed = true
				assumed = append(assumed, v.Name)
				r.Warnings = append(r.Warnings, fmt.Sprintf("the script reads %s, which no workflow passes: the credential may be stored under another name; find the GitHub secret that holds it before deleting any", v.Name))
			}
		}
	}
	r.Summary.NameAssumed = len(assumed)
	toDelete, assumedDelete := map[string][]string{}, map[string][]string{}
	for _, v := range r.Variables {
		if v.Status != VarSafeToDelete {
			continue
		}
		r.Summary.SafeToDelete++
		for _, sec := range v.secrets() {
			if v.NameAssumed {
				assumedDelete[sec] = append(assumedDelete[sec], v.Name)
			} else {
				toDelete[sec] = append(toDelete[sec], v.Name)
			}
		}
	}
	r.ToDelete = deletions(toDelete, opts.Repo, "")
	addPassedAt(r.ToDelete, r.Variables, wf, steps)
	r.AssumedToDelete = deletions(assumedDelete, opts.Repo, "name assumed: no workflow passes ")
	markScriptReads(r.ToDelete, r.Variables)
	markScriptReads(r.AssumedToDelete, r.Variables)
	r.Summary.AssumedToDelete = len(r.AssumedToDelete)
	if wf == nil && len(r.ToDelete) > 0 {
		r.Warnings = append(r.Warnings, NoWorkflowsWarning)
	}
	unused, warnings := findUnused(s, r.Variables, wf, opts.Repo)
	if len(assumed) > 0 {
		// A name the script reads and nothing passes, and a secret passed
		// under a name it does not read: likely one credential renamed.
		for _, u := range unused {
			u.Command, u.PossibleSourceOf = "", assumed
			r.PossibleSources = append(r.PossibleSources, u)
		}
		unused = []UnusedSecret{}
	}
	r.UnusedGitHubSecrets = unused
	r.Warnings = append(r.Warnings, warnings...)
	r.Summary.UnusedGitHubSecrets = len(unused)
	r.Summary.PossibleSources = len(r.PossibleSources)
	if len(r.Unrecognized) > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d statement(s) touch secret-like variables in ways not understood: check them by hand (unrecognized)", len(r.Unrecognized)))
	}
	if w := sourcedWarning(s, r); w != "" {
		r.Warnings = append(r.Warnings, w)
	}
	r.Summary.Variables = len(r.Variables)
	r.Summary.CommentedOut = len(r.CommentedOut)
	r.Summary.Duplicates = len(r.Duplicates)
	r.Summary.Unrecognized = len(r.Unrecognized)
	r.Summary.LiteralWrites = len(r.LiteralWrites)
	return r
}

// sourcedWarning warns, when the script sources other files (which may read
// any variable) and something is listed to delete, which environment names
// those files would have to read for a deletion to break them.
func sourcedWarning(s *Script, r *Report) string {
	_, _, sources := scriptWords(s)
	if len(sources) == 0 {
		return ""
	}
	var envs []string
	deletable := map[string]bool{}
	for _, d := range append(append([]Deletion{}, r.ToDelete...), r.AssumedToDelete...) {
		deletable[d.Secret] = true
	}
	for _, v := range r.Variables {
		for _, sec := range v.secrets() {
			if deletable[sec] {
				envs = append(envs, v.Name)
			}
		}
	}
	for _, u := range r.UnusedGitHubSecrets {
		envs = append(envs, u.Env...)
	}
	if len(envs) == 0 {
		return ""
	}
	what := "it does"
	if len(sources) > 1 {
		what = "they do"
	}
	return fmt.Sprintf("%s sources %s: check that %s not read %s (the environment names the secrets listed to delete reach the script as) before deleting them",
		s.Name, strings.Join(sources, ", "), what, dollarList(sortedUnique(envs)))
}

// splitPlumbing takes out of the unrecognized statements the function
// bodies that read only variables the workflows hand the script's step:
// the script's own inputs, not a use to check by hand.
func splitPlumbing(all []Unrecognized, wf *Workflows, steps *scriptSteps) (unrec, plumbing []Unrecognized) {
	unrec, plumbing = []Unrecognized{}, []Unrecognized{}
	if wf == nil || !steps.found() {
		return append(unrec, all...), plumbing
	}
	passed := map[string]bool{}
	for _, m := range wf.EnvMappings {
		if steps.reaches(m.File, m.scope) {
			passed[m.Env] = true
		}
	}
	for _, a := range wf.AllSecrets {
		if a.all == allInEnv && steps.reaches(a.File, a.scope) {
			if k := strings.Split(a.Context, "."); len(k) > 0 {
				passed[k[len(k)-1]] = true // GITHUB_PROVIDED_SECRETS_JSON: ${{ toJson(secrets) }}
			}
		}
	}
	for _, u := range all {
		own := u.plumbing && len(u.Variables) > 0
		for _, v := range u.Variables {
			own = own && passed[v]
		}
		if own {
			plumbing = append(plumbing, u)
		} else {
			unrec = append(unrec, u)
		}
	}
	return unrec, plumbing
}

// addPassedAt lists, for the deletions whose variables the script no longer
// reads (only markers are left), the env: entries that still pass them to
// the script's steps.
func addPassedAt(ds []Deletion, vars []Variable, wf *Workflows, steps *scriptSteps) {
	if wf == nil {
		return
	}
	gone := map[string]bool{}
	for _, v := range vars {
		if v.Registrations == 0 && v.Removed > 0 {
			gone[v.Name] = true
		}
	}
	for i := range ds {
		d := &ds[i]
		for _, m := range wf.EnvMappings {
			if m.Secret == d.Secret && gone[m.Env] && steps.reaches(m.File, m.scope) {
				d.PassedAt = append(d.PassedAt, Reference{File: m.File, Line: m.Line, Context: m.Context, Secret: m.Secret})
			}
		}
	}
}

// markScriptReads sets ScriptReads on the deletions whose variables the
// script still reads through registration lines.
func markScriptReads(ds []Deletion, vars []Variable) {
	reads := map[string]bool{}
	for _, v := range vars {
		reads[v.Name] = v.Registrations > 0
	}
	for i := range ds {
		for _, name := range ds[i].Variables {
			ds[i].ScriptReads = ds[i].ScriptReads || reads[name]
		}
	}
}

// deletions turns secret -> variables into sorted delete lines; reason,
// when set, is followed by the variables' names.
func deletions(m map[string][]string, repo, reason string) []Deletion {
	out := []Deletion{}
	for sec, vars := range m {
		cmd := "gh secret delete " + sec
		if repo != "" {
			cmd += " --repo " + repo
		}
		d := Deletion{Secret: sec, Variables: vars, Command: cmd}
		if reason != "" {
			d.Reason = reason + strings.Join(vars, ", ")
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Secret < out[j].Secret })
	return out
}

// Leftover reports whether any registration is not served yet.
func (r *Report) Leftover() bool { return r.Summary.Leftover > 0 }

func (v Variable) secrets() []string {
	if len(v.GitHubSecrets) > 0 {
		return v.GitHubSecrets
	}
	return []string{v.GitHubSecret}
}

// githubSecrets is never empty: the secrets the workflows pass to the
// script's step as env, or the name itself.
func githubSecrets(wf *Workflows, steps *scriptSteps, env string) []string {
	if s := wf.passedToScript(steps, env); len(s) > 0 {
		return s
	}
	return []string{env}
}

func buildVariables(s *Script, regs []Registration, migrated []Migrated, wf *Workflows, steps *scriptSteps) []Variable {
	byName := map[string]*Variable{}
	var names []string
	get := func(src string) *Variable {
		v := byName[src]
		if v == nil {
			secs := githubSecrets(wf, steps, src)
			v = &Variable{Name: src, GitHubSecret: secs[0], Mapped: len(wf.passedToScript(steps, src)) > 0, Lines: []int{}, OtherReferences: []Reference{}, ManualEdits: []ManualEdit{}}
			if len(secs) > 1 {
				v.GitHubSecrets = secs
			}
			byName[src] = v
			names = append(names, src)
		}
		return v
	}
	for _, m := range migrated {
		for _, src := range m.Variables {
			v := get(src)
			v.Removed++
			v.Lines = append(v.Lines, m.Line) // the marker's line
			if m.Status == StatusServed {
				v.RemovedServed++
			}
		}
	}
	for _, reg := range regs {
		for _, src := range reg.Sources {
			v := get(src)
			v.Registrations++
			if reg.Status == StatusServed {
				v.Served++
			}
			if reg.ManualEdit != "" {
				v.ManualEdits = append(v.ManualEdits, ManualEdit{Line: reg.Line, Connector: reg.Connector, File: reg.File, Reason: reg.ManualEdit})
			}
			if reg.Status == StatusServed && reg.ManualEdit == "" {
				// --rewrite removes the registration but keeps the
				// assignments it went through, which still read the
				// secret: the same verdict before and after the rewrite
				// needs them edited out too.
				for _, via := range reg.Via {
					if line, ok := s.assigned[via]; ok {
						v.ManualEdits = append(v.ManualEdits, ManualEdit{Line: line, Connector: reg.Connector, File: reg.File,
							Reason: "the assignment of " + via + " reads " + src + " and --rewrite keeps assignments: remove it by hand once line " + itoa(reg.Line) + " is gone"})
					}
				}
			}
			if n := len(v.Lines); n == 0 || v.Lines[n-1] != reg.Line {
				v.Lines = append(v.Lines, reg.Line)
			}
		}
	}
	// Environment names the script reads: env: entries for them feed the
	// script and are not "other" references.
	scriptVars := map[string]bool{}
	for n := range byName {
		scriptVars[n] = true
	}
	unrecOf := map[string][]Unrecognized{} // indexed, so a hostile script costs linear time
	for _, u := range s.Unrecognized {
		for _, n := range u.Variables {
			scriptVars[n] = true
			unrecOf[n] = append(unrecOf[n], u)
		}
	}
	// Index what each GitHub secret is read by.
	varsOfSecret := map[string][]string{}
	for _, name := range names {
		for _, sec := range byName[name].secrets() {
			varsOfSecret[sec] = append(varsOfSecret[sec], name)
		}
	}
	refsOf := wf.readersOf(steps, scriptVars)
	everyone := wf.allReaders(steps)
	for _, name := range names {
		v := byName[name]
		for _, sec := range v.secrets() {
			v.OtherReferences = append(v.OtherReferences, refsOf[sec]...)
			for _, a := range everyone {
				v.OtherReferences = append(v.OtherReferences, Reference{File: a.File, Line: a.Line, Secret: sec,
					Context: strings.Trim(a.Context, "()") + " passes every secret at once, and what it runs may read " + sec})
			}
			for _, other := range varsOfSecret[sec] {
				if o := byName[other]; other != name && o.Served < o.Registrations {
					v.OtherReferences = append(v.OtherReferences, Reference{File: s.Name, Line: o.Lines[0], Context: "script variable " + other + " also comes from " + sec + " and is leftover", Secret: sec})
				} else if other != name && len(o.ManualEdits) > 0 {
					v.OtherReferences = append(v.OtherReferences, Reference{File: s.Name, Line: o.ManualEdits[0].Line, Context: "script variable " + other + " also comes from " + sec + " and its line needs a manual edit", Secret: sec})
				}
			}
		}
		for _, u := range unrecOf[name] {
			v.OtherReferences = append(v.OtherReferences, Reference{File: s.Name, Line: u.Line, Context: "unrecognized statement: " + u.Reason, Secret: v.GitHubSecret})
		}
		switch {
		case v.Served < v.Registrations, v.RemovedServed < v.Removed, len(v.ManualEdits) > 0:
			v.Status = VarLeftover
		case len(v.OtherReferences) > 0:
			v.Status, v.StillReferenced = VarLeftover, true
		default:
			v.Status = VarSafeToDelete
		}
	}
	sort.Strings(names)
	out := make([]Variable, len(names))
	for i, n := range names {
		sort.Ints(byName[n].Lines)
		out[i] = *byName[n]
	}
	return out
}

// index answers which secret serves a (connector, file).
type index struct {
	serving map[labels.Target][]string
	invalid []labels.Entry
	ids     map[string]bool
}

func newIndex(entries []labels.Entry) *index {
	x := &index{serving: map[labels.Target][]string{}, ids: map[string]bool{}}
	for _, e := range entries {
		x.ids[e.Secret] = true
		if e.Problem != nil {
			x.invalid = append(x.invalid, e)
			continue
		}
		for _, t := range e.Targets() {
			x.serving[t] = append(x.serving[t], e.Secret)
		}
	}
	for _, s := range x.serving {
		sort.Strings(s)
	}
	return x
}

func (x *index) status(connector, file string) (Status, string, string) {
	secs := x.serving[labels.Target{Connector: connector, File: file}]
	switch {
	case len(secs) == 1:
		return StatusServed, secs[0], ""
	case len(secs) > 1:
		return StatusLeftover, "", fmt.Sprintf("claimed by %d secrets (%s): sync writes neither; remove or relabel all but one", len(secs), strings.Join(secs, ", "))
	}
	if e, ok := x.invalidFor(connector, file); ok {
		return StatusLeftover, "", e.Secret + " names this connector but its labels are invalid: " + strings.ReplaceAll(e.Problem.Error(), "\n", "; ")
	}
	if !strings.HasSuffix(file, labels.FileExt) {
		return StatusLeftover, "", "GSM secrets serve only .json files: " + file + " needs another home"
	}
	return StatusLeftover, "", ""
}

// invalidFor finds a secret with label problems that seems meant for
// (connector, file): its raw connector label names the connector.
func (x *index) invalidFor(connector, file string) (labels.Entry, bool) {
	for _, e := range x.invalid {
		raw, ok := e.Labels[labels.ConnectorKey]
		if !ok {
			continue
		}
		for _, part := range strings.Split(raw, "_") {
			if part == connector && (e.File == "" || e.File == file) {
				return e, true
			}
		}
	}
	return labels.Entry{}, false
}
