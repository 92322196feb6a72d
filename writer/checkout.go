package writer

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// IntegrationsDir is the folder of a monorepo root that holds every
// connector: <root>/airbyte-integrations/{connectors,bases}/<name>.
const IntegrationsDir = "airbyte-integrations"

// HasIntegrations reports whether Root holds an airbyte-integrations
// folder, i.e. may be the monorepo root it is meant to be. With Out set the
// root is not used and this is true.
func (l Layout) HasIntegrations() bool {
	if l.Out != "" {
		return true
	}
	fi, err := os.Stat(filepath.Join(l.root(), IntegrationsDir))
	return err == nil && fi.IsDir()
}

// HasCheckout reports whether Root is a checkout of the monorepo: some
// connector folder under airbyte-integrations holds more than a secrets
// folder (sources, metadata.yaml). A tree that only earlier syncs made
// (every connector folder holding secrets/ alone) is not one, so syncing
// into it again behaves as the first time did.
func (l Layout) HasCheckout() bool {
	if l.Out != "" || !l.HasIntegrations() {
		return l.Out != ""
	}
	for _, kind := range []string{"connectors", "bases"} {
		conns, err := os.ReadDir(filepath.Join(l.root(), IntegrationsDir, kind))
		if err != nil {
			continue
		}
		for _, c := range conns {
			if !c.IsDir() {
				continue
			}
			inside, err := os.ReadDir(filepath.Join(l.root(), IntegrationsDir, kind, c.Name()))
			if err != nil {
				continue
			}
			for _, e := range inside {
				if e.Name() != "secrets" {
					return true
				}
			}
		}
	}
	return false
}

// ConnectorDir returns the connector's own folder (the parent of its
// secrets folder) and whether it exists, so a typo in a connector's name,
// or a connector that is not in this checkout, can be named before a
// folder is created for it. exists is false only when nothing is at that
// path. With Out set there is no connector folder to
// check and exists is true.
func (l Layout) ConnectorDir(connector string) (dir string, exists bool, err error) {
	secrets, err := l.SecretsDir(connector)
	if err != nil {
		return "", false, err
	}
	if l.Out != "" {
		return secrets, true, nil
	}
	dir = filepath.Dir(secrets)
	// Anything in its place (a file, a link) counts as there: the write then
	// refuses it with its own message, rather than the connector being
	// skipped as absent.
	_, err = os.Lstat(dir)
	return dir, err == nil || !errors.Is(err, fs.ErrNotExist), nil
}

// InsideConnector reports whether dir lies inside a connector's folder of a
// checkout (<root>/airbyte-integrations/connectors/<name>/..., or bases/),
// returning the connector's name and the monorepo root. Running from there,
// a relative --root would nest a second airbyte-integrations tree inside
// the connector.
func InsideConnector(dir string) (connector, root string, ok bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", false
	}
	for d := abs; ; {
		parent := filepath.Dir(d)
		if parent == d {
			return "", "", false
		}
		kind := filepath.Base(parent)
		if (kind == "connectors" || kind == "bases") && filepath.Base(filepath.Dir(parent)) == IntegrationsDir {
			return filepath.Base(d), filepath.Dir(filepath.Dir(parent)), true
		}
		d = parent
	}
}
