package doctor

import (
	"sort"
	"strings"

	"github.com/airbytehq/ci-secrets/labels"
)

// Input is everything the checks look at, gathered beforehand.
type Input struct {
	Scope     Scope
	Inventory Inventory
	// Repo is nil when the repository was not scanned.
	Repo *Repo
	// Git is nil when git was not asked (it is then reported as skipped).
	Git *Git
	// Drift is nil without --drift.
	Drift []DriftResult
}

// Report is the outcome of one doctor run.
type Report struct {
	Problems []Problem
	Skipped  []Skipped
	// Secrets and Connectors count what was looked at: CI secrets and
	// connector folders in scope.
	Secrets, Connectors int
}

// Check runs every check over the input. It is a pure function: no I/O.
func Check(in Input) Report {
	cmd := commands{in.Inventory.Project, in.Inventory.Location}
	es, ps := entries(in.Inventory, in.Scope)
	plan := planFor(es, in.Scope)
	ps = append(ps, checkLabels(es, plan, in.Scope, cmd)...)
	ps = append(ps, checkNames(es)...)
	ps = append(ps, checkVersions(es, in.Inventory, cmd)...)
	rep := Report{Secrets: len(es)}
	switch {
	case in.Repo == nil:
		rep.Skipped = append(rep.Skipped, Skipped{"repository", "the repository was not scanned"})
	case !in.Repo.Integrations:
		rep.Skipped = append(rep.Skipped, Skipped{"repository",
			"the root holds no airbyte-integrations/connectors or airbyte-integrations/bases folder, so orphans and test configurations were not checked: pass the monorepo root as --root"})
	default:
		for _, c := range in.Repo.Connectors {
			if in.Scope.covers(c.Name) {
				rep.Connectors++
			}
		}
		ps = append(ps, checkOrphans(es, in.Repo, cmd)...)
		listed := make(map[string]bool, len(in.Inventory.Secrets))
		for _, s := range in.Inventory.Secrets {
			listed[s.ID] = true
		}
		ps = append(ps, checkNeeds(in.Repo, plan, listed, in.Scope, cmd)...)
		ps = append(ps, checkFolders(in.Repo, in.Scope)...)
	}
	switch {
	case in.Git == nil:
		rep.Skipped = append(rep.Skipped, Skipped{"git", "git was not asked"})
	case !in.Git.Available:
		rep.Skipped = append(rep.Skipped, Skipped{"git", in.Git.Reason + ": the checks that secrets folders are ignored and no secrets file is tracked were skipped"})
	default:
		ps = append(ps, checkGit(*in.Git, in.Scope)...)
	}
	ps = append(ps, checkDrift(in.Drift, cmd)...)
	rep.Skipped = append(rep.Skipped, unknownConnectors(es, in)...)
	Sort(ps)
	rep.Problems = ps
	return rep
}

// unknownConnectors names the connectors asked for that nothing knows: no
// folder under the root and no secret naming them, most likely a typo.
func unknownConnectors(es []labels.Entry, in Input) []Skipped {
	named := map[string]bool{}
	for _, e := range es {
		for _, c := range e.Connectors {
			named[c] = true
		}
		for _, part := range strings.Split(e.Labels[labels.ConnectorKey], "_") {
			named[part] = true
		}
	}
	var out []Skipped
	for _, c := range in.Scope.Connectors {
		if in.Scope.All || named[c] {
			continue
		}
		if in.Repo != nil {
			if _, ok := in.Repo.Connectors[c]; ok {
				continue
			}
		}
		out = append(out, Skipped{"connector " + c, "no folder under the root and no secret names it, so there was nothing to check: is the name right?"})
	}
	return out
}

// VersionTargets are the secrets whose version metadata the checks need:
// every CI secret in scope (one read request each).
func VersionTargets(inv Inventory, scope Scope) []string {
	es, _ := entries(inv, scope)
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Secret
	}
	sort.Strings(out)
	return out
}

func planFor(es []labels.Entry, scope Scope) labels.Plan {
	if scope.All {
		return labels.PlanFor(es, nil, true)
	}
	return labels.PlanFor(es, scope.Connectors, false)
}
