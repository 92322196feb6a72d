package doctor

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestScanRepo(t *testing.T) {
	root := t.TempDir()
	c := "airbyte-integrations/connectors/"
	files(t, root, map[string]string{
		c + "source-a/acceptance-test-config.yml":                   "acceptance_tests:\n  spec:\n    tests:\n      - config_path: secrets/config.json\n",
		c + "source-a/metadata.yaml":                                "data:\n  connectorTestSuitesOptions:\n    - suite: unitTests\n      testSecrets:\n        - name: SECRET_A_CREDS\n          fileName: oauth.json\n",
		c + "source-a/secrets/config.json":                          "{}",
		c + "source-a/secrets/updated_configurations/config|1.json": "{}",
		c + "source-b/metadata.yaml":                                "data: [\n",
		c + "base-x/metadata.yaml":                                  "",
		"airbyte-integrations/bases/base-x/secrets/config.json":     "{}",
		c + "Not_A_Connector/metadata.yaml":                         "",
		c + "source-out/secrets/config.json":                        "{}",
	})
	if err := os.Chmod(filepath.Join(root, c+"source-a/secrets"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A linked secrets folder is described, never followed.
	if err := os.MkdirAll(filepath.Join(root, c+"source-l"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, c+"source-a/secrets"), filepath.Join(root, c+"source-l/secrets")); err != nil {
		t.Fatal(err)
	}
	repo, err := ScanRepo(context.Background(), root, Scope{Connectors: []string{"source-a", "source-b", "base-x", "source-l"}})
	if err != nil {
		t.Fatal(err)
	}
	if !repo.Integrations || len(repo.Connectors) != 5 {
		t.Fatalf("connectors %v, want source-a, source-b, base-x, source-l, source-out", repo.Connectors)
	}
	a := repo.Connectors["source-a"]
	if !a.HasTestConfig || len(a.Needs) != 2 || a.Needs[0].File != "config.json" || a.Needs[1].File != "oauth.json" || a.Needs[1].Secret != "SECRET_A_CREDS" {
		t.Errorf("source-a needs %+v", a.Needs)
	}
	if a.Secrets == nil || a.Secrets.Mode.Perm() != 0o755 || len(a.Secrets.Entries) != 2 {
		t.Fatalf("source-a secrets %+v", a.Secrets)
	}
	if u := a.Secrets.Updated; u == nil || len(u.Entries) != 1 || u.Entries[0].Name != "config|1.json" {
		t.Errorf("source-a updates %+v", a.Secrets.Updated)
	}
	if b := repo.Connectors["source-b"]; len(b.ConfigErrors) != 1 || b.ConfigErrors[0].File != c+"source-b/metadata.yaml" {
		t.Errorf("source-b config errors %+v", b.ConfigErrors)
	}
	if x := repo.Connectors["base-x"]; x.Dir != "airbyte-integrations/bases/base-x" || x.Secrets == nil {
		t.Errorf("a base wins over a connector of the same name, as sync places it: %+v", x)
	}
	if l := repo.Connectors["source-l"]; l.Secrets == nil || l.Secrets.Mode&fs.ModeSymlink == 0 || l.Secrets.Entries != nil {
		t.Errorf("linked secrets folder %+v", l.Secrets)
	}
	if out := repo.Connectors["source-out"]; out.Secrets != nil {
		t.Errorf("out of scope, yet scanned: %+v", out)
	}
	if got := repo.Probes(); len(got) != 3 {
		t.Errorf("probes %v, want source-a's two entries, base-x's file and none for the link", got)
	}
}

func TestScanRepoNoIntegrations(t *testing.T) {
	repo, err := ScanRepo(context.Background(), t.TempDir(), Scope{All: true})
	if err != nil || repo.Integrations {
		t.Fatalf("empty root: %+v, %v", repo, err)
	}
}
