package emulator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

func TestParseSeedGood(t *testing.T) {
	s := parse(t, demoSeed)
	if s.Project != "demo-project" || len(s.Secrets) != 2 || s.Validate != nil {
		t.Fatalf("seed = %+v", s)
	}
	s3 := s.Secrets[0]
	if s3.Name != "SECRET_SOURCE-S3_CREDS" || s3.Labels["connector"] != "source-s3" || len(s3.Versions) != 2 {
		t.Errorf("s3 = %+v", s3)
	}
	if s3.Versions[0].State != "DISABLED" || string(s3.Versions[1].Data) != `{"bucket": "new"}` || s3.Versions[1].State != "" {
		t.Errorf("s3 versions = %+v", s3.Versions)
	}
	if got := string(s.Secrets[1].Versions[0].Data); got != `{"host": "db"}` {
		t.Errorf("data_base64 decoded to %q", got)
	}

	s = parse(t, `{"project": "p", "validate": false, "calls": {"ListSecrets": 3}, "secrets": [
		{"name": "weird.name", "location": "europe-west1", "labels": {"filename": "../../etc/x", "Caps": "V"},
		 "versions": [{"data": "x", "crc32c": 12345}, {}, {"state": "DESTROYED"}]}]}`)
	if *s.Validate || s.Secrets[0].Location != "europe-west1" || *s.Secrets[0].Versions[0].CRC32C != 12345 || s.Secrets[0].Versions[1].Data != nil {
		t.Errorf("unvalidated seed = %+v", s)
	}
	// An empty project is fine: no secrets at all.
	if s := parse(t, `{"project": "p"}`); len(s.Secrets) != 0 {
		t.Errorf("secrets = %v", s.Secrets)
	}
}

