package doctor

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/airbytehq/ci-secrets/labels"
)

// Diff is how two JSON documents differ, by JSON path ($.a.b[0]); it holds
// paths only, never a value.
type Diff struct {
	Added   []string // in the local file only
	Removed []string // in Secret Manager only
	Changed []string // in both, with another value or type
}

// Empty reports whether the documents have the same structure and values.
func (d Diff) Empty() bool { return len(d.Added)+len(d.Removed)+len(d.Changed) == 0 }

// maxDiffDepth bounds recursion on hostile documents; deeper differences are
// reported at that depth.
const maxDiffDepth = 64

// DiffJSON compares a local document with the one in Secret Manager. It
// fails, naming which side, when either is not JSON; the error never quotes
// the data.
func DiffJSON(local, remote []byte) (Diff, error) {
	l, err := decode(local)
	if err != nil {
		return Diff{}, fmt.Errorf("the local file is not valid JSON (%s)", err)
	}
	r, err := decode(remote)
	if err != nil {
		return Diff{}, fmt.Errorf("the version in Secret Manager is not valid JSON (%s)", err)
	}
	var d Diff
	diffValue(&d, "$", l, r, 0)
	sort.Strings(d.Added)
	sort.Strings(d.Removed)
	sort.Strings(d.Changed)
	return d, nil
}

// decode reads one JSON value, numbers kept as written; the error says where,
// never what.
func decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if se, ok := err.(*json.SyntaxError); ok {
			return nil, fmt.Errorf("syntax error at byte %d", se.Offset)
		}
		return nil, fmt.Errorf("cannot be decoded")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("text after the JSON value")
	}
	return v, nil
}

