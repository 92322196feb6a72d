package main

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

// readmeBlock is a ```sh block of README.md marked runnable by the comment
// before it: <!-- runnable: dir=DIR [exit=N] [expect=next] -->.
type readmeBlock struct {
	line   int    // of the marker, for messages
	dir    string // relative to the repository root
	exit   int
	script string
	expect *string // the stdout shown in the next plain ``` block
}

var runnableMarker = regexp.MustCompile(`^<!-- runnable:((?: [a-z]+=\S+)*) -->$`)

func readmeBlocks(t *testing.T, readme string) []readmeBlock {
	t.Helper()
	lines := strings.Split(readme, "\n")
	var out []readmeBlock
	for i := 0; i < len(lines); i++ {
		m := runnableMarker.FindStringSubmatch(lines[i])
		if m == nil {
			if strings.Contains(lines[i], "runnable:") {
				t.Errorf("README.md:%d: malformed runnable marker %q", i+1, lines[i])
			}
			continue
		}
		b := readmeBlock{line: i + 1}
		wantExpect := false
		for _, kv := range strings.Fields(m[1]) {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "dir":
				b.dir = v
			case "exit":
				n, err := strconv.Atoi(v)
				if err != nil {
					t.Fatalf("README.md:%d: exit=%q is not a number", i+1, v)
				}
				b.exit = n
			case "expect":
				wantExpect = v == "next"
			default:
				t.Fatalf("README.md:%d: unknown marker key %q", i+1, k)
			}
		}
		if b.dir == "" {
			t.Fatalf("README.md:%d: a runnable block must say dir=", i+1)
		}
		if i+1 >= len(lines) || lines[i+1] != "```sh" {
			t.Fatalf("README.md:%d: a runnable marker must be followed by a ```sh block", i+1)
		}
		body, next := fenced(lines, i+1)
		b.script = body
		if wantExpect {
			for j := next; j < len(lines); j++ {
				if lines[j] == "```" {
					want, _ := fenced(lines, j)
					b.expect = &want
					break
				}
			}
			if b.expect == nil {
				t.Fatalf("README.md:%d: expect=next, but no plain ``` block follows", i+1)
			}
		}
		out = append(out, b)
		i = next - 1
	}
	return out
}

// fenced returns the text of the fenced block opening at lines[open] and the
// index of the line after its closing fence.
func fenced(lines []string, open int) (string, int) {
	var body []string
	for j := open + 1; j < len(lines); j++ {
		if lines[j] == "```" {
			return strings.Join(body, "\n") + "\n", j + 1
		}
		body = append(body, lines[j])
	}
	return strings.Join(body, "\n") + "\n", len(lines)
}

// copyTree copies the repository (without .git and what examples or
// releases leave behind) so the README's commands run in a clone of their
// own and never write into the source tree.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	skip := map[string]bool{".git": true, "dist": true, "demo": true, "state.json": true}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel != "." && skip[strings.Split(filepath.ToSlash(rel), "/")[0]] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, info.Mode().Perm())
		}
		return nil // links and the like are not part of a clone's sources
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadmeRunnable runs every README block marked runnable, in order, in
// a copy of the repository, from the folder the marker names, with
// `ci-secrets` on PATH being this program; `go run ./cmd/ci-secrets` is
// the real go command. Blocks run with bash -e; the exit status and, where
// the README shows it, the exact stdout are checked, and no secret value of
// the example seed may appear.
func TestReadmeRunnable(t *testing.T) {
	root := needBashAndGo(t, "compiles the program with go run")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeBlocks(t, string(readme))
	if len(blocks) < 3 {
		t.Fatalf("README.md has %d runnable blocks; the quick start, push and emulator examples at least are expected", len(blocks))
	}
	clone := filepath.Join(t.TempDir(), "ci-secrets")
	copyTree(t, root, clone)

	bin := filepath.Join(t.TempDir(), "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wrapper := "#!/bin/sh\n" + beMainEnv + "=1 exec '" + self + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "ci-secrets"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		// -trimpath keeps compile-cache entries independent of the clone's
		// temporary path, so go run reuses what the other tests built.
		"GOFLAGS=-trimpath " + os.Getenv("GOFLAGS"),
		"GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")}
	env = append(env, goEnv()...)
	seed, err := emulator.LoadSeed(filepath.Join(root, "examples", "seed.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Short values ("parquet", "ci_tests") are also words of paths and names.
	var values []string
	for _, v := range seedValues(seed) {
		if len(v) >= 12 {
			values = append(values, v)
		}
	}

	for _, b := range blocks {
		cmd := exec.Command("bash", "--noprofile", "--norc", "-e", "-c", b.script)
		cmd.Dir = filepath.Join(clone, filepath.FromSlash(b.dir))
		cmd.Env = env
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("README.md:%d: %v", b.line, err)
		}
		if code != b.exit {
			t.Errorf("README.md:%d: exit status %d, want %d\nscript:\n%s\nstdout:\n%s\nstderr:\n%s", b.line, code, b.exit, b.script, stdout.String(), tail(stderr.String(), 15))
			continue
		}
		if b.expect != nil && stdout.String() != *b.expect {
			t.Errorf("README.md:%d: stdout differs from what the README shows\ngot:\n%s\nREADME:\n%s", b.line, stdout.String(), *b.expect)
		}
		assertNoLeak(t, values, stdout.String(), stderr.String())
	}
}
