package labels_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/airbytehq/ci-secrets/labels"
)

func TestParseUpdatedName(t *testing.T) {
	for _, tc := range []struct {
		name, file, number string
	}{
		{"config|1700000000.json", "config.json", "1700000000"},
		{"ssh_config|0.json", "ssh_config.json", "0"},
		{"oauth-v2|000042.json", "oauth-v2.json", "42"},
	} {
		file, num, err := labels.ParseUpdatedName(tc.name)
		if err != nil || file != tc.file || num != tc.number {
			t.Errorf("ParseUpdatedName(%q) = %q, %q, %v; want %q, %q", tc.name, file, num, err, tc.file, tc.number)
		}
	}
	for _, bad := range []string{
		"config.json", "config|.json", "config|12a.json", "config|-1.json", "config|1.json.bak",
		"|1.json", "Config|1.json", "con.fig|1.json", "a|b|1.json", "../config|1.json",
		"config|1.JSON", "config|" + strings.Repeat("9", 41) + ".json", "config|1", "conf ig|1.json",
		"config\n|1.json",
	} {
		_, _, err := labels.ParseUpdatedName(bad)
		if !errors.Is(err, labels.ErrBadUpdatedName) {
			t.Errorf("ParseUpdatedName(%q) = %v, want ErrBadUpdatedName", bad, err)
			continue
		}
		if strings.ContainsAny(err.Error(), "\n") {
			t.Errorf("ParseUpdatedName(%q) error is not one printable line: %q", bad, err)
		}
	}
}

func FuzzParseUpdatedName(f *testing.F) {
	f.Add("config|1700000000.json")
	f.Add("a|b|1.json")
	f.Fuzz(func(t *testing.T, name string) {
		file, num, err := labels.ParseUpdatedName(name)
		if err != nil {
			return
		}
		// Whatever is accepted names a file some secret can serve.
		if _, err := labels.StemOf(file); err != nil {
			t.Fatalf("ParseUpdatedName(%q) accepted %q: %v", name, file, err)
		}
		if num == "" || strings.Trim(num, "0123456789") != "" || len(num) > 1 && num[0] == '0' {
			t.Fatalf("ParseUpdatedName(%q) number %q", name, num)
		}
	})
}
