package doctor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/rs/zerolog"
)

// secretsPathspec matches every file under any folder named secrets.
const secretsPathspec = ":(glob)**/secrets/**"

// AskGit asks git, run in root, which files under secrets folders it tracks
// and which of the probe paths (relative to root; see Repo.Probes) its
// ignore rules leave out. Without git, or outside a work tree, the answer
// says so (Available false) rather than failing: those checks are skipped.
func AskGit(ctx context.Context, root string, probes []string) (*Git, error) {
	bin, err := exec.LookPath("git")
	if err != nil {
		return &Git{Reason: "git is not installed (not found on PATH)"}, nil
	}
	out, stderr, err := runGit(ctx, bin, root, nil, "rev-parse", "--is-inside-work-tree")
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil || strings.TrimSpace(string(out)) != "true" {
		// git's own wording varies between versions; it is kept for debugging.
		zerolog.Ctx(ctx).Debug().Str("root", root).Str("git", firstLine(stderr)).Msg("git rev-parse --is-inside-work-tree")
		return &Git{Reason: Printable(root) + " is not inside a git work tree"}, nil
	}
	g := &Git{Available: true}
	out, stderr, err = runGit(ctx, bin, root, nil, "ls-files", "-z", "--", secretsPathspec)
	if err != nil {
		return nil, fmt.Errorf("git ls-files in %s failed (%s): %w", root, firstLine(stderr), err)
	}
	g.Tracked = splitZ(out)
	if len(probes) > 0 {
		in := []byte(strings.Join(probes, "\x00") + "\x00")
		// --no-index: a tracked file is judged by the ignore rules too, so
		// a folder whose .gitignore is missing is reported even when its
		// files are already tracked (which is reported on its own).
		out, stderr, err = runGit(ctx, bin, root, in, "check-ignore", "--no-index", "--stdin", "-z")
		var ee *exec.ExitError
		// Exit status 1 means "none of them is ignored".
		if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
			return nil, fmt.Errorf("git check-ignore in %s failed (%s): %w", root, firstLine(stderr), err)
		}
		ignored := map[string]bool{}
		for _, p := range splitZ(out) {
			ignored[p] = true
		}
		for _, p := range probes {
			if !ignored[p] {
				g.NotIgnored = append(g.NotIgnored, p)
			}
		}
	}
	return g, nil
}

func runGit(ctx context.Context, bin, dir string, stdin []byte, args ...string) (stdout, stderr []byte, err error) {
	cmd := exec.CommandContext(ctx, bin, append([]string{"-C", dir}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err = cmd.Run()
	return o.Bytes(), e.Bytes(), err
}

func splitZ(b []byte) []string {
	var out []string
	for _, s := range strings.Split(string(b), "\x00") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return Printable(s)
}
