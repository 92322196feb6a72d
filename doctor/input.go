package doctor

import (
	"io/fs"
	"strings"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/labels"
)

// ListFilter selects, in one ListSecrets request, the CI secrets and every
// secret carrying a connector label, so a labelled secret whose name misses
// the convention is seen too.
const ListFilter = labels.ListFilter + " OR labels." + labels.ConnectorKey + ":*"

// Scope is what a run was asked about: every connector, or some.
type Scope struct {
	All        bool
	Connectors []string // normalised names; ignored when All
}

func (s Scope) want() map[string]bool {
	m := make(map[string]bool, len(s.Connectors))
	for _, c := range s.Connectors {
		m[c] = true
	}
	return m
}

// covers reports whether a connector is in scope.
func (s Scope) covers(connector string) bool {
	if s.All {
		return true
	}
	for _, c := range s.Connectors {
		if c == connector {
			return true
		}
	}
	return false
}

// Inventory is the store as one run saw it.
type Inventory struct {
	Project  string
	Location string
	// Secrets is one ListSecrets with ListFilter.
	Secrets []gsm.Secret
	// Versions holds, per secret ID, its versions newest first; a secret
	// absent from it was not asked about.
	Versions map[string][]gsm.Version
	// VersionErrors holds the secrets whose versions could not be listed.
	VersionErrors map[string]error
}

// Repo is a scan of the monorepo under --root.
type Repo struct {
	// Integrations is false when the root holds neither
	// airbyte-integrations/connectors nor airbyte-integrations/bases: the
	// checks that need connector folders are skipped then.
	Integrations bool
	// Connectors holds every connector folder found, in scope or not.
	Connectors map[string]*Connector
}

// Connector is one connector folder; the fields after Dir are filled only
// for connectors in scope.
type Connector struct {
	Name string
	Dir  string // relative to the root, slash-separated
	// HasTestConfig is true when acceptance-test-config.yml or metadata.yaml was read.
	HasTestConfig bool
	Needs         []Need
	ConfigErrors  []ConfigError
	// Secrets is the secrets folder; nil when there is none.
	Secrets *SecretsDir
}

// Need is one secrets file a connector's test configuration asks for.
type Need struct {
	File   string // relative to the secrets folder, e.g. config_oauth.json
	Secret string // the GSM secret metadata.yaml names, if any
	Source string // the file that asks, e.g. acceptance-test-config.yml
}

// ConfigError is a test configuration that could not be read.
type ConfigError struct {
	File string // relative to the root
	Err  string
}

// SecretsDir is a connector's secrets folder and what it holds.
type SecretsDir struct {
	Path    string // relative to the root
	Mode    fs.FileMode
	Entries []DirEntry
	// Updated is the updated_configurations folder; nil when there is none.
	Updated *Folder
}

// DirEntry is one entry of a folder (from Lstat: a link is a link).
type DirEntry struct {
	Name string
	Mode fs.FileMode
}

// Folder is a folder and its entries (an updated_configurations folder).
type Folder struct {
	Path    string
	Mode    fs.FileMode
	Entries []DirEntry
}

// Git is what git said about the tree.
type Git struct {
	// Available is false when git is missing or the root is not in a work
	// tree; Reason then says which, and the git checks are skipped.
	Available bool
	Reason    string
	// Tracked are tracked files under any secrets/ folder, relative to the root.
	Tracked []string
	// NotIgnored are paths probed inside secrets folders that git would add.
	NotIgnored []string
}

// Probes are the paths AskGit checks against git's ignore rules: every entry
// of each secrets folder in scope, or a config.json in an empty one.
func (r *Repo) Probes() []string {
	var out []string
	for _, c := range sortedConnectors(r) {
		if c.Secrets == nil || !c.Secrets.Mode.IsDir() {
			continue // git refuses paths beyond a link
		}
		n := 0
		for _, e := range c.Secrets.Entries {
			if e.Name == ".gitignore" {
				continue
			}
			out = append(out, c.Secrets.Path+"/"+e.Name)
			n++
		}
		if n == 0 {
			out = append(out, c.Secrets.Path+"/"+labels.DefaultStem+labels.FileExt)
		}
	}
	return out
}

// connectorOf finds the connector a root-relative path lies in.
func connectorOf(path string) string {
	parts := strings.Split(path, "/")
	if len(parts) >= 3 && parts[0] == "airbyte-integrations" && (parts[1] == "connectors" || parts[1] == "bases") {
		return parts[2]
	}
	return ""
}
