package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/airbytehq/ci-secrets/labels"
	"github.com/airbytehq/ci-secrets/writer"
)

// maxConfigSize bounds a test configuration read: real ones are a few KiB.
const maxConfigSize = 1 << 20

// ScanRepo lists the connector folders under root (connectors/ and bases/,
// as sync places them: a base wins over a connector of the same name) and,
// for those in scope, reads their test configurations and inspects their
// secrets folders. It reads no secrets file. Links are reported, never
// followed.
func ScanRepo(ctx context.Context, root string, scope Scope) (*Repo, error) {
	repo := &Repo{Connectors: map[string]*Connector{}}
	for _, kind := range []string{"bases", "connectors"} {
		rel := "airbyte-integrations/" + kind
		list, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(rel)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot list the connectors in %s: %w", filepath.Join(root, rel), err)
		}
		repo.Integrations = true
		for _, e := range list {
			name := e.Name()
			if !e.IsDir() || labels.ValidateConnector(name) != nil {
				continue
			}
			if _, dup := repo.Connectors[name]; dup {
				continue
			}
			repo.Connectors[name] = &Connector{Name: name, Dir: rel + "/" + name}
		}
	}
	for _, c := range sortedConnectors(repo) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if scope.covers(c.Name) {
			if err := scanConnector(root, c); err != nil {
				return nil, err
			}
		}
	}
	return repo, nil
}

func scanConnector(root string, c *Connector) error {
	for _, f := range []struct {
		name  string
		parse func([]byte) ([]Need, error)
	}{{AcceptanceConfig, ParseAcceptanceConfig}, {MetadataFile, ParseMetadata}} {
		rel := c.Dir + "/" + f.name
		data, err := readSmall(filepath.Join(root, filepath.FromSlash(rel)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		c.HasTestConfig = true
		if err == nil {
			var needs []Need
			needs, err = f.parse(data)
			c.Needs = append(c.Needs, needs...)
		}
		if err != nil {
			c.ConfigErrors = append(c.ConfigErrors, ConfigError{File: rel, Err: err.Error()})
		}
	}
	sd, err := inspectDir(root, c.Dir+"/secrets")
	if err != nil || sd == nil {
		return err
	}
	c.Secrets = &SecretsDir{Path: sd.Path, Mode: sd.Mode, Entries: sd.Entries}
	for _, e := range sd.Entries {
		if e.Name == labels.UpdatedDir {
			u, err := inspectDir(root, sd.Path+"/"+e.Name)
			if err != nil {
				return err
			}
			c.Secrets.Updated = u
		}
	}
	return nil
}

// inspectDir describes a folder and its entries without following a link:
// a link or a non-folder comes back with its mode and no entries, and a
// folder that does not exist as nil.
func inspectDir(root, rel string) (*Folder, error) {
	p := filepath.Join(root, filepath.FromSlash(rel))
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot inspect %s: %w", p, err)
	}
	d := &Folder{Path: path.Clean(rel), Mode: fi.Mode()}
	if !fi.IsDir() {
		return d, nil
	}
	list, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("cannot list %s: %w", p, err)
	}
	for _, e := range list {
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot inspect %s: %w", filepath.Join(p, e.Name()), err)
		}
		d.Entries = append(d.Entries, DirEntry{Name: e.Name(), Mode: info.Mode()})
	}
	return d, nil
}

// readSmall reads a regular file of at most maxConfigSize bytes.
func readSmall(p string) ([]byte, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("it is %s, not a regular file", writer.DescribeMode(fi.Mode()))
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("it is larger than %d bytes", maxConfigSize)
	}
	return data, nil
}