func diffValue(d *Diff, p string, l, r any, depth int) {
	if depth >= maxDiffDepth {
		if !jsonEqual(l, r) {
			d.Changed = append(d.Changed, p)
		}
		return
	}
	switch lv := l.(type) {
	case map[string]any:
		rv, ok := r.(map[string]any)
		if !ok {
			d.Changed = append(d.Changed, p)
			return
		}
		for k, x := range lv {
			y, both := rv[k]
			if !both {
				d.Added = append(d.Added, child(p, k))
				continue
			}
			diffValue(d, child(p, k), x, y, depth+1)
		}
		for k := range rv {
			if _, both := lv[k]; !both {
				d.Removed = append(d.Removed, child(p, k))
			}
		}
	case []any:
		rv, ok := r.([]any)
		if !ok {
			d.Changed = append(d.Changed, p)
			return
		}
		for i := range max(len(lv), len(rv)) {
			ip := p + "[" + strconv.Itoa(i) + "]"
			switch {
			case i >= len(rv):
				d.Added = append(d.Added, ip)
			case i >= len(lv):
				d.Removed = append(d.Removed, ip)
			default:
				diffValue(d, ip, lv[i], rv[i], depth+1)
			}
		}
	default:
		if !jsonEqual(l, r) {
			d.Changed = append(d.Changed, p)
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

func child(p, key string) string {
	if plainKey.MatchString(key) {
		return p + "." + key
	}
	return p + "[" + strconv.Quote(key) + "]"
}

// DriftItem is one local secrets file to compare with Secret Manager.
type DriftItem struct {
	Connector string
	Path      string // relative to the root
	Secret    string // the secret serving it; "" when none does
	Version   string // its newest enabled version
}

// DriftResult is the comparison of one DriftItem. Only the outcome is kept:
// whether the bytes were equal (by SHA-256), and the structural diff.
type DriftResult struct {
	DriftItem
	Err     error // the local file or the version could not be read
	Same    bool  // SHA-256 of both are equal
	NotJSON error // one side is not JSON (says which)
	Diff    Diff
}

// Compare fills a result from the two documents. The bytes are not kept.
func Compare(item DriftItem, local, remote []byte) DriftResult {
	res := DriftResult{DriftItem: item}
	if sha256.Sum256(local) == sha256.Sum256(remote) {
		res.Same = true
		return res
	}
	d, err := DiffJSON(local, remote)
	if err != nil {
		res.NotJSON = err
		return res
	}
	res.Diff = d
	return res
}

// DriftItems lists the local files of the connectors in scope and the
// version each is compared with. Files no secret serves are items without
// a secret; files whose secret has no enabled version are left out (that is
// an error of its own).
func DriftItems(inv Inventory, repo *Repo, scope Scope) []DriftItem {
	es, _ := entries(inv, scope)
	plan := planFor(es, scope)
	serving := map[labels.Target]string{}
	for _, w := range plan.Writes {
		serving[w.Target] = w.Secret
	}
	conflicted := map[labels.Target]bool{}
	for _, c := range plan.Conflicts {
		conflicted[c.Target] = true
	}
	var out []DriftItem
	for _, c := range sortedConnectors(repo) {
		sd := c.Secrets
		if sd == nil || !scope.covers(c.Name) || !sd.Mode.IsDir() {
			continue
		}
		for _, e := range sd.Entries {
			if !e.Mode.IsRegular() || !strings.HasSuffix(e.Name, labels.FileExt) {
				continue
			}
			t := labels.Target{Connector: c.Name, File: e.Name}
			if conflicted[t] {
				continue
			}
			item := DriftItem{Connector: c.Name, Path: sd.Path + "/" + e.Name, Secret: serving[t]}
			if item.Secret != "" {
				v, ok := inv.NewestEnabled(item.Secret)
				if !ok {
					continue
				}
				item.Version = v
			}
			out = append(out, item)
		}
	}
	return out
}

// checkDrift turns comparisons into problems.
func checkDrift(results []DriftResult, cmd commands) []Problem {
	var ps []Problem
	for _, r := range results {
		switch {
		case r.Secret == "":
			ps = append(ps, problem(Info, KindDriftUnserved, "", r.Connector, r.Path,
				r.Path+" is served by no secret, so there is nothing to compare it with",
				"if it is a leftover, delete it; if a test needs it, create a secret for it"))
		case r.Err != nil:
			ps = append(ps, problem(Error, KindDriftUnread, r.Secret, r.Connector, r.Path,
				"cannot compare "+r.Path+" with "+r.Secret+": "+r.Err.Error(),
				"fix the cause above (access needs roles/secretmanager.secretAccessor on the secret) and run again"))
		case r.Same:
		case r.NotJSON != nil:
			ps = append(ps, problem(Warning, KindDriftNotJSON, r.Secret, r.Connector, r.Path,
				fmt.Sprintf("%s differs from %s version %s (SHA-256), and %s", r.Path, r.Secret, r.Version, r.NotJSON),
				"ci-secrets sync "+r.Connector+" puts the version from Secret Manager back"))
		case r.Diff.Empty():
			ps = append(ps, problem(Info, KindDriftFormat, r.Secret, r.Connector, r.Path,
				fmt.Sprintf("%s differs from %s version %s only in formatting (same JSON, different bytes)", r.Path, r.Secret, r.Version),
				"nothing to do; ci-secrets sync "+r.Connector+" rewrites it byte for byte"))
		default:
			ps = append(ps, problem(Warning, KindDrift, r.Secret, r.Connector, r.Path,
				fmt.Sprintf("%s differs from %s version %s: %s", r.Path, r.Secret, r.Version, describeDiff(r.Diff)),
				"ci-secrets sync "+r.Connector+" takes the version in Secret Manager; if the local file is the newer one, add it as a new version ("+
					cmd.gcloud("versions", "add", r.Secret, "--data-file="+r.Path)+")"))
		}
	}
	return ps
}

func describeDiff(d Diff) string {
	var parts []string
	for _, x := range []struct {
		what  string
		paths []string
	}{{"added locally", d.Added}, {"missing locally", d.Removed}, {"changed", d.Changed}} {
		if len(x.paths) == 0 {
			continue
		}
		shown := x.paths
		more := ""
		if len(shown) > 20 {
			shown, more = shown[:20], fmt.Sprintf(" and %d more", len(x.paths)-20)
		}
		parts = append(parts, x.what+" "+strings.Join(shown, ", ")+more)
	}
	return strings.Join(parts, "; ")
}
