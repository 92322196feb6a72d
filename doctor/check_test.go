package doctor

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/airbytehq/ci-secrets/gsm"
)

func sec(id string, kv ...string) gsm.Secret {
	l := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	return gsm.Secret{ID: id, Labels: l}
}

func enabled(nums ...string) []gsm.Version {
	var out []gsm.Version
	for _, n := range nums {
		out = append(out, gsm.Version{Number: n, State: "ENABLED"})
	}
	return out
}

// healthy is a small project with nothing wrong: a secret per needed file,
// one enabled version each, private ignored folders.
func healthy() Input {
	return Input{
		Scope: Scope{All: true},
		Inventory: Inventory{
			Project: "p",
			Secrets: []gsm.Secret{
				sec("SECRET_SOURCE-A_CREDS", "connector", "source-a"),
				sec("SECRET_SOURCE-A_OAUTH__CREDS", "connector", "source-a", "filename", "oauth"),
			},
			Versions: map[string][]gsm.Version{
				"SECRET_SOURCE-A_CREDS":        {{Number: "2", State: "ENABLED"}, {Number: "1", State: "DISABLED"}},
				"SECRET_SOURCE-A_OAUTH__CREDS": enabled("1"),
			},
		},
		Repo: &Repo{Integrations: true, Connectors: map[string]*Connector{
			"source-a": {
				Name: "source-a", Dir: "airbyte-integrations/connectors/source-a", HasTestConfig: true,
				Needs: []Need{{File: "config.json", Source: AcceptanceConfig}, {File: "oauth.json", Secret: "SECRET_SOURCE-A_OAUTH__CREDS", Source: MetadataFile}},
				Secrets: &SecretsDir{
					Path: "airbyte-integrations/connectors/source-a/secrets", Mode: fs.ModeDir | 0o700,
					Entries: []DirEntry{{".gitignore", 0o644}, {"config.json", 0o600}},
				},
			},
		}},
		Git: &Git{Available: true},
	}
}

func kinds(ps []Problem) map[Kind]int {
	m := map[Kind]int{}
	for _, p := range ps {
		m[p.Kind]++
	}
	return m
}

func TestCheckHealthyReportsNothing(t *testing.T) {
	rep := Check(healthy())
	if len(rep.Problems) != 0 || len(rep.Skipped) != 0 {
		t.Fatalf("healthy project: problems %+v, skipped %+v", rep.Problems, rep.Skipped)
	}
	if rep.Secrets != 2 || rep.Connectors != 1 {
		t.Errorf("checked %d secrets, %d connectors; want 2, 1", rep.Secrets, rep.Connectors)
	}
}

