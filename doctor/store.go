package doctor

import (
	"fmt"
	"sort"
	"strings"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/labels"
)

// entries classifies the listed secrets: the CI secrets in scope, and the
// problems of secrets that carry a connector label under another name.
func entries(inv Inventory, scope Scope) ([]labels.Entry, []Problem) {
	want := scope.want()
	var out []labels.Entry
	var ps []Problem
	cmd := commands{inv.Project, inv.Location}
	for _, sec := range inv.Secrets {
		e, ok := labels.Classify(sec.ID, sec.Labels)
		if ok {
			if scope.All || e.Mentions(want) {
				out = append(out, e)
			}
			continue
		}
		raw, has := sec.Labels[labels.ConnectorKey]
		if !has {
			continue
		}
		loose := labels.Entry{Secret: sec.ID, Labels: sec.Labels}
		if !scope.All && !loose.Mentions(want) {
			continue
		}
		ps = append(ps, problem(Warning, KindNameMismatch, sec.ID, raw, "",
			fmt.Sprintf("%s carries connector label %q but its name does not match SECRET_<NAME>_CREDS, so sync ignores it", sec.ID, raw),
			"rename it: create "+suggestName(raw, sec.Labels)+" with its value and labels ("+
				cmd.gcloud("versions", "access", "latest", "--secret="+sec.ID)+" | "+
				cmd.gcloud("create", suggestName(raw, sec.Labels), "--data-file=-", "--labels="+labelArg(sec.Labels))+"), then delete "+sec.ID))
	}
	return out, ps
}

// suggestName is the conventional name for a misnamed secret's first
// connector and file.
func suggestName(connectorLabel string, lbls map[string]string) string {
	first, _, _ := strings.Cut(connectorLabel, "_")
	stem, ok := lbls[labels.FilenameKey]
	if !ok {
		stem = labels.DefaultStem
	}
	return conventionalName(first, stem)
}

func labelArg(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + l[k]
	}
	return strings.Join(parts, ",")
}

// checkLabels reports what list flags: missing or invalid labels, and files
// several secrets claim.
func checkLabels(es []labels.Entry, plan labels.Plan, scope Scope, cmd commands) []Problem {
	var ps []Problem
	for _, e := range es {
		if e.Problem == nil {
			continue
		}
		msg := strings.ReplaceAll(e.Problem.Error(), "\n", "; ")
		raw, has := e.Labels[labels.ConnectorKey]
		if !has {
			if scope.All {
				ps = append(ps, problem(Warning, KindNoConnectorLabel, e.Secret, "", e.File,
					e.Secret+" has no connector label, so no connector receives it",
					"label it with the connectors it serves: "+cmd.gcloud("update", e.Secret, "--update-labels=connector=<connector>[_<connector>...]")+", or delete it if nothing uses it"))
			}
			continue
		}
		ps = append(ps, problem(Error, KindInvalidLabel, e.Secret, raw, e.File,
			e.Secret+" cannot be synced: "+msg,
			"correct the labels: "+cmd.gcloud("update", e.Secret, "--update-labels=connector=<connector>[_<connector>...],filename=<file stem>")+
				" (connector names use a-z, 0-9 and -; a filename label is the file name without .json)"))
	}
	for _, c := range plan.Conflicts {
		ps = append(ps, problem(Error, KindConflict, strings.Join(c.Secrets, ","), c.Target.Connector, c.Target.File,
			fmt.Sprintf("%s is claimed by %d secrets (%s), so sync writes none of them", c.Target, len(c.Secrets), strings.Join(c.Secrets, ", ")),
			conflictFix(c, cmd)))
	}
	return ps
}

func conflictFix(c labels.Conflict, cmd commands) string {
	var others []string
	for _, s := range c.Secrets[1:] {
		others = append(others, cmd.gcloud("update", s, "--update-labels=filename=<other stem>"))
	}
	return "keep one, say " + c.Secrets[0] + ", and give the others another filename label (" + strings.Join(others, "; ") +
		"), or delete those no longer used"
}

// checkNames reports valid secrets whose <NAME> reads as another connector
// than their label: a copy-paste mistake, or a label that lost a connector.
func checkNames(es []labels.Entry) []Problem {
	var ps []Problem
	for _, e := range es {
		if e.Problem != nil {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(e.Secret, "SECRET_"), "_CREDS")
		labelled := map[string]bool{}
		for _, c := range e.Connectors {
			labelled[c] = true
		}
		var others []string
		for _, tok := range strings.Split(strings.ToLower(name), "_") {
			if labelled[tok] || labels.ValidateConnector(tok) != nil || !hasConnectorPrefix(tok) {
				continue
			}
			others = append(others, tok)
		}
		if len(others) == 0 {
			continue
		}
		ps = append(ps, problem(Info, KindNameSuggests, e.Secret, strings.Join(e.Connectors, ","), e.File,
			fmt.Sprintf("the name %s suggests %s, but its connector label says %s", e.Secret, strings.Join(others, ", "), e.Labels[labels.ConnectorKey]),
			"check which connector it is for; fix the connector label, or rename the secret to match it"))
	}
	return ps
}

// hasConnectorPrefix reports whether a name part reads as a connector: the
// kinds of connector a secret's name can suggest.
func hasConnectorPrefix(s string) bool {
	for _, p := range []string{"source-", "destination-", "base-"} {
		if strings.HasPrefix(s, p) && len(s) > len(p) {
			return true
		}
	}
	return false
}

