package doctor

import (
	"bytes"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/airbytehq/ci-secrets/gsm"
)

// readmeExample is the project behind the README's example report: a
// monorepo with three connectors and a store with a typical mix of
// problems.
func readmeExample() Input {
	c := "airbyte-integrations/connectors/"
	return Input{
		Scope: Scope{All: true},
		Inventory: Inventory{
			Project: "my-ci-project",
			Secrets: []gsm.Secret{
				sec("SECRET_SOURCE-HUBSPOT_CREDS", "connector", "source-hubspot"),
				sec("SECRET_SOURCE-S3_CREDS", "connector", "source-s3"),
				sec("SECRET_SOURCE-S3_PARQUET__CREDS", "connector", "source-s3", "filename", "parquet_config"),
				sec("SECRET_SOURCE-ZENDESK_CREDS", "connector", "source-zendesk"),
			},
			Versions: map[string][]gsm.Version{
				"SECRET_SOURCE-HUBSPOT_CREDS":     enabled("4", "3"),
				"SECRET_SOURCE-S3_CREDS":          {{Number: "2", State: "DISABLED"}, {Number: "1", State: "DISABLED"}},
				"SECRET_SOURCE-S3_PARQUET__CREDS": enabled("1"),
				"SECRET_SOURCE-ZENDESK_CREDS":     enabled("1"),
			},
		},
		Repo: &Repo{Integrations: true, Connectors: map[string]*Connector{
			"source-hubspot": {
				Name: "source-hubspot", Dir: c + "source-hubspot", HasTestConfig: true,
				Needs: []Need{{File: "config.json", Source: AcceptanceConfig}, {File: "config_oauth.json", Source: AcceptanceConfig}},
				Secrets: &SecretsDir{Path: c + "source-hubspot/secrets", Mode: fs.ModeDir | 0o700,
					Entries: []DirEntry{{".gitignore", 0o644}, {"config.json", 0o600}, {"updated_configurations", fs.ModeDir | 0o700}},
					Updated: &Folder{Path: c + "source-hubspot/secrets/updated_configurations", Mode: fs.ModeDir | 0o700,
						Entries: []DirEntry{{"config|1733011200.json", 0o600}}}},
			},
			"source-s3": {
				Name: "source-s3", Dir: c + "source-s3", HasTestConfig: true,
				Needs: []Need{{File: "config.json", Source: AcceptanceConfig}, {File: "parquet_config.json", Source: AcceptanceConfig}},
				Secrets: &SecretsDir{Path: c + "source-s3/secrets", Mode: fs.ModeDir | 0o755,
					Entries: []DirEntry{{"config.json", 0o644}}},
			},
		}},
		Git: &Git{Available: true,
			Tracked:    []string{c + "source-s3/secrets/config.json"},
			NotIgnored: []string{c + "source-s3/secrets/config.json"}},
	}
}

// TestReadmeExample keeps the README's doctor section honest: the report
// it shows is the one this project produces.
func TestReadmeExample(t *testing.T) {
	var b bytes.Buffer
	doc := NewDocument(Check(readmeExample()), gsm.Stats{ReadRequests: 5})
	if err := doc.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "An example report")
	_, after, ok2 := strings.Cut(after, "```\n")
	shown, _, ok3 := strings.Cut(after, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal(`README.md has no example report after "An example report"`)
	}
	if shown != b.String() {
		t.Errorf("README.md does not show the current example report; it is:\n%s", b.String())
	}
}