// TestCheckEachKind breaks the healthy project one way at a time and
// expects exactly that problem, with its severity, subject and fix.
func TestCheckEachKind(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(in *Input)
		kind  Kind
		sev   Severity
		want  string // in the message
		fix   string // in the fix
		count int
	}{
		{"invalid label", func(in *Input) {
			in.Inventory.Secrets = append(in.Inventory.Secrets, sec("SECRET_X_CREDS", "connector", "Source-X"))
		}, KindInvalidLabel, Error, `connector name "Source-X" may only hold`, "--update-labels=connector=", 1},
		{"no connector label", func(in *Input) {
			in.Inventory.Secrets = append(in.Inventory.Secrets, sec("SECRET_X_CREDS", "team", "t"))
		}, KindNoConnectorLabel, Warning, "has no connector label", "gcloud secrets update SECRET_X_CREDS", 1},
		{"conflict", func(in *Input) {
			in.Inventory.Secrets = append(in.Inventory.Secrets, sec("SECRET_SOURCE-A_OLD__CREDS", "connector", "source-a_source-b"))
			in.Inventory.Versions["SECRET_SOURCE-A_OLD__CREDS"] = enabled("1")
			in.Repo.Connectors["source-b"] = &Connector{Name: "source-b", Dir: "airbyte-integrations/connectors/source-b"}
		}, KindConflict, Error, "source-a/config.json is claimed by 2 secrets", "gcloud secrets update SECRET_SOURCE-A_OLD__CREDS", 1},
		{"name not convention", func(in *Input) {
			in.Inventory.Secrets = append(in.Inventory.Secrets, sec("source-a-creds", "connector", "source-a"))
		}, KindNameMismatch, Warning, "does not match SECRET_<NAME>_CREDS", "create SECRET_SOURCE-A_CREDS", 1},
		{"name suggests another connector", func(in *Input) {
			in.Inventory.Secrets = append(in.Inventory.Secrets, sec("SECRET_DESTINATION-A_CREDS", "connector", "source-a", "filename", "dest"))
			in.Inventory.Versions["SECRET_DESTINATION-A_CREDS"] = enabled("1")
			in.Repo.Connectors["source-a"].Needs = append(in.Repo.Connectors["source-a"].Needs, Need{File: "dest.json"})
		}, KindNameSuggests, Info, "suggests destination-a, but its connector label says source-a", "fix the connector label", 1},
		{"no version", func(in *Input) {
			in.Inventory.Versions["SECRET_SOURCE-A_CREDS"] = nil
		}, KindNoEnabled, Error, "has no version at all", "gcloud secrets versions add SECRET_SOURCE-A_CREDS", 1},
		{"no enabled version", func(in *Input) {
			in.Inventory.Versions["SECRET_SOURCE-A_CREDS"] = []gsm.Version{{Number: "2", State: "DESTROYED"}, {Number: "1", State: "DISABLED"}}
		}, KindNoEnabled, Error, "no enabled version (1 disabled, 1 destroyed)", "versions enable 1 --secret=SECRET_SOURCE-A_CREDS --project=p", 1},
		{"several enabled", func(in *Input) {
			in.Inventory.Versions["SECRET_SOURCE-A_CREDS"] = enabled("5", "3", "1")
		}, KindSeveralEnabled, Warning, "3 enabled versions (5, 3, 1)",
			"gcloud secrets versions disable 3 --secret=SECRET_SOURCE-A_CREDS --project=p && gcloud secrets versions disable 1 --secret=SECRET_SOURCE-A_CREDS --project=p", 1},
		{"disabled latest", func(in *Input) {
			in.Inventory.Versions["SECRET_SOURCE-A_CREDS"] = []gsm.Version{{Number: "3", State: "DISABLED"}, {Number: "2", State: "ENABLED"}}
		}, KindDisabledLatest, Info, "the latest version of SECRET_SOURCE-A_CREDS, 3, is DISABLED", "versions access 2", 1},
		{"versions unreadable", func(in *Input) {
			in.Inventory.VersionErrors = map[string]error{"SECRET_SOURCE-A_CREDS": errors.New("permission denied")}
		}, KindVersionsUnread, Error, "cannot list the versions of SECRET_SOURCE-A_CREDS: permission denied", "roles/secretmanager.viewer", 1},
		{"orphan", func(in *Input) {
			in.Inventory.Secrets = append(in.Inventory.Secrets, sec("SECRET_SOURCE-GONE_CREDS", "connector", "source-gone_source-a", "filename", "gone"))
			in.Inventory.Versions["SECRET_SOURCE-GONE_CREDS"] = enabled("1")
			in.Repo.Connectors["source-a"].Needs = append(in.Repo.Connectors["source-a"].Needs, Need{File: "gone.json"})
		}, KindOrphan, Warning, "serves source-gone, which has no folder", "--update-labels=connector=source-a", 1},
		{"orphan by a typo", func(in *Input) {
			in.Inventory.Secrets = append(in.Inventory.Secrets, sec("SECRET_SOURCE-AA_CREDS", "connector", "source-aa", "filename", "typo"))
			in.Inventory.Versions["SECRET_SOURCE-AA_CREDS"] = enabled("1")
		}, KindOrphan, Warning, "serves source-aa, which has no folder", "if the label has a typo for source-a, correct it (gcloud secrets update SECRET_SOURCE-AA_CREDS --update-labels=connector=source-a --project=p)", 1},
		{"missing file", func(in *Input) {
			in.Repo.Connectors["source-a"].Needs = append(in.Repo.Connectors["source-a"].Needs, Need{File: "config_oauth.json", Source: AcceptanceConfig})
		}, KindMissingFile, Error, "needs secrets/config_oauth.json, but no secret provides it for source-a",
			"gcloud secrets create SECRET_SOURCE-A_CONFIG_OAUTH__CREDS --data-file=FILE --labels=connector=source-a,filename=config_oauth", 1},
		{"missing secret", func(in *Input) {
			in.Repo.Connectors["source-a"].Needs = append(in.Repo.Connectors["source-a"].Needs, Need{Secret: "SECRET_SOURCE-A_GONE_CREDS", Source: MetadataFile})
		}, KindMissingSecret, Error, "names the test secret SECRET_SOURCE-A_GONE_CREDS, which the project does not have", "correct the name in metadata.yaml", 1},
		{"unreferenced", func(in *Input) {
			in.Repo.Connectors["source-a"].Needs = in.Repo.Connectors["source-a"].Needs[:1]
		}, KindUnreferenced, Info, "SECRET_SOURCE-A_OAUTH__CREDS provides secrets/oauth.json for source-a, but neither", "delete the secret", 1},
		{"named by metadata is referenced", func(in *Input) {
			a := in.Repo.Connectors["source-a"]
			a.Needs = []Need{{Secret: "SECRET_SOURCE-A_OAUTH__CREDS", Source: MetadataFile}, {File: "config.json", Source: AcceptanceConfig},
				{File: "extra.json", Source: AcceptanceConfig}}
		}, KindMissingFile, Error, "needs secrets/extra.json", "filename=extra", 1},
		{"bad test config", func(in *Input) {
			c := in.Repo.Connectors["source-a"]
			c.ConfigErrors = []ConfigError{{File: c.Dir + "/metadata.yaml", Err: "not valid YAML"}}
		}, KindBadTestConfig, Warning, "cannot read airbyte-integrations/connectors/source-a/metadata.yaml: not valid YAML", "parses as YAML", 1},
		{"not ignored", func(in *Input) {
			in.Git.NotIgnored = []string{"airbyte-integrations/connectors/source-a/secrets/config.json", "airbyte-integrations/connectors/source-a/secrets/x.json"}
		}, KindNotIgnored, Error, "git does not ignore airbyte-integrations/connectors/source-a/secrets: a `git add` would commit config.json, x.json",
			"printf '*\\n' > airbyte-integrations/connectors/source-a/secrets/.gitignore", 1},
		{"tracked", func(in *Input) {
			in.Git.Tracked = []string{"airbyte-integrations/connectors/source-a/secrets/config.json", "airbyte-integrations/connectors/source-a/secrets/.gitignore"}
		}, KindTracked, Error, "secrets/config.json is tracked by git", "git rm --cached -- airbyte-integrations/connectors/source-a/secrets/config.json", 1},
		{"file mode", func(in *Input) {
			in.Repo.Connectors["source-a"].Secrets.Entries[1].Mode = 0o644
		}, KindFileMode, Warning, "config.json has mode 0644", "chmod 600 airbyte-integrations/connectors/source-a/secrets/config.json", 1},
		{"folder mode", func(in *Input) {
			in.Repo.Connectors["source-a"].Secrets.Mode = fs.ModeDir | 0o755
		}, KindFolderMode, Warning, "secrets has mode 0755", "chmod 700 airbyte-integrations/connectors/source-a/secrets", 1},
		{"secrets folder is a link", func(in *Input) {
			in.Repo.Connectors["source-a"].Secrets.Mode = fs.ModeSymlink | 0o777
		}, KindUnsafeEntry, Error, "secrets is a symlink, not a folder", "rm airbyte-integrations/connectors/source-a/secrets", 1},
		{"link inside", func(in *Input) {
			s := in.Repo.Connectors["source-a"].Secrets
			s.Entries = append(s.Entries, DirEntry{"oauth.json", fs.ModeSymlink | 0o777})
		}, KindUnsafeEntry, Warning, "secrets/oauth.json is a symlink", "rm ", 1},
		{"unpushed", func(in *Input) {
			s := in.Repo.Connectors["source-a"].Secrets
			s.Entries = append(s.Entries, DirEntry{"updated_configurations", fs.ModeDir | 0o700})
			s.Updated = &Folder{Path: s.Path + "/updated_configurations", Mode: fs.ModeDir | 0o700,
				Entries: []DirEntry{{"config|17.json", 0o600}, {"config|18.json", 0o600}, {".hidden", 0o600}}}
		}, KindUnpushed, Warning, "is a refreshed config.json that was never pushed", "ci-secrets push source-a", 2},
		{"unpushable", func(in *Input) {
			s := in.Repo.Connectors["source-a"].Secrets
			s.Updated = &Folder{Path: s.Path + "/updated_configurations", Mode: fs.ModeDir | 0o700, Entries: []DirEntry{{"config.json", 0o600}}}
		}, KindBadUpdate, Warning, "cannot be pushed: not named <file stem>|<number>.json", "move it away", 1},
		{"drift", func(in *Input) {
			in.Drift = []DriftResult{Compare(DriftItem{Connector: "source-a", Path: "a/config.json", Secret: "SECRET_SOURCE-A_CREDS", Version: "2"},
				[]byte(`{"a": 1, "b": {"c": "x"}}`), []byte(`{"a": 2, "b": {"d": "y"}}`))}
		}, KindDrift, Warning, "differs from SECRET_SOURCE-A_CREDS version 2: added locally $.b.c; missing locally $.b.d; changed $.a",
			"gcloud secrets versions add SECRET_SOURCE-A_CREDS --data-file=a/config.json --project=p", 1},
		{"drift format only", func(in *Input) {
			in.Drift = []DriftResult{Compare(DriftItem{Connector: "source-a", Path: "a/config.json", Secret: "S", Version: "2"}, []byte(`{"a":1}`), []byte(`{ "a": 1 }`))}
		}, KindDriftFormat, Info, "only in formatting", "nothing to do", 1},
		{"drift not json", func(in *Input) {
			in.Drift = []DriftResult{Compare(DriftItem{Connector: "source-a", Path: "a/config.json", Secret: "S", Version: "2"}, []byte(`{"a":`), []byte(`{"a": 1}`))}
		}, KindDriftNotJSON, Warning, "the local file is not valid JSON", "ci-secrets sync source-a", 1},
		{"drift unreadable", func(in *Input) {
			in.Drift = []DriftResult{{DriftItem: DriftItem{Connector: "source-a", Path: "a/config.json", Secret: "S", Version: "2"}, Err: errors.New("permission denied")}}
		}, KindDriftUnread, Error, "cannot compare a/config.json with S: permission denied", "roles/secretmanager.secretAccessor", 1},
		{"drift no secret", func(in *Input) {
			in.Drift = []DriftResult{{DriftItem: DriftItem{Connector: "source-a", Path: "a/left.json"}}}
		}, KindDriftUnserved, Info, "a/left.json is served by no secret", "delete it", 1},
	}
	covered := map[Kind]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := healthy()
			tt.edit(&in)
			rep := Check(in)
			got := kinds(rep.Problems)
			if got[tt.kind] != tt.count || len(rep.Problems) != tt.count {
				t.Fatalf("problems %v, want %d %s only:\n%+v", got, tt.count, tt.kind, rep.Problems)
			}
			p := rep.Problems[0]
			if p.Severity != tt.sev {
				t.Errorf("severity %s, want %s", p.Severity, tt.sev)
			}
			if !strings.Contains(p.Message, tt.want) {
				t.Errorf("message %q does not contain %q", p.Message, tt.want)
			}
			if !strings.Contains(p.Fix, tt.fix) {
				t.Errorf("fix %q does not contain %q", p.Fix, tt.fix)
			}
			covered[tt.kind] = true
		})
	}
	for _, k := range Kinds() {
		if !covered[k] {
			t.Errorf("no case for %s", k)
		}
	}
}

