package migrate

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// scriptSteps knows which workflow steps run the legacy script, so that a
// reference to a secret can be told apart: input of the script, or another
// reader that still needs the GitHub secret.
type scriptSteps struct {
	base  string          // the script's file name, as a run: command names it
	steps map[stepKey]int // the steps that run it -> index into via
	jobs  map[stepKey]bool
	files map[string]bool
	// via says, per step, how it runs the script: directly or through a
	// repository script (tools/bin/test.sh calling ci_credentials.sh).
	via []string
	// runs are every run: step, to tell which other steps a job-level or
	// workflow-level env: entry reaches.
	runs []stepRun
	// passed caches passedToScript: env name -> secrets, sorted.
	passed map[string][]string
	// wrappers are the repository scripts found to run the script.
	wrappers map[string]bool
}

// found reports whether any step runs the script.
func (s *scriptSteps) found() bool { return len(s.steps) > 0 }

// isScript reports whether the step at sc in file runs the script.
func (s *scriptSteps) isScript(file string, sc scope) bool {
	_, ok := s.steps[stepKey{file, sc}]
	return sc.step >= 0 && ok
}

// reaches reports whether an entry at sc (workflow, job or step level)
// hands its value to a step that runs the script.
func (s *scriptSteps) reaches(file string, sc scope) bool {
	switch {
	case sc.step >= 0:
		return s.isScript(file, sc)
	case sc.job != "":
		return s.jobs[stepKey{file, scope{job: sc.job, step: -1}}]
	}
	return s.files[file]
}

