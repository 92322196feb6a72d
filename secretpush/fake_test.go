package secretpush

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/labels"
)

// memStore is a hand-written Store for the cases the emulator cannot stage
// (a failure at an exact point, a payload without bytes of its own). The
// emulator-backed tests run the real client.
type memStore struct {
	mu       sync.Mutex
	secrets  []gsm.Secret
	versions map[string][]memVersion
	calls    map[string]int
	// Hooks: a non-nil error fails the call.
	listErr error
	addErr  func(secret string) error
	// addLost carries the add out and then fails it with the error it
	// returns (nil: the add succeeds), as when an answer is lost.
	addLost     func(secret string) error
	listVersErr error
	disableErr  func(secret, version string) error
	onAccess    func(secret string)
}

type memVersion struct {
	data    []byte
	enabled bool
}

func newMemStore() *memStore {
	return &memStore{versions: map[string][]memVersion{}, calls: map[string]int{}}
}

// put adds a secret with labels and enabled versions.
func (m *memStore) put(id string, lbls map[string]string, data ...string) {
	m.secrets = append(m.secrets, gsm.Secret{ID: id, Name: "projects/p/secrets/" + id, Labels: lbls})
	for _, d := range data {
		m.versions[id] = append(m.versions[id], memVersion{data: []byte(d), enabled: true})
	}
}

func (m *memStore) ListSecrets(context.Context) ([]gsm.Secret, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls["ListSecrets"]++
	return m.secrets, m.listErr
}

func (m *memStore) Access(_ context.Context, id string) (*gsm.Payload, error) {
	if m.onAccess != nil {
		m.onAccess(id)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls["Access"]++
	vs := m.versions[id]
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].enabled {
			return gsm.NewPayload(id, strconv.Itoa(i+1), vs[i].data), nil
		}
	}
	return nil, fmt.Errorf("read %s: %w", id, gsm.ErrNoEnabledVersion)
}

func (m *memStore) AddVersion(_ context.Context, id string, data []byte) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls["AddVersion"]++
	if m.addErr != nil {
		if err := m.addErr(id); err != nil {
			return "", err
		}
	}
	m.versions[id] = append(m.versions[id], memVersion{data: append([]byte(nil), data...), enabled: true})
	added := strconv.Itoa(len(m.versions[id]))
	if m.addLost != nil {
		if err := m.addLost(id); err != nil {
			return "", err
		}
	}
	return added, nil
}

// ListVersions honours the one filter push uses, state:ENABLED.
func (m *memStore) ListVersions(_ context.Context, id, filter string, max int) ([]gsm.Version, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls["ListVersions"]++
	if m.listVersErr != nil {
		return nil, m.listVersErr
	}
	var out []gsm.Version
	vs := m.versions[id]
	for i := len(vs) - 1; i >= 0 && (max <= 0 || len(out) < max); i-- {
		st := "DISABLED"
		if vs[i].enabled {
			st = "ENABLED"
		}
		if filter == "state:ENABLED" && !vs[i].enabled {
			continue
		}
		out = append(out, gsm.Version{Number: strconv.Itoa(i + 1), State: st})
	}
	return out, nil
}

func (m *memStore) DisableVersion(_ context.Context, id, version string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls["DisableVersion"]++
	if m.disableErr != nil {
		if err := m.disableErr(id, version); err != nil {
			return err
		}
	}
	n, err := strconv.Atoi(version)
	if err != nil || n < 1 || n > len(m.versions[id]) {
		return fmt.Errorf("disable version %s of %s: %w", version, id, gsm.ErrNotFound)
	}
	m.versions[id][n-1].enabled = false
	return nil
}

// state renders a secret's versions as "1:off 2:on" with their data.
func (m *memStore) state(id string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for i, v := range m.versions[id] {
		st := "off"
		if v.enabled {
			st = "on"
		}
		out = append(out, fmt.Sprintf("%d:%s:%s", i+1, st, v.data))
	}
	return out
}

// tree is a monorepo root in a temporary folder.
type tree struct {
	t    *testing.T
	root string
}

func newTree(t *testing.T) *tree { return &tree{t: t, root: t.TempDir()} }

// updates returns the updated_configurations folder of a connector.
func (tr *tree) updates(connector string) string {
	return filepath.Join(tr.root, "airbyte-integrations", "connectors", connector, "secrets", labels.UpdatedDir)
}

// write puts an updated configuration in place with the given mtime offset.
func (tr *tree) write(connector, name, content string) string {
	tr.t.Helper()
	dir := tr.updates(connector)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tr.t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		tr.t.Fatal(err)
	}
	return p
}
