// Command sha256sums prints "HASH  NAME" lines, as sha256sum does, for every
// regular file in a folder, so scripts/release.sh needs nothing but Go.
// With -check it verifies DIR/SHA256SUMS instead, naming each file that does
// not match.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	args := os.Args[1:]
	check := len(args) == 2 && args[0] == "-check"
	if check {
		args = args[1:]
	}
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: sha256sums [-check] DIR")
		os.Exit(2)
	}
	do := run
	if check {
		do = verify
	}
	if err := do(args[0], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "sha256sums: %v\n", err)
		os.Exit(1)
	}
}

func run(dir string, w io.Writer) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && e.Name() != "SHA256SUMS" && filepath.Ext(e.Name()) != ".tmp" {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		sum, err := hashFile(filepath.Join(dir, n))
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "%s  %s\n", sum, n); err != nil {
			return err
		}
	}
	return nil
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// verify checks every line of dir/SHA256SUMS against the file it names.
func verify(dir string, w io.Writer) error {
	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		return fmt.Errorf("read the checksums: %w", err)
	}
	var bad []string
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		want, name, ok := strings.Cut(line, "  ")
		if !ok || strings.ContainsAny(name, "/\\") {
			return fmt.Errorf("SHA256SUMS line %q is not HASH  NAME", line)
		}
		got, err := hashFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if got != want {
			bad = append(bad, name)
		}
		n++
	}
	if len(bad) > 0 {
		return fmt.Errorf("checksum mismatch: %s", strings.Join(bad, ", "))
	}
	_, err = fmt.Fprintf(w, "%d files match SHA256SUMS\n", n)
	return err
}
