package doctor

import (
	"reflect"
	"testing"
)

func TestParseAcceptanceConfig(t *testing.T) {
	got, err := ParseAcceptanceConfig([]byte(`
connector_image: airbyte/source-x:dev
tests:              # the older layout
  spec:
    - spec_path: "source_x/spec.json"
      config_path: "secrets/config.json"
acceptance_tests:   # the newer one
  connection:
    tests:
      - config_path: ./secrets/config.json
      - config_path: "secrets/config_oauth.json"
      - config_path: integration_tests/invalid_config.json
      - config_path: secrets/../integration_tests/x.json
  basic_read:
    bypass_reason: "config_path: secrets/not-a-key.json"
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Need{{File: "config.json", Source: AcceptanceConfig}, {File: "config_oauth.json", Source: AcceptanceConfig}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("needs = %+v, want %+v", got, want)
	}
	if _, err := ParseAcceptanceConfig([]byte("tests: [\n")); err == nil {
		t.Error("broken YAML accepted")
	}
	if got, err := ParseAcceptanceConfig(nil); err != nil || got != nil {
		t.Errorf("empty file: %v, %v", got, err)
	}
}

func TestParseMetadata(t *testing.T) {
	got, err := ParseMetadata([]byte(`
data:
  name: source-x
  connectorTestSuitesOptions:
    - suite: unitTests
    - suite: integrationTests
      testSecrets:
        - name: SECRET_SOURCE-X__CREDS
          fileName: config.json
          secretStore: {type: GSM, alias: airbyte-connector-testing-secret-store}
        - name: SECRET_SOURCE-X_OAUTH__CREDS
    - suite: acceptanceTests
      testSecrets:
        - name: SECRET_SOURCE-X__CREDS
          fileName: config.json
        - name: SECRET_SOURCE-X_SSH__CREDS
          fileName: secrets/ssh.json
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Need{
		{File: "config.json", Secret: "SECRET_SOURCE-X__CREDS", Source: MetadataFile},
		{Secret: "SECRET_SOURCE-X_OAUTH__CREDS", Source: MetadataFile},
		{File: "ssh.json", Secret: "SECRET_SOURCE-X_SSH__CREDS", Source: MetadataFile},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("needs = %+v, want %+v", got, want)
	}
	if _, err := ParseMetadata([]byte("data:\n  connectorTestSuitesOptions: 3\n")); err == nil {
		t.Error("misshapen metadata accepted")
	}
}