// checkVersions reports version states that break or slow a sync.
func checkVersions(es []labels.Entry, inv Inventory, cmd commands) []Problem {
	var ps []Problem
	for _, e := range es {
		conns := strings.Join(e.Connectors, ",")
		if err, bad := inv.VersionErrors[e.Secret]; bad {
			ps = append(ps, problem(Error, KindVersionsUnread, e.Secret, conns, e.File,
				"cannot list the versions of "+e.Secret+": "+err.Error(),
				"grant roles/secretmanager.viewer on the secret (or the project) and run doctor again"))
			continue
		}
		vs, asked := inv.Versions[e.Secret]
		if !asked {
			continue
		}
		var enabled []string
		counts := map[string]int{}
		for _, v := range vs {
			counts[v.State]++
			if v.State == "ENABLED" {
				enabled = append(enabled, v.Number)
			}
		}
		switch {
		case len(vs) == 0:
			ps = append(ps, problem(Error, KindNoEnabled, e.Secret, conns, e.File,
				e.Secret+" has no version at all, so sync fails for "+orNone(conns),
				"add one: "+cmd.gcloud("versions", "add", e.Secret, "--data-file=FILE")))
			continue
		case len(enabled) == 0:
			ps = append(ps, problem(Error, KindNoEnabled, e.Secret, conns, e.File,
				fmt.Sprintf("%s has no enabled version (%s), so sync fails for %s", e.Secret, describeCounts(counts), orNone(conns)),
				"enable the right one ("+cmd.gcloud("versions", "enable", newestOf(vs, "DISABLED"), "--secret="+e.Secret)+") or add a new one ("+
					cmd.gcloud("versions", "add", e.Secret, "--data-file=FILE")+")"))
			continue
		case len(enabled) > 1:
			var fix []string
			for _, v := range enabled[1:] {
				fix = append(fix, cmd.gcloud("versions", "disable", v, "--secret="+e.Secret))
			}
			ps = append(ps, problem(Warning, KindSeveralEnabled, e.Secret, conns, e.File,
				fmt.Sprintf("%s has %d enabled versions (%s); sync reads only the newest, %s, and the older ones still work as credentials",
					e.Secret, len(enabled), strings.Join(enabled, ", "), enabled[0]),
				"disable the older ones: "+strings.Join(fix, " && ")))
		}
		if latest := vs[0]; latest.State != "ENABLED" {
			ps = append(ps, problem(Info, KindDisabledLatest, e.Secret, conns, e.File,
				fmt.Sprintf("the latest version of %s, %s, is %s: every sync spends an extra read request to find version %s",
					e.Secret, latest.Number, latest.State, enabled[0]),
				"add the value of version "+enabled[0]+" again as the newest version ("+
					cmd.gcloud("versions", "access", enabled[0], "--secret="+e.Secret)+" | "+cmd.gcloud("versions", "add", e.Secret, "--data-file=-")+
					"), then disable version "+enabled[0]))
		}
	}
	return ps
}

func orNone(conns string) string {
	if conns == "" {
		return "its connectors"
	}
	return conns
}

func newestOf(vs []gsm.Version, state string) string {
	for _, v := range vs {
		if v.State == state {
			return v.Number
		}
	}
	return "VERSION"
}

func describeCounts(counts map[string]int) string {
	var parts []string
	for _, s := range []string{"DISABLED", "DESTROYED"} {
		if n := counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, strings.ToLower(s)))
		}
	}
	return strings.Join(parts, ", ")
}

// NewestEnabled is the number of a secret's newest enabled version, from
// the inventory's version metadata.
func (inv Inventory) NewestEnabled(secret string) (string, bool) {
	for _, v := range inv.Versions[secret] {
		if v.State == "ENABLED" {
			return v.Number, true
		}
	}
	return "", false
}

// checkOrphans reports CI secrets naming connectors that have no folder
// under the root.
func checkOrphans(es []labels.Entry, repo *Repo, cmd commands) []Problem {
	var ps []Problem
	for _, e := range es {
		for _, c := range e.Connectors {
			if _, ok := repo.Connectors[c]; ok {
				continue
			}
			fix := "if " + c + " was removed, delete the secret (" + cmd.gcloud("delete", e.Secret) + ")"
			if len(e.Connectors) > 1 {
				fix = "if " + c + " was removed, drop it from the connector label (" +
					cmd.gcloud("update", e.Secret, "--update-labels=connector="+strings.Join(without(e.Connectors, c), "_")) + ")"
			}
			if near := nearest(c, repo); near != "" {
				fix = "if the label has a typo for " + near + ", correct it (" +
					cmd.gcloud("update", e.Secret, "--update-labels=connector="+strings.Join(replaced(e.Connectors, c, near), "_")) + "); " + fix
			}
			ps = append(ps, problem(Warning, KindOrphan, e.Secret, c, e.File,
				fmt.Sprintf("%s serves %s, which has no folder under airbyte-integrations/connectors or bases", e.Secret, c),
				fix+"; if the connector lives elsewhere, pass the monorepo root as --root"))
		}
	}
	return ps
}

func without(xs []string, x string) []string {
	var out []string
	for _, s := range xs {
		if s != x {
			out = append(out, s)
		}
	}
	return out
}

func replaced(xs []string, old, repl string) []string {
	out := make([]string, len(xs))
	for i, s := range xs {
		out[i] = s
		if s == old {
			out[i] = repl
		}
	}
	return out
}

// nearest is the connector folder whose name is closest to a missing
// connector, within two edits: most likely what a mistyped label meant.
func nearest(name string, repo *Repo) string {
	best, bestD := "", 3
	for _, c := range sortedConnectors(repo) {
		if d := editDistance(name, c.Name, bestD); d < bestD {
			best, bestD = c.Name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or limit when it is
// at least limit (connector names are short; the limit keeps 500 folders cheap).
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}
