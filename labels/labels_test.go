package labels_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/airbytehq/ci-secrets/labels"
)

func TestIsSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"SECRET_SOURCE-S3_CREDS":             true,
		"SECRET_SOURCE-S3_PARQUET__CREDS":    true,
		"SECRET_A_CREDS":                     true,
		"SECRET__CREDS":                      false, // nothing between the parts
		"SECRET_source-s3_CREDS":             false,
		"SECRET_SOURCE-S3_CREDS_OLD":         false,
		"XSECRET_SOURCE-S3_CREDS":            false,
		"SECRET_SOURCE.S3_CREDS":             false,
		"SECRET_SOURCE-S3_CREDS\n":           false,
		"":                                   false,
		"SECRET_SOURCE/../S3_CREDS":          false,
		"SECRET_ＳOURCE-S3_CREDS":             false, // full-width S
		"SECRET_SOURCE-MYSQL_DEST-PG__CREDS": true,
	} {
		if got := labels.IsSecretName(name); got != want {
			t.Errorf("IsSecretName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestParseConnectors(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "source-s3", want: []string{"source-s3"}},
		{in: "source-mysql_destination-mysql", want: []string{"source-mysql", "destination-mysql"}},
		{in: "a_b_c", want: []string{"a", "b", "c"}},
		{in: "source-s3_source-s3", want: []string{"source-s3"}},
		{in: "", wantErr: "empty"},
		{in: "_source-s3", wantErr: "empty part"},
		{in: "source-s3_", wantErr: "empty part"},
		{in: "source-s3__destination-s3", wantErr: "empty part"},
		{in: "_", wantErr: "empty part"},
		{in: "Source-S3", wantErr: "may only hold"},
		{in: "source.s3", wantErr: "may only hold"},
		{in: "../etc", wantErr: "may only hold"},
		{in: "source/s3", wantErr: "may only hold"},
		{in: "-source", wantErr: "must not start or end"},
		{in: "source-", wantErr: "must not start or end"},
		{in: "source\x00s3", wantErr: "may only hold"},
		{in: "sourcé", wantErr: "may only hold"},
		{in: strings.Repeat("a", 64), wantErr: "longer than 63"},
		{in: strings.Repeat("a", 63), want: []string{strings.Repeat("a", 63)}},
	}
	for _, tt := range tests {
		got, err := labels.ParseConnectors(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, labels.ErrInvalidLabel) {
				t.Errorf("ParseConnectors(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseConnectors(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestFileName(t *testing.T) {
	if f, err := labels.FileName("", false); err != nil || f != "config.json" {
		t.Errorf("absent label = %q, %v; want config.json", f, err)
	}
	good := []string{"config", "ssh_config", "config_oauth", "a", "x-1"}
	for _, g := range good {
		if f, err := labels.FileName(g, true); err != nil || f != g+".json" {
			t.Errorf("FileName(%q) = %q, %v", g, f, err)
		}
	}
	bad := []string{"", ".", "..", "../x", "/etc/passwd", "a/b", "a.b", "Config", "x\x00", "x\n", "ｃonfig", strings.Repeat("x", 64), "a b", `a\b`}
	for _, b := range bad {
		f, err := labels.FileName(b, true)
		if err == nil {
			t.Errorf("FileName(%q) = %q, want an error", b, f)
			continue
		}
		if strings.ContainsAny(err.Error(), "\x00\n") {
			t.Errorf("error for %q carries raw control characters: %q", b, err)
		}
	}
}

func TestStemOf(t *testing.T) {
	if s, err := labels.StemOf("ssh_config.json"); err != nil || s != "ssh_config" {
		t.Errorf("StemOf = %q, %v", s, err)
	}
	for _, b := range []string{"config", "x.txt", ".json", "a.b.json", "../a.json"} {
		if _, err := labels.StemOf(b); err == nil {
			t.Errorf("StemOf(%q) succeeded", b)
		}
	}
}

func TestNormalizeConnector(t *testing.T) {
	for in, want := range map[string]string{
		"source-s3":                                 "source-s3",
		"connectors/source-s3":                      "source-s3",
		"connectors/source-s3/":                     "source-s3",
		"bases/base-normalization":                  "base-normalization",
		"airbyte-integrations/connectors/source-s3": "source-s3",
		"./airbyte-integrations/bases/base-java":    "base-java",
	} {
		if got, err := labels.NormalizeConnector(in); err != nil || got != want {
			t.Errorf("NormalizeConnector(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "Source-S3", "connectors/../etc", "x/y/z", "/abs", "source_s3", "/", "a b"} {
		if got, err := labels.NormalizeConnector(in); err == nil {
			t.Errorf("NormalizeConnector(%q) = %q, want error", in, got)
		}
	}
}

func TestClassify(t *testing.T) {
	if _, ok := labels.Classify("OTHER", nil); ok {
		t.Error("a non-CI name was classified")
	}
	e, ok := labels.Classify("SECRET_X_CREDS", map[string]string{"connector": "source-x_destination-x", "filename": "oauth"})
	if !ok || e.Problem != nil || e.File != "oauth.json" || !reflect.DeepEqual(e.Connectors, []string{"source-x", "destination-x"}) {
		t.Fatalf("Classify = %+v", e)
	}
	if !e.Serves("destination-x") || e.Serves("source-y") {
		t.Error("Serves is wrong")
	}
	e, _ = labels.Classify("SECRET_X_CREDS", map[string]string{"filename": "a/b"})
	if !errors.Is(e.Problem, labels.ErrNoConnectorLabel) || !errors.Is(e.Problem, labels.ErrInvalidLabel) {
		t.Errorf("want both problems, got %v", e.Problem)
	}
	if len(e.Targets()) != 0 || e.Serves("x") {
		t.Error("an entry with a problem serves something")
	}
}

func entry(t *testing.T, id string, lbls map[string]string) labels.Entry {
	t.Helper()
	e, ok := labels.Classify(id, lbls)
	if !ok {
		t.Fatalf("%s is not a CI secret name", id)
	}
	return e
}

func TestPlanFor(t *testing.T) {
	entries := []labels.Entry{
		entry(t, "SECRET_SOURCE-S3_CREDS", map[string]string{"connector": "source-s3"}),
		entry(t, "SECRET_SOURCE-S3_OTHER__CREDS", map[string]string{"connector": "source-s3", "filename": "other"}),
		entry(t, "SECRET_MYSQL_CREDS", map[string]string{"connector": "source-mysql_destination-mysql", "filename": "ssh"}),
		entry(t, "SECRET_MYSQL_DUP__CREDS", map[string]string{"connector": "destination-mysql", "filename": "ssh"}),
		entry(t, "SECRET_BAD_CREDS", map[string]string{"connector": "source-s3", "filename": "../x"}),
		entry(t, "SECRET_NOLABEL_CREDS", map[string]string{}),
	}
	p := labels.PlanFor(entries, []string{"source-s3", "source-mysql", "destination-mysql", "source-none"}, false)
	var writes []string
	for _, w := range p.Writes {
		writes = append(writes, w.Target.String()+"<-"+w.Secret)
	}
	want := []string{"source-mysql/ssh.json<-SECRET_MYSQL_CREDS", "source-s3/config.json<-SECRET_SOURCE-S3_CREDS", "source-s3/other.json<-SECRET_SOURCE-S3_OTHER__CREDS"}
	if !reflect.DeepEqual(writes, want) {
		t.Errorf("writes = %v, want %v", writes, want)
	}
	if len(p.Conflicts) != 1 || p.Conflicts[0].Target.String() != "destination-mysql/ssh.json" ||
		!reflect.DeepEqual(p.Conflicts[0].Secrets, []string{"SECRET_MYSQL_CREDS", "SECRET_MYSQL_DUP__CREDS"}) {
		t.Errorf("conflicts = %+v", p.Conflicts)
	}
	if msg := p.Conflicts[0].Error(); !strings.Contains(msg, "SECRET_MYSQL_CREDS") || !strings.Contains(msg, "SECRET_MYSQL_DUP__CREDS") {
		t.Errorf("conflict message does not name both secrets: %s", msg)
	}
	if len(p.Invalid) != 1 || p.Invalid[0].Secret != "SECRET_BAD_CREDS" {
		t.Errorf("invalid = %+v", p.Invalid)
	}
	if !reflect.DeepEqual(p.Missing, []string{"source-none"}) {
		t.Errorf("missing = %v", p.Missing)
	}
	all := labels.PlanFor(entries, nil, true)
	if len(all.Unlabelled) != 1 || len(all.Invalid) != 1 || len(all.Writes) != 3 || len(all.Conflicts) != 1 {
		t.Errorf("plan for all = %+v", all)
	}
}

// FuzzClassify checks the one property that matters for safety: whatever the
// labels, a file name that comes out is a single plain path element.
func FuzzClassify(f *testing.F) {
	for _, s := range [][2]string{{"source-s3", "config"}, {"a_b", "../x"}, {"_", "."}, {"x", "a/b"}, {"", ""}, {"x\x00", "ｃ"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, connector, filename string) {
		e, ok := labels.Classify("SECRET_F_CREDS", map[string]string{"connector": connector, "filename": filename})
		if !ok {
			t.Fatal("a valid name was rejected")
		}
		for _, tg := range e.Targets() {
			for _, el := range []string{tg.Connector, tg.File} {
				if el == "" || el == "." || el == ".." || strings.ContainsAny(el, "/\\\x00") || filepath.Base(el) != el || filepath.IsAbs(el) {
					t.Fatalf("unsafe path element %q from labels %q %q", el, connector, filename)
				}
				for _, r := range el {
					if r > 127 {
						t.Fatalf("non-ASCII %q in %q", r, el)
					}
				}
			}
			if !strings.HasSuffix(tg.File, ".json") {
				t.Fatalf("file %q lacks .json", tg.File)
			}
		}
		if c, err := labels.NormalizeConnector(connector); err == nil && (strings.ContainsAny(c, "/._") || c == "") {
			t.Fatalf("NormalizeConnector(%q) = %q", connector, c)
		}
	})
}

func ExampleClassify() {
	e, _ := labels.Classify("SECRET_SOURCE-MYSQL_SSH_CREDS", map[string]string{
		"connector": "source-mysql_destination-mysql",
		"filename":  "ssh_config",
	})
	for _, t := range e.Targets() {
		fmt.Println(t)
	}
	bad, _ := labels.Classify("SECRET_EVIL_CREDS", map[string]string{"connector": "source-x", "filename": "../../etc/passwd"})
	fmt.Println(bad.Problem)
	// Output:
	// source-mysql/ssh_config.json
	// destination-mysql/ssh_config.json
	// invalid label: filename label "../../etc/passwd" may only hold a-z, 0-9, _ and -
}