// otherRuns lists the run: steps besides the script's that an entry at sc
// also reaches (a job-level env: reaches every step of its job): any of
// them may read the variable.
func (s *scriptSteps) otherRuns(file string, sc scope) []stepRun {
	if sc.step >= 0 {
		return nil
	}
	var out []stepRun
	for _, r := range s.runs {
		if r.file != file || (sc.job != "" && r.scope.job != sc.job) || s.isScript(r.file, r.scope) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// shPathRe finds the repository scripts a run: command calls.
var shPathRe = regexp.MustCompile(`(?:^|[\s;&|(])(?:\./)?((?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_.-]+\.sh)\b`)

// findScriptSteps finds the steps whose run: command runs the script at
// scriptPath, directly or through one repository script (read from the
// repository root) that names it.
func (w *Workflows) findScriptSteps(scriptPath string) *scriptSteps {
	s := &scriptSteps{base: filepath.Base(scriptPath), steps: map[stepKey]int{}, jobs: map[stepKey]bool{}, files: map[string]bool{}}
	if w == nil {
		return s
	}
	s.runs = w.runs
	calls := map[string]bool{} // repository script -> it runs ours
	s.wrappers = calls
	for _, r := range w.runs {
		how := ""
		if mentionsWord(r.text, s.base, true) {
			how = "runs " + s.base
		} else {
			for _, m := range shPathRe.FindAllStringSubmatch(r.text, -1) {
				p := path.Clean(m[1])
				if path.Base(p) == s.base {
					continue
				}
				runs, ok := calls[p]
				if !ok {
					runs = w.scriptCalls(p, s.base)
					calls[p] = runs
				}
				if runs {
					how = "runs " + p + ", which runs " + s.base
					break
				}
			}
		}
		if how == "" {
			continue
		}
		s.steps[stepKey{r.file, r.scope}] = len(s.via)
		s.via = append(s.via, how)
		s.jobs[stepKey{r.file, scope{job: r.scope.job, step: -1}}] = true
		s.files[r.file] = true
	}
	return s
}

// scriptCalls reports whether the repository script at rel (relative to
// the repository root) names base. A script that cannot be read does not.
func (w *Workflows) scriptCalls(rel, base string) bool {
	if w.Root == "" || strings.HasPrefix(rel, "../") || path.IsAbs(rel) {
		return false
	}
	data, err := readTextFile(filepath.Join(w.Root, filepath.FromSlash(rel)), "script", rel)
	if err != nil {
		return false
	}
	return mentionsWord(string(data), base, true)
}

// noScriptStepWarning says that the script's step could not be found, so
// every reference counts as another reader.
func noScriptStepWarning(base string) string {
	return fmt.Sprintf("no workflow step runs %s (a run: command naming it, or a repository script it calls that does): every reference to a secret in the workflows is taken for another reader, so no GitHub secret a workflow passes is listed as safe to delete", base)
}

// stepName names a step for people: jobs.test.steps[2].
func stepName(r stepRun) string {
	return fmt.Sprintf("jobs.%s.steps[%d]", r.scope.job, r.scope.step)
}

// readersOf lists, for the report, the references that are other readers
// of each GitHub secret: every reference outside the script's steps,
// every env: entry that does not hand the script a name it reads, and
// every other step a job-level or workflow-level entry reaches.
func (w *Workflows) readersOf(steps *scriptSteps, scriptVars map[string]bool) map[string][]Reference {
	out := map[string][]Reference{}
	if w == nil {
		return out
	}
	for _, ref := range w.References {
		out[ref.Secret] = append(out[ref.Secret], ref)
	}
	for _, m := range w.EnvMappings {
		ref := Reference{File: m.File, Line: m.Line, Secret: m.Secret, scope: m.scope}
		switch {
		case !steps.reaches(m.File, m.scope):
			if m.scope.step >= 0 {
				ref.Context = m.Context + " (a step that does not run " + steps.base + ")"
			} else {
				ref.Context = m.Context + " (reaches no step that runs " + steps.base + ")"
			}
		case !scriptVars[m.Env]:
			ref.Context = m.Context + " (an environment name the script does not read)"
		default:
			for _, r := range steps.otherRuns(m.File, m.scope) {
				out[m.Secret] = append(out[m.Secret], Reference{File: m.File, Line: m.Line, Secret: m.Secret, scope: m.scope,
					Context: fmt.Sprintf("%s also reaches %s (line %d), which may read %s: move the entry into the step that runs %s", m.Context, stepName(r), r.line, m.Env, steps.base)})
			}
			continue
		}
		out[m.Secret] = append(out[m.Secret], ref)
	}
	for sec := range out {
		sort.SliceStable(out[sec], func(i, j int) bool {
			a, b := out[sec][i], out[sec][j]
			if a.File != b.File {
				return a.File < b.File
			}
			return a.Line < b.Line
		})
	}
	return out
}

// allReaders are the places that pass every secret at once to something
// other than the script's step (toJson(secrets) elsewhere, secrets: inherit
// to a workflow outside the folder): what they run may read any secret.
func (w *Workflows) allReaders(steps *scriptSteps) []Reference {
	if w == nil {
		return nil
	}
	local := map[string]bool{}
	for _, f := range w.Files {
		local[".github/workflows/"+filepath.Base(f)] = true
	}
	var out []Reference
	for _, a := range w.AllSecrets {
		switch a.all {
		case allInEnv:
			if steps.reaches(a.File, a.scope) && len(steps.otherRuns(a.File, a.scope)) == 0 {
				continue // the script's own input (GITHUB_PROVIDED_SECRETS_JSON)
			}
		case allInherit:
			if uses := w.uses[a.File][a.scope.job]; local[path.Clean(strings.TrimPrefix(uses, "./"))] {
				continue // a workflow of this folder: its references were read
			}
		}
		out = append(out, a)
	}
	return out
}

// providesAll reports whether the script's step gets every secret at once
// (GITHUB_PROVIDED_SECRETS_JSON: ${{ toJson(secrets) }}): then every name
// the script reads is provided, under its own name.
func (w *Workflows) providesAll(steps *scriptSteps) bool {
	if w == nil {
		return false
	}
	for _, a := range w.AllSecrets {
		if a.all == allInEnv && steps.reaches(a.File, a.scope) {
			return true
		}
	}
	return false
}

// passedToScript returns the GitHub secrets the env: entries reaching the
// script's steps map env to, sorted; when no step runs the script, those
// of every entry (the names are all there is to go by).
func (w *Workflows) passedToScript(steps *scriptSteps, env string) []string {
	if w == nil {
		return nil
	}
	if steps.passed == nil {
		// One pass over the entries for all names, not one per name.
		steps.passed = map[string][]string{}
		seen := map[[2]string]bool{}
		for _, m := range w.EnvMappings {
			k := [2]string{m.Env, m.Secret}
			if !seen[k] && (!steps.found() || steps.reaches(m.File, m.scope)) {
				seen[k] = true
				steps.passed[m.Env] = append(steps.passed[m.Env], m.Secret)
			}
		}
		for _, l := range steps.passed {
			sort.Strings(l)
		}
	}
	return steps.passed[env]
}
