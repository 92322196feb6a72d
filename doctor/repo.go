package doctor

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/airbytehq/ci-secrets/labels"
	"github.com/airbytehq/ci-secrets/writer"
)

// Modes secrets files and folders should have (what sync creates).
const (
	wantFileMode fs.FileMode = 0o600
	wantDirMode  fs.FileMode = 0o700
)

func sortedConnectors(r *Repo) []*Connector {
	out := make([]*Connector, 0, len(r.Connectors))
	for _, c := range r.Connectors {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// checkNeeds compares what the test configurations ask for with what the
// store provides.
func checkNeeds(repo *Repo, plan labels.Plan, listed map[string]bool, scope Scope, cmd commands) []Problem {
	provided := map[labels.Target]string{}
	for _, w := range plan.Writes {
		provided[w.Target] = w.Secret
	}
	for _, c := range plan.Conflicts {
		provided[c.Target] = strings.Join(c.Secrets, ",") // already an error of its own
	}
	var ps []Problem
	for _, c := range sortedConnectors(repo) {
		if !scope.covers(c.Name) {
			continue
		}
		for _, ce := range c.ConfigErrors {
			ps = append(ps, problem(Warning, KindBadTestConfig, "", c.Name, ce.File,
				"cannot read "+ce.File+": "+ce.Err+"; its secrets files were not checked",
				"fix the file so it parses as YAML"))
		}
		needed := map[string]bool{}
		named := map[string]bool{} // secrets metadata.yaml names: every file they provide is referenced
		for _, n := range c.Needs {
			if n.Secret != "" {
				named[n.Secret] = true
			}
			if n.Secret != "" && !listed[n.Secret] {
				ps = append(ps, problem(Error, KindMissingSecret, n.Secret, c.Name, c.Dir+"/"+n.Source,
					fmt.Sprintf("%s/%s names the test secret %s, which the project does not have (or which has neither a SECRET_ name nor a connector label)", c.Dir, n.Source, n.Secret),
					"create it with the connector's test credentials, or correct the name in "+n.Source))
			}
			if n.File == "" || needed[n.File] {
				continue
			}
			needed[n.File] = true
			if _, ok := provided[labels.Target{Connector: c.Name, File: n.File}]; ok {
				continue
			}
			why := ""
			if n.Secret != "" && listed[n.Secret] {
				why = " (" + n.Secret + ", which " + n.Source + " names for it, exists but its labels do not give it this file for this connector)"
			}
			ps = append(ps, problem(Error, KindMissingFile, n.Secret, c.Name, c.Dir+"/"+secretsPrefix+n.File,
				fmt.Sprintf("%s/%s needs %s%s, but no secret provides it for %s%s", c.Dir, n.Source, secretsPrefix, n.File, c.Name, why),
				missingFileFix(c.Name, n, cmd)))
		}
		if !c.HasTestConfig || len(c.ConfigErrors) > 0 {
			continue // what the tests refer to is unknown
		}
		for _, w := range plan.Writes {
			if w.Target.Connector != c.Name || needed[w.Target.File] || named[w.Secret] {
				continue
			}
			ps = append(ps, problem(Info, KindUnreferenced, w.Secret, c.Name, c.Dir+"/"+secretsPrefix+w.Target.File,
				fmt.Sprintf("%s provides %s%s for %s, but neither %s nor %s refers to it", w.Secret, secretsPrefix, w.Target.File, c.Name, AcceptanceConfig, MetadataFile),
				"if a test reads it some other way, nothing to do; otherwise delete the secret or drop "+c.Name+" from its connector label"))
		}
	}
	return ps
}

// conventionalName is the name the CI convention gives the secret serving
// a connector's file: SECRET_<CONNECTOR>_CREDS for config.json,
// SECRET_<CONNECTOR>_<STEM>__CREDS for another.
func conventionalName(connector, stem string) string {
	name := "SECRET_" + strings.ToUpper(connector)
	if stem != labels.DefaultStem {
		name += "_" + strings.ToUpper(stem) + "_"
	}
	return name + "_CREDS"
}

func missingFileFix(connector string, n Need, cmd commands) string {
	stem, err := labels.StemOf(n.File)
	if err != nil {
		return "no secret can provide " + n.File + " (" + err.Error() + "): point the test at a secrets/<name>.json file"
	}
	label := "--labels=connector=" + connector
	if stem != labels.DefaultStem {
		label += ",filename=" + stem
	}
	name := n.Secret
	if name == "" {
		name = conventionalName(connector, stem)
	}
	return "create a secret for it (" + cmd.gcloud("create", name, "--data-file=FILE", label) +
		"), or add " + connector + " to the connector label of the secret that holds it"
}

// checkFolders reports secrets folders and files with loose modes, entries
// sync or push would refuse, and refreshed configs never pushed.
func checkFolders(repo *Repo, scope Scope) []Problem {
	var ps []Problem
	for _, c := range sortedConnectors(repo) {
		sd := c.Secrets
		if sd == nil || !scope.covers(c.Name) {
			continue
		}
		if sd.Mode&fs.ModeSymlink != 0 || !sd.Mode.IsDir() {
			ps = append(ps, problem(Error, KindUnsafeEntry, "", c.Name, sd.Path,
				fmt.Sprintf("%s is %s, not a folder: sync refuses to write through it", sd.Path, writer.DescribeMode(sd.Mode)),
				"remove it (rm "+shellQuote(sd.Path)+") and sync again"))
			continue
		}
		ps = append(ps, modeProblems(c.Name, sd.Path, sd.Mode, sd.Entries, true)...)
		if u := sd.Updated; u != nil {
			if u.Mode&fs.ModeSymlink != 0 || !u.Mode.IsDir() {
				ps = append(ps, problem(Warning, KindUnsafeEntry, "", c.Name, u.Path,
					fmt.Sprintf("%s is %s, not a folder: push refuses it", u.Path, writer.DescribeMode(u.Mode)),
					"remove it (rm "+shellQuote(u.Path)+")"))
				continue
			}
			ps = append(ps, modeProblems(c.Name, u.Path, u.Mode, u.Entries, false)...)
			ps = append(ps, updateProblems(c.Name, u)...)
		}
	}
	return ps
}

func modeProblems(connector, dir string, mode fs.FileMode, entries []DirEntry, top bool) []Problem {
	var ps []Problem
	if perm := mode.Perm(); perm != wantDirMode {
		ps = append(ps, problem(Warning, KindFolderMode, "", connector, dir,
			fmt.Sprintf("%s has mode %#o: others on this machine can list the credentials in it", dir, perm),
			"chmod 700 "+shellQuote(dir)))
	}
	for _, e := range entries {
		p := dir + "/" + e.Name
		switch {
		case e.Name == ".gitignore" || top && e.Name == labels.UpdatedDir && e.Mode.IsDir():
		case e.Mode&fs.ModeSymlink != 0 || !e.Mode.IsRegular() && !e.Mode.IsDir():
			ps = append(ps, problem(Warning, KindUnsafeEntry, "", connector, p,
				fmt.Sprintf("%s is %s: sync and push refuse to read or write through it", p, writer.DescribeMode(e.Mode)),
				"remove it (rm "+shellQuote(p)+")"))
		case e.Mode.IsRegular() && e.Mode.Perm() != wantFileMode:
			ps = append(ps, problem(Warning, KindFileMode, "", connector, p,
				fmt.Sprintf("%s has mode %#o: others on this machine can read it", p, e.Mode.Perm()),
				"chmod 600 "+shellQuote(p)))
		}
	}
	return ps
}

func updateProblems(connector string, u *Folder) []Problem {
	var ps []Problem
	for _, e := range u.Entries {
		if strings.HasPrefix(e.Name, ".") || !e.Mode.IsRegular() {
			continue // hidden entries are push's to ignore; others were reported above
		}
		p := u.Path + "/" + e.Name
		file, _, err := labels.ParseUpdatedName(e.Name)
		if err != nil {
			ps = append(ps, problem(Warning, KindBadUpdate, "", connector, p,
				p+" cannot be pushed: "+err.Error(),
				"only files written by connector tests belong in "+labels.UpdatedDir+": move it away"))
			continue
		}
		ps = append(ps, problem(Warning, KindUnpushed, "", connector, p,
			fmt.Sprintf("%s is a refreshed %s that was never pushed: the next sync overwrites the local file with the old value", p, file),
			"ci-secrets push "+connector+" (add --dry-run to see what it would do)"))
	}
	return ps
}

// checkGit reports tracked files under secrets folders and secrets folders
// git would add.
func checkGit(g Git, scope Scope) []Problem {
	var ps []Problem
	inScope := func(p string) bool {
		if c := connectorOf(p); c != "" {
			return scope.covers(c)
		}
		return scope.All
	}
	for _, p := range g.Tracked {
		if strings.HasPrefix(path.Base(p), ".git") || !inScope(p) {
			continue
		}
		ps = append(ps, problem(Error, KindTracked, "", connectorOf(p), p,
			p+" is tracked by git: the credentials in it are in the repository's history",
			"git rm --cached -- "+shellQuote(p)+" && git commit, then rotate the credentials it holds"))
	}
	byDir := map[string][]string{}
	var dirs []string
	for _, p := range g.NotIgnored {
		if !inScope(p) {
			continue
		}
		d := path.Dir(p)
		if _, ok := byDir[d]; !ok {
			dirs = append(dirs, d)
		}
		byDir[d] = append(byDir[d], path.Base(p))
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		ps = append(ps, problem(Error, KindNotIgnored, "", connectorOf(d), d,
			fmt.Sprintf("git does not ignore %s: a `git add` would commit %s", d, strings.Join(byDir[d], ", ")),
			"printf '*\\n' > "+shellQuote(d+"/.gitignore")+" (what sync writes), or add secrets/ to the connector's .gitignore"))
	}
	return ps
}
