package secretexec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNotGitTree: --untracked-secrets needs git to tell tracked files.
var ErrNotGitTree = errors.New("the tree is not a git work tree")

// SweepUntracked removes every .json file in a folder named secrets (and
// below it, such as updated_configurations/) under root that git does not
// track: what any earlier run, of any tool, left behind on a runner that
// keeps its workspace. within, when not nil, limits the sweep to those
// folders. Links are neither followed nor removed; .git is not entered.
// It returns the paths removed.
func SweepUntracked(ctx context.Context, root string, within []string) ([]string, error) {
	// Asked first, so a wrong --root is reported even when it holds nothing.
	if _, err := gitTracked(ctx, root, nil); err != nil {
		return nil, err
	}
	candidates, err := secretsFiles(ctx, root, within)
	if err != nil || len(candidates) == 0 {
		return nil, err
	}
	tracked, err := gitTracked(ctx, root, candidates)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, rel := range candidates {
		if tracked[rel] {
			continue
		}
		path := filepath.Join(root, rel)
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("cannot remove %s: %w; delete it by hand, it may hold a secret", path, err))
			continue
		}
		removed = append(removed, path)
	}
	return removed, errors.Join(errs...)
}

// secretsFiles lists, relative to root, the regular .json files inside
// folders named secrets.
func secretsFiles(ctx context.Context, root string, within []string) ([]string, error) {
	starts := within
	if starts == nil {
		starts = []string{root}
	}
	var out []string
	for _, start := range starts {
		err := filepath.WalkDir(start, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && path == start {
					return filepath.SkipDir
				}
				return err
			}
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") && path != start {
				return filepath.SkipDir
			}
			if !d.Type().IsRegular() || !strings.HasSuffix(d.Name(), ".json") || !underSecrets(start, path) {
				return nil
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			out = append(out, rel)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("cannot look for secrets files under %s: %w", start, err)
		}
	}
	return out, nil
}

// underSecrets reports whether path lies in a folder named secrets below
// start (start itself counts when it is one).
func underSecrets(start, path string) bool {
	for d := filepath.Dir(path); ; d = filepath.Dir(d) {
		if filepath.Base(d) == "secrets" {
			return true
		}
		if d == start || filepath.Dir(d) == d {
			return false
		}
	}
}

// gitTracked asks git which of files (relative to root) it tracks.
func gitTracked(ctx context.Context, root string, files []string) (map[string]bool, error) {
	tracked := map[string]bool{}
	for first := true; first || len(files) > 0; first = false {
		batch := files[:min(len(files), 500)]
		files = files[len(batch):]
		args := []string{"-C", root, "--literal-pathspecs", "ls-files", "-z", "--"}
		if len(batch) == 0 {
			args = []string{"-C", root, "rev-parse", "--is-inside-work-tree"}
		}
		args = append(args, batch...)
		cmd := exec.CommandContext(ctx, "git", args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			if errors.Is(err, exec.ErrNotFound) {
				return nil, fmt.Errorf("--untracked-secrets asks git which files it tracks, and git is not installed: install git, or leave the flag out")
			}
			msg := strings.TrimSpace(stderr.String())
			if strings.Contains(msg, "not a git repository") {
				return nil, fmt.Errorf("%s: %w; --untracked-secrets needs a checkout to tell which secrets files belong to the repository", root, ErrNotGitTree)
			}
			return nil, fmt.Errorf("git ls-files in %s failed: %w (%s)", root, err, firstLine(msg))
		}
		for name := range strings.SplitSeq(strings.TrimSuffix(string(out), "\x00"), "\x00") {
			if name != "" && len(batch) > 0 {
				tracked[filepath.FromSlash(name)] = true
			}
		}
	}
	return tracked, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