func TestCheckScope(t *testing.T) {
	in := healthy()
	in.Scope = Scope{Connectors: []string{"source-b"}}
	in.Inventory.Secrets = append(in.Inventory.Secrets,
		sec("SECRET_SOURCE-B_CREDS", "connector", "source-b"),
		sec("SECRET_BAD_CREDS", "connector", "source-b__x"),
		sec("SECRET_NOLABEL_CREDS"))
	in.Inventory.Versions["SECRET_SOURCE-B_CREDS"] = nil
	in.Inventory.Versions["SECRET_SOURCE-A_CREDS"] = nil // out of scope: not reported
	in.Git.Tracked = []string{"airbyte-integrations/connectors/source-a/secrets/config.json", "secrets/top.json"}
	rep := Check(in)
	got := kinds(rep.Problems)
	want := map[Kind]int{KindNoEnabled: 1, KindInvalidLabel: 1, KindOrphan: 1}
	if len(got) != len(want) {
		t.Fatalf("problems %v, want %v:\n%+v", got, want, rep.Problems)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d, want %d", k, got[k], n)
		}
	}
	for _, p := range rep.Problems {
		if strings.Contains(p.Secret, "SOURCE-A") || p.Connector == "source-a" {
			t.Errorf("out-of-scope problem reported: %+v", p)
		}
	}
	if ids := VersionTargets(in.Inventory, in.Scope); strings.Join(ids, ",") != "SECRET_BAD_CREDS,SECRET_SOURCE-B_CREDS" {
		t.Errorf("VersionTargets = %v, want the two secrets naming source-b", ids)
	}
}

