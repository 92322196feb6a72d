package writer_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/airbytehq/ci-secrets/writer"
)

func TestCheckoutChecks(t *testing.T) {
	root := t.TempDir()
	l := writer.Layout{Root: root}
	if l.HasIntegrations() || l.HasCheckout() {
		t.Errorf("an empty folder looks like a checkout")
	}
	// What earlier syncs leave: connector folders holding secrets/ only.
	for _, d := range []string{"airbyte-integrations/connectors/source-s3/secrets", "airbyte-integrations/bases/base-normalization/secrets"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if !l.HasIntegrations() || l.HasCheckout() {
		t.Errorf("a tree only syncs made: HasIntegrations %v HasCheckout %v, want true, false", l.HasIntegrations(), l.HasCheckout())
	}
	if err := os.MkdirAll(filepath.Join(root, "airbyte-integrations/connectors/source-s3/integration_tests"), 0o755); err != nil {
		t.Fatal(err)
	}
	if !l.HasCheckout() {
		t.Errorf("a connector folder with sources does not make a checkout")
	}
	for _, tc := range []struct {
		conn   string
		dir    string
		exists bool
	}{
		{"source-s3", "airbyte-integrations/connectors/source-s3", true},
		{"base-normalization", "airbyte-integrations/bases/base-normalization", true},
		{"source-s4", "airbyte-integrations/connectors/source-s4", false},
	} {
		dir, exists, err := l.ConnectorDir(tc.conn)
		if err != nil || dir != filepath.Join(root, tc.dir) || exists != tc.exists {
			t.Errorf("ConnectorDir(%s) = %s, %v, %v; want %s, %v", tc.conn, dir, exists, err, tc.dir, tc.exists)
		}
	}
	// Something that is not a folder in its place is there (the write will
	// refuse it), not absent.
	if err := os.WriteFile(filepath.Join(root, "airbyte-integrations/connectors/source-file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, exists, err := l.ConnectorDir("source-file"); err != nil || !exists {
		t.Errorf("a file in a connector folder's place counts as absent (%v, %v)", exists, err)
	}
	if _, _, err := l.ConnectorDir("../etc"); err == nil {
		t.Errorf("ConnectorDir accepted a traversal")
	}
	if out := (writer.Layout{Out: "secrets"}); !out.HasCheckout() {
		t.Errorf("with --out there is no checkout to require")
	}

	inside := filepath.Join(root, "airbyte-integrations/connectors/source-s3/integration_tests")
	conn, top, ok := writer.InsideConnector(inside)
	if !ok || conn != "source-s3" || top != root {
		t.Errorf("InsideConnector(%s) = %q, %q, %v; want source-s3, %s", inside, conn, top, ok, root)
	}
	if conn, _, ok := writer.InsideConnector(filepath.Join(root, "airbyte-integrations/bases/base-normalization")); !ok || conn != "base-normalization" {
		t.Errorf("a base's folder is not recognised: %q %v", conn, ok)
	}
	for _, d := range []string{root, filepath.Join(root, "airbyte-integrations"), filepath.Join(root, "airbyte-integrations/connectors")} {
		if c, _, ok := writer.InsideConnector(d); ok {
			t.Errorf("InsideConnector(%s) = %q: not inside a connector", d, c)
		}
	}
}