func TestParseSeedErrors(t *testing.T) {
	big := strings.Repeat("x", emulator.MaxPayloadSize+1)
	manyLabels := make([]string, 65)
	for i := range manyLabels {
		manyLabels[i] = fmt.Sprintf(`"k%d": "v"`, i)
	}
	sec := func(body string) string { return `{"project": "p", "secrets": [{"name": "OK"}, ` + body + `]}` }
	tests := []struct {
		name, seed, want string
	}{
		{"empty input", ``, "no JSON object"},
		{"not an object", `[1, 2]`, "JSON array where the seed object belongs"},
		{"wrong field type", `{"project": "p", "secrets": {}}`, `field "secrets" holds JSON object, not a JSON array`},
		{"trailing data", `{"project": "p"} {}`, "unexpected data after"},
		{"unknown top-level field", `{"project": "p", "secretz": []}`, `unknown field "secretz"`},
		{"missing project", `{"secrets": []}`, "project is empty"},
		{"project with slash", `{"project": "a/b"}`, `project "a/b"`},
		{"unknown secret field", sec(`{"name": "S", "lables": {}}`), `secrets[1] "S": json: unknown field "lables"`},
		{"unknown version field", sec(`{"name": "S", "versions": [{"dta": "x"}]}`), `secrets[1] "S": versions[0]: json: unknown field "dta"`},
		{"bad type", sec(`{"name": "S", "labels": {"a": 1}}`), `secrets[1] "S"`},
		{"bad base64", sec(`{"name": "S", "versions": [{"data_base64": "!!"}]}`), `secrets[1] "S": versions[0]: "data_base64" is not standard base64`},
		{"data and base64", sec(`{"name": "S", "versions": [{"data": "a", "data_base64": "YQ=="}]}`), `secrets[1] "S": versions[0]: give either`},
		{"bad state", sec(`{"name": "S", "versions": [{}, {"state": "enabled"}]}`), `secrets[1] "S": versions[1]: state "enabled"`},
		{"bad crc type", sec(`{"name": "S", "versions": [{"crc32c": "x"}]}`), `secrets[1] "S": versions[0]`},
		{"missing name", sec(`{"labels": {}}`), `secrets[1]: "name" is missing`},
		{"bad id", sec(`{"name": "S.json"}`), `secrets[1] "S.json": secret ID "S.json" contains '.'`},
		{"long id", sec(`{"name": "` + strings.Repeat("A", 256) + `"}`), "over the limit of 255"},
		{"capital label key", sec(`{"name": "S", "labels": {"Connector": "x"}}`), `secrets[1] "S": label key "Connector" must start with a lowercase letter`},
		{"digit label key", sec(`{"name": "S", "labels": {"1x": "x"}}`), `label key "1x"`},
		{"dot in label value", sec(`{"name": "S", "labels": {"filename": "../x"}}`), `value "../x" of label "filename" contains '.'`},
		{"long label value", sec(`{"name": "S", "labels": {"k": "` + strings.Repeat("a", 64) + `"}}`), "64 characters"},
		{"long label key", sec(`{"name": "S", "labels": {"` + strings.Repeat("k", 64) + `": ""}}`), "64 characters"},
		{"too many labels", sec(`{"name": "S", "labels": {` + strings.Join(manyLabels, ",") + `}}`), "65 labels"},
		{"oversize payload", sec(`{"name": "S", "versions": [{"data": "` + big + `"}]}`), `secrets[1] "S": versions[0]: payload is 65537 bytes`},
		{"duplicate", sec(`{"name": "OK"}`), `secrets[1] "OK": duplicate of secrets[0]`},
		{"bad location", sec(`{"name": "S", "location": "EU/1"}`), `location "EU/1"`},
		{"slash in unvalidated name", `{"project": "p", "validate": false, "secrets": [{"name": "a/b"}]}`, `name "a/b" contains /`},
		{"bad state unvalidated", `{"project": "p", "validate": false, "secrets": [{"name": "x", "versions": [{"state": "GONE"}]}]}`, `state "GONE"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := emulator.ParseSeed(strings.NewReader(tt.seed))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), big) {
				t.Error("the error repeats the payload")
			}
		})
	}
	// International lowercase is allowed in labels, as in GSM.
	parse(t, `{"project": "p", "secrets": [{"name": "S", "labels": {"été": "çà-1_"}}]}`)
}

func TestLoadSeed(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "seed.json")
	if err := os.WriteFile(p, []byte(demoSeed), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := emulator.LoadSeed(p); err != nil || len(s.Secrets) != 2 {
		t.Fatalf("LoadSeed = %v, %v", s, err)
	}
	if err := os.WriteFile(p, []byte(`{"project": "p", "secrets": [{"name": "bad name"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := emulator.LoadSeed(p); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), `secrets[0] "bad name"`) {
		t.Errorf("err = %v", err)
	}
	if _, err := emulator.LoadSeed(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file loaded")
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := emulator.New(nil, emulator.Options{}); err == nil {
		t.Error("nil seed accepted")
	}
	bad := &emulator.Seed{Project: "p", Secrets: []emulator.SeedSecret{{Name: "S", Labels: map[string]string{"Bad": "x"}}}}
	if _, err := emulator.New(bad, emulator.Options{}); err == nil || !strings.Contains(err.Error(), `secrets[0] "S"`) {
		t.Errorf("bad labels: %v", err)
	}
	off := false
	bad.Validate = &off
	if _, err := emulator.New(bad, emulator.Options{}); err != nil {
		t.Errorf("validate=false: %v", err)
	}
	ok := parse(t, demoSeed)
	for name, o := range map[string]emulator.Options{
		"rate":      {ErrorRate: 1.5},
		"nan":       {ErrorRate: mathNaN()},
		"latency":   {Latency: -1},
		"method":    {Faults: []emulator.Fault{{Method: "AccessSecret", Rate: 1}}},
		"faultRate": {Faults: []emulator.Fault{{Rate: -0.1}}},
		"quota":     {Quota: &emulator.Quota{ReadPerMinute: -1}},
	} {
		if _, err := emulator.New(ok, o); err == nil {
			t.Errorf("%s: bad options accepted", name)
		}
	}
}

// The seed's JSON form round-trips through MarshalJSON, with non-UTF-8 data
// as data_base64.
func TestSeedMarshalJSON(t *testing.T) {
	s := parse(t, demoSeed)
	s.Secrets[1].Versions[0].Data = []byte{0xff, 0x00, 'a'}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"data_base64":"/wBh"`)) || !bytes.Contains(b, []byte(`"state":"ENABLED"`)) {
		t.Errorf("json = %s", b)
	}
	back := parse(t, string(b))
	if !bytes.Equal(back.Secrets[1].Versions[0].Data, []byte{0xff, 0x00, 'a'}) || back.Secrets[0].Versions[0].State != "DISABLED" {
		t.Errorf("round trip = %+v", back)
	}
}

func FuzzParseSeed(f *testing.F) {
	f.Add(demoSeed)
	f.Add(`{"project": "p", "validate": false, "secrets": [{"name": "x", "labels": {"a": "../"}, "location": "l", "versions": [{"data_base64": "AA==", "state": "DESTROYED", "crc32c": -1}]}]}`)
	f.Add(`{"project": "p", "secrets": [{"name": "S", "versions": [{"data": "a", "data_base64": "YQ=="}]}]}`)
	f.Add(`{"secrets": null}`)
	f.Fuzz(func(t *testing.T, in string) {
		s, err := emulator.ParseSeed(strings.NewReader(in))
		if err != nil {
			return
		}
		// Whatever parses must build a server and survive a round trip.
		srv, err := emulator.New(s, emulator.Options{})
		if err != nil {
			t.Fatalf("parsed seed refused by New: %v", err)
		}
		var buf bytes.Buffer
		if err := srv.Dump(&buf); err != nil {
			t.Fatal(err)
		}
		if _, err := emulator.ParseSeed(&buf); err != nil {
			t.Fatalf("dump does not parse: %v\n%s", err, buf.String())
		}
	})
}
