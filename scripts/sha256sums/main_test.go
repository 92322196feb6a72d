package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSumsAndCheck(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{"b_linux_amd64": "bee", "a_darwin_arm64": "", "c.exe": "sea"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var sums bytes.Buffer
	if err := run(dir, &sums); err != nil {
		t.Fatal(err)
	}
	want := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  a_darwin_arm64\n"
	if !strings.HasPrefix(sums.String(), want) || strings.Count(sums.String(), "\n") != 3 {
		t.Errorf("sums = %q, want three sorted lines starting %q", sums.String(), want)
	}
	if err := os.WriteFile(filepath.Join(dir, "SHA256SUMS"), sums.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := verify(dir, &out); err != nil || out.String() != "3 files match SHA256SUMS\n" {
		t.Errorf("verify = %q, %v", out.String(), err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c.exe"), []byte("changed"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := verify(dir, &out); err == nil || !strings.Contains(err.Error(), "c.exe") {
		t.Errorf("a changed file passed the check: %v", err)
	}
}