func TestCheckUnknownConnector(t *testing.T) {
	in := healthy()
	in.Scope = Scope{Connectors: []string{"source-a", "sorce-b"}}
	rep := Check(in)
	if len(rep.Problems) != 0 || len(rep.Skipped) != 1 || rep.Skipped[0].Check != "connector sorce-b" {
		t.Fatalf("problems %+v, skipped %+v; want sorce-b named as unknown", rep.Problems, rep.Skipped)
	}
}

func TestCheckSkips(t *testing.T) {
	in := healthy()
	in.Repo = &Repo{}
	in.Git = &Git{Reason: "git is not installed"}
	rep := Check(in)
	if len(rep.Skipped) != 2 || rep.Skipped[0].Check != "repository" || !strings.Contains(rep.Skipped[1].Reason, "git is not installed") {
		t.Fatalf("skipped = %+v", rep.Skipped)
	}
	if len(rep.Problems) != 0 {
		t.Errorf("problems without a repository: %+v (orphans must not be guessed)", rep.Problems)
	}
}

// TestCheckHostileText: label values and file names are printed escaped, on
// one line, never as a workflow command.
func TestCheckHostileText(t *testing.T) {
	in := healthy()
	in.Inventory.Secrets = append(in.Inventory.Secrets, sec("not-ci", "connector", "x\n::add-mask::\x1b[31m\u202e"))
	in.Repo.Connectors["source-a"].Secrets.Entries = append(in.Repo.Connectors["source-a"].Secrets.Entries, DirEntry{"a\r\n::error::x.json", 0o644})
	rep := Check(in)
	if len(rep.Problems) != 2 {
		t.Fatalf("want 2 problems, got %+v", rep.Problems)
	}
	for _, p := range rep.Problems {
		for _, f := range []string{p.Secret, p.Connector, p.File, p.Message, p.Fix} {
			if strings.ContainsAny(f, "\n\r\x1b\u202e") || strings.HasPrefix(f, "::") {
				t.Errorf("unescaped field %q", f)
			}
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"source-s3", "source-s3", 0}, {"source-s33", "source-s3", 1}, {"sorce-s3", "source-s3", 1}, {"source-3s", "source-s3", 2},
		{"destination-s3", "source-s3", 3}, {"", "abc", 3}, {"abc", "", 3}} {
		if got := editDistance(tt.a, tt.b, 3); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
