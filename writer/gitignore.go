package writer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/rs/zerolog"
)

// ErrUnsafeGitignore: a secrets folder's .gitignore is not a regular file,
// so git does not read it and `git add -A` would commit the secrets.
var ErrUnsafeGitignore = errors.New("ci-secrets writes secrets only next to a .gitignore that git reads")

const gitignoreName = ".gitignore"

// maxGitignore bounds what is read of an existing .gitignore; patterns past
// it are not considered (a warning at worst, never a wrong refusal).
const maxGitignore = 1 << 20

// checkGitignore refuses a .gitignore in root that is not a regular file: a
// symlink (git ignores symlinked .gitignore files since 2.32, and a dangling
// one ignores nothing either), a folder, a pipe... It names the file and
// what to do. An absent .gitignore is fine: the writer creates one.
func checkGitignore(root *os.Root, dir string) error {
	fi, err := root.Lstat(gitignoreName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return gitignoreInfoError(filepath.Join(dir, gitignoreName), fi, err)
}

func gitignoreInfoError(path string, fi fs.FileInfo, err error) error {
	const fix = "replace it with a regular file holding * (or remove it and ci-secrets writes one)"
	switch {
	case err != nil:
		return ioError("cannot inspect", path, err)
	case fi.Mode().IsRegular():
		return nil
	case fi.Mode()&fs.ModeSymlink != 0:
		dangling := ""
		// Only for the wording: nothing is read or written through it.
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			dangling = " that leads nowhere"
		}
		return fmt.Errorf("%s is a symlink%s, and git does not read a .gitignore that is a symlink, so it would not keep the secrets out of a commit; %w: %s", path, dangling, ErrUnsafeGitignore, fix)
	}
	return fmt.Errorf("%s is %s, not a file, so it keeps nothing out of a commit; %w: %s", path, DescribeMode(fi.Mode()), ErrUnsafeGitignore, fix)
}

// readGitignore reads the regular .gitignore in root, making sure the file
// read is the one checked (not a pipe or link swapped in meanwhile).
func readGitignore(root *os.Root, dir string) ([]byte, error) {
	path := filepath.Join(dir, gitignoreName)
	fi, err := root.Lstat(gitignoreName)
	if err := gitignoreInfoError(path, fi, err); err != nil {
		return nil, err
	}
	// O_NONBLOCK: a FIFO swapped in after the look must not hang the run.
	f, err := root.OpenFile(gitignoreName, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, ioError("cannot read", path, err)
	}
	defer f.Close()
	if ofi, err := f.Stat(); err != nil || !os.SameFile(fi, ofi) {
		return nil, fmt.Errorf("%s was replaced while ci-secrets was reading it; %w: make it a regular file and run again", path, ErrUnsafeGitignore)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxGitignore))
	if err != nil {
		return nil, ioError("cannot read", path, err)
	}
	return data, nil
}

// Ignores reports whether the patterns of a .gitignore (its content) make
// git ignore the file name that sits in the .gitignore's own folder. It
// follows gitignore(5) for such a file: blank lines and "#" comments are
// skipped, trailing spaces are dropped unless escaped, "!" negates, the last
// matching pattern wins, a pattern ending in "/" matches only folders, a
// pattern with a "/" before its end is matched against the path relative to
// the folder ("/config.json", "**/config.json"), and the glob forms "*", "?",
// "[...]" (also "[!...]") and "\" escapes work as in git. Patterns git could
// only apply to files in subfolders never match.
func Ignores(gitignore []byte, name string) bool {
	ignored := false
	sc := bufio.NewScanner(bytes.NewReader(gitignore))
	sc.Buffer(make([]byte, 0, 4096), maxGitignore)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		negate := false
		if line[0] == '!' {
			negate, line = true, line[1:]
		} else if strings.HasPrefix(line, `\!`) || strings.HasPrefix(line, `\#`) {
			line = line[1:]
		}
		line = trimTrailingSpaces(line)
		if line == "" || strings.HasSuffix(line, "/") {
			continue // nothing, or folders only
		}
		if matchGitignore(line, name) {
			ignored = !negate
		}
	}
	return ignored
}

// trimTrailingSpaces drops trailing spaces that are not escaped with "\".
func trimTrailingSpaces(s string) string {
	for strings.HasSuffix(s, " ") {
		t := strings.TrimSuffix(s, " ")
		if strings.HasSuffix(t, `\`) && !strings.HasSuffix(t, `\\`) {
			return t[:len(t)-1] + " "
		}
		s = t
	}
	return s
}

// matchGitignore matches one pattern (no "!", no trailing "/") against a
// file name in the pattern's own folder.
func matchGitignore(pattern, name string) bool {
	if strings.Contains(pattern, "/") {
		// Anchored to the .gitignore's folder; a leading "**/" also
		// matches no folder at all, which is the only case here.
		pattern = strings.TrimPrefix(pattern, "/")
		for strings.HasPrefix(pattern, "**/") {
			pattern = strings.TrimPrefix(pattern, "**/")
		}
		if strings.Contains(pattern, "/") {
			return false // reaches into a subfolder
		}
	}
	// git writes a negated class "[!...]"; path.Match reads "[^...]".
	pattern = strings.ReplaceAll(pattern, "[!", "[^")
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// warnUnignored warns, naming the line to add, when the existing .gitignore
// of root does not make git ignore file.
func warnUnignored(ctx context.Context, root *os.Root, dir, file string) error {
	data, err := readGitignore(root, dir)
	if err != nil {
		return err
	}
	if !Ignores(data, file) && !gitIgnores(ctx, dir, file) {
		path := filepath.Join(dir, gitignoreName)
		zerolog.Ctx(ctx).Warn().Str("path", path).Str("file", file).
			Msgf("%s does not make git ignore %s, so `git add` would commit the secret: add a line %s (or * to ignore everything in the folder) to it", path, file, file)
	}
	return nil
}

// gitIgnores asks git whether it ignores dir/file by any rule (a .gitignore
// higher up, .git/info/exclude, the user's excludes file), so a monorepo
// whose root .gitignore already covers secrets folders draws no warning. It
// reports false when git is not installed, dir is not in a repository, or
// git fails: the folder's own .gitignore then decides alone.
func gitIgnores(ctx context.Context, dir, file string) bool {
	git, err := exec.LookPath("git")
	if err != nil {
		return false
	}
	cmd := exec.CommandContext(ctx, git, "-C", dir, "check-ignore", "-q", "--", file)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	return cmd.Run() == nil // exit 0: ignored; 1: not ignored; 128: no repository
}
