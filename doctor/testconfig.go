package doctor

import (
	"fmt"
	"path"
	"strings"

	"gopkg.in/yaml.v3"
)

// Test configuration files a connector folder may hold.
const (
	AcceptanceConfig = "acceptance-test-config.yml"
	MetadataFile     = "metadata.yaml"
)

// secretsPrefix starts the paths, relative to a connector folder, that are
// credentials (integration_tests/invalid_config.json is not one).
const secretsPrefix = "secrets/"

// ParseAcceptanceConfig returns the secrets files an acceptance-test-config.yml
// names: every config_path value under secrets/, wherever it sits in the
// document (test sections nest differently from one version of the format
// to the next), in order of appearance, each once.
func ParseAcceptanceConfig(data []byte) ([]Need, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	var out []Need
	seen := map[string]bool{}
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if depth > 64 {
			return
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value == "config_path" && v.Kind == yaml.ScalarNode {
					if f, ok := secretsFile(v.Value); ok && !seen[f] {
						seen[f] = true
						out = append(out, Need{File: f, Source: AcceptanceConfig})
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c, depth+1)
		}
	}
	walk(&doc, 0)
	return out, nil
}

// secretsFile turns a connector-relative path into a file of the secrets
// folder, or ok=false when it lies elsewhere.
func secretsFile(p string) (string, bool) {
	p = path.Clean(strings.TrimSpace(p))
	rest, ok := strings.CutPrefix(p, secretsPrefix)
	if !ok || rest == "" {
		return "", false
	}
	return rest, true
}

type metadataDoc struct {
	Data struct {
		ConnectorTestSuitesOptions []struct {
			Suite       string `yaml:"suite"`
			TestSecrets []struct {
				Name     string `yaml:"name"`
				FileName string `yaml:"fileName"`
			} `yaml:"testSecrets"`
		} `yaml:"connectorTestSuitesOptions"`
	} `yaml:"data"`
}

// ParseMetadata returns the test secrets a metadata.yaml names in
// data.connectorTestSuitesOptions[].testSecrets[]: the GSM secret and,
// when fileName is given, the file it must become. Entries repeated across
// suites are returned once.
func ParseMetadata(data []byte) ([]Need, error) {
	var doc metadataDoc
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not valid YAML or not shaped like a connector's metadata.yaml: %w", err)
	}
	var out []Need
	seen := map[Need]bool{}
	for _, suite := range doc.Data.ConnectorTestSuitesOptions {
		for _, ts := range suite.TestSecrets {
			n := Need{Secret: strings.TrimSpace(ts.Name), Source: MetadataFile}
			if ts.FileName != "" {
				n.File = path.Clean(strings.TrimPrefix(strings.TrimSpace(ts.FileName), secretsPrefix))
			}
			if n.Secret == "" && n.File == "" || seen[n] {
				continue
			}
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}
