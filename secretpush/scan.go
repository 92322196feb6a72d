package secretpush

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/labels"
	"github.com/airbytehq/ci-secrets/writer"
)

// candidate is one entry of an updated_configurations folder whose name
// follows the convention.
type candidate struct {
	name   string // "config|1700000000.json"
	number string // "1700000000", leading zeros removed ("0" for zero)
	info   fs.FileInfo
}

// newer orders candidates newest first: highest number, then newest
// modification time, then name (so equal ties still give a stable answer).
func newer(a, b candidate) bool {
	if len(a.number) != len(b.number) {
		return len(a.number) > len(b.number)
	}
	if a.number != b.number {
		return a.number > b.number
	}
	if ma, mb := a.info.ModTime(), b.info.ModTime(); !ma.Equal(mb) {
		return ma.After(mb)
	}
	return a.name > b.name
}

// folder is one connector's updated_configurations folder, held open while
// the run lasts so that the files read, and removed with Clean, are exactly
// the ones inspected.
type folder struct {
	connector string
	path      string
	root      *os.Root
}

// pending is the newest updated configuration of one (connector, file), read
// and checked, with the older ones it supersedes.
type pending struct {
	labels.Target
	folder     *folder
	winner     candidate
	superseded []candidate
	data       []byte // never logged, formatted or put in an error
}

func (p *pending) path() string { return filepath.Join(p.folder.path, p.winner.name) }

func (p *pending) file() File {
	return File{Connector: p.Connector, File: p.File, Path: p.path()}
}

// scanResult is what the folders of the asked-for connectors hold.
type scanResult struct {
	folders []*folder
	pending []*pending
	// candidates per pending item are final; failed holds refused entries and
	// (connector, file) pairs whose newest file cannot be pushed.
	failed     []Failure
	superseded []Superseded
	noUpdates  []string
}

func (s *scanResult) close() {
	for _, f := range s.folders {
		f.root.Close()
	}
}

// scan inspects the updated_configurations folder of every connector.
// mask, when not nil, receives every update read that could be a secret
// value (valid UTF-8 within the size limit), valid JSON or not: a broken
// update still holds a live token.
func scan(ctx context.Context, layout writer.Layout, connectors []string, mask func([]byte) error) *scanResult {
	res := &scanResult{}
	for _, c := range connectors {
		if ctx.Err() != nil {
			return res
		}
		f, err := openFolder(layout, c)
		switch {
		case err != nil:
			res.failed = append(res.failed, Failure{Connector: c, Path: errPath(err), Err: err})
			continue
		case f == nil:
			res.noUpdates = append(res.noUpdates, c)
			continue
		}
		res.folders = append(res.folders, f)
		scanFolder(ctx, f, res, mask)
	}
	return res
}

// pathError carries the path a folder problem is about into Failure.Path.
type pathError struct {
	path string
	err  error
}

func (e *pathError) Error() string { return e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

func errPath(err error) string {
	var pe *pathError
	if errors.As(err, &pe) {
		return pe.path
	}
	return ""
}

// openFolder opens connector's updated_configurations folder, or returns nil
// when it does not exist. Every folder from the monorepo root (or, with --out,
// from the secrets folder's parent) down to it must be a real folder: a link
// anywhere on the way could make push read another connector's files, or any
// file on the machine, and send it to Secret Manager.
func openFolder(layout writer.Layout, connector string) (*folder, error) {
	secrets, err := layout.SecretsDir(connector)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(secrets, labels.UpdatedDir)
	base := filepath.Dir(filepath.Clean(secrets))
	if layout.Out == "" {
		root := filepath.Clean(layout.Root) // "" becomes "."
		if rel, err := filepath.Rel(root, dir); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			base = root
		}
	}
	rel, err := filepath.Rel(base, dir)
	if err != nil {
		return nil, fmt.Errorf("cannot place %s below %s: %w", dir, base, err)
	}
	cur := base
	var fi fs.FileInfo
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, part)
		fi, err = os.Lstat(cur)
		switch {
		case errors.Is(err, fs.ErrNotExist), isNotDir(err):
			return nil, nil
		case err != nil:
			return nil, &pathError{cur, fmt.Errorf("cannot inspect: %w", err)}
		case fi.Mode()&fs.ModeSymlink != 0:
			return nil, &pathError{cur, fmt.Errorf("refused: it is a symlink; %w: push reads updated configurations only from real folders", ErrSymlink)}
		case !fi.IsDir():
			if cur == dir {
				return nil, &pathError{cur, fmt.Errorf("refused: it is %s, not a folder; %w", writer.DescribeMode(fi.Mode()), ErrNotRegular)}
			}
			return nil, nil // e.g. a file named like a connector folder: nothing to push from it
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, &pathError{dir, fmt.Errorf("cannot open: %w", err)}
	}
	if rfi, err := root.Stat("."); err != nil || !os.SameFile(fi, rfi) {
		root.Close()
		return nil, &pathError{dir, fmt.Errorf("refused: it was replaced while push was opening it; %w", ErrSymlink)}
	}
	return &folder{connector: connector, path: dir, root: root}, nil
}

func isNotDir(err error) bool { return errors.Is(err, syscall.ENOTDIR) }

// scanFolder classifies every entry of one folder: hidden entries are
// ignored; every other entry must be a regular file named
// "<stem>|<number>.json". Per original file the newest wins and is read; the
// others are superseded and left alone.
func scanFolder(ctx context.Context, f *folder, res *scanResult, mask func([]byte) error) {
	log := zerolog.Ctx(ctx)
	d, err := f.root.Open(".")
	if err != nil {
		res.failed = append(res.failed, Failure{Connector: f.connector, Path: f.path, Err: fmt.Errorf("cannot list: %w", err)})
		return
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		res.failed = append(res.failed, Failure{Connector: f.connector, Path: f.path, Err: fmt.Errorf("cannot list: %w", err)})
		return
	}
	byFile := map[string][]candidate{}
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(f.path, name)
		if strings.HasPrefix(name, ".") {
			log.Debug().Str("connector", f.connector).Str("path", path).Msg("ignoring a hidden file in " + labels.UpdatedDir)
			continue
		}
		file, number, err := labels.ParseUpdatedName(name)
		if err != nil {
			res.failed = append(res.failed, Failure{Connector: f.connector, Path: path, Err: fmt.Errorf("refused: %w; only files written by connector tests belong in %s", err, labels.UpdatedDir)})
			continue
		}
		fi, err := f.root.Lstat(name)
		if err != nil {
			res.failed = append(res.failed, Failure{Connector: f.connector, Path: path, Err: fmt.Errorf("cannot inspect: %w", err)})
			continue
		}
		byFile[file] = append(byFile[file], candidate{name: name, number: number, info: fi})
	}
	files := make([]string, 0, len(byFile))
	for file := range byFile {
		files = append(files, file)
	}
	sort.Strings(files)
	for _, file := range files {
		cs := byFile[file]
		sort.Slice(cs, func(i, j int) bool { return newer(cs[i], cs[j]) })
		p := &pending{Target: labels.Target{Connector: f.connector, File: file}, folder: f, winner: cs[0]}
		for _, old := range cs[1:] {
			oldPath := filepath.Join(f.path, old.name)
			// An older entry is never read, but a link or a folder among
			// them is still a sign of something wrong: it is refused
			// visibly, and only that (reported once, not also as
			// superseded, and never removed by Clean).
			if err := checkMode(old.info.Mode()); err != nil {
				res.failed = append(res.failed, Failure{Connector: f.connector, Path: oldPath, Err: err})
				continue
			}
			p.superseded = append(p.superseded, old)
			res.superseded = append(res.superseded, Superseded{Connector: f.connector, File: file, Path: oldPath, By: p.path()})
		}
		data, err := readWinner(f, p.winner)
		if err == nil && mask != nil && len(data) <= gsm.MaxPayload && utf8.Valid(data) {
			if merr := mask(data); merr != nil {
				res.failed = append(res.failed, Failure{Connector: f.connector, Path: p.path(),
					Err: fmt.Errorf("could not emit log masks, so it was not pushed: %w", merr)})
				continue
			}
		}
		if err == nil {
			err = CheckPayload(data)
		}
		if err != nil {
			res.failed = append(res.failed, Failure{Connector: f.connector, Path: p.path(),
				Err: fmt.Errorf("the newest update of %s: %w; nothing was pushed for it (older updates are not used in its place)", p.Target, err)})
			continue
		}
		p.data = data
		res.pending = append(res.pending, p)
	}
}

func checkMode(m fs.FileMode) error {
	switch {
	case m&fs.ModeSymlink != 0:
		return fmt.Errorf("refused: it is a symlink; %w", ErrSymlink)
	case !m.IsRegular():
		return fmt.Errorf("refused: it is %s; %w", writer.DescribeMode(m), ErrNotRegular)
	}
	return nil
}

// readWinner reads a candidate whole, through the folder's os.Root (no
// escape), refusing anything but the regular file that was inspected: a link
// or a pipe swapped in since is caught by comparing the opened file with it.
// At most MaxPayload+1 bytes are read.
func readWinner(f *folder, c candidate) ([]byte, error) {
	if err := checkMode(c.info.Mode()); err != nil {
		return nil, err
	}
	if c.info.Size() > gsm.MaxPayload {
		return nil, fmt.Errorf("%w (%d bytes)", ErrTooLarge, c.info.Size())
	}
	// O_NONBLOCK: should a pipe be swapped in after the check, opening it
	// must not hang; the identity check below then refuses it.
	fh, err := f.root.OpenFile(c.name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot open: %w", err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot inspect: %w", err)
	}
	if !fi.Mode().IsRegular() || !os.SameFile(fi, c.info) {
		return nil, fmt.Errorf("it changed while push was reading it; %w", ErrNotRegular)
	}
	data, err := io.ReadAll(io.LimitReader(fh, gsm.MaxPayload+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", err)
	}
	return data, nil
}

// CheckPayload accepts what can replace a connector's config: a JSON object
// in valid UTF-8 within GSM's 64 KiB. The error never quotes the data.
func CheckPayload(data []byte) error {
	if len(data) > gsm.MaxPayload {
		return fmt.Errorf("%w (%d bytes)", ErrTooLarge, len(data))
	}
	if !utf8.Valid(data) {
		return fmt.Errorf("%w: it is not valid UTF-8", ErrNotJSON)
	}
	v, err := decodeJSON(data)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrNotJSON, jsonProblem(err))
	}
	if _, ok := v.(map[string]any); !ok {
		return fmt.Errorf("%w: it is valid JSON but not an object, and a connector config is a JSON object", ErrNotJSON)
	}
	return nil
}

// discover lists the connectors under the monorepo root whose secrets folder
// (as layout places it) has an updated_configurations entry, sorted.
func discover(ctx context.Context, layout writer.Layout) ([]string, error) {
	root := layout.Root
	if root == "" {
		root = "."
	}
	seen := map[string]bool{}
	var out []string
	found := false
	for _, kind := range []string{"connectors", "bases"} {
		parent := filepath.Join(root, "airbyte-integrations", kind)
		entries, err := os.ReadDir(parent)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot list connectors in %s: %w", parent, err)
		}
		found = true
		for _, e := range entries {
			name := e.Name()
			if !e.IsDir() || seen[name] || labels.ValidateConnector(name) != nil {
				continue
			}
			seen[name] = true
			dir, err := layout.SecretsDir(name)
			if err != nil {
				continue
			}
			if _, err := os.Lstat(filepath.Join(dir, labels.UpdatedDir)); err == nil {
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	if !found {
		zerolog.Ctx(ctx).Warn().Str("root", root).Msg("no airbyte-integrations/connectors or airbyte-integrations/bases folder here, so nothing to push: pass the monorepo root as --root")
	}
	zerolog.Ctx(ctx).Debug().Strs("connectors", out).Msg("connectors with " + labels.UpdatedDir)
	return out, nil
}

// remove deletes the given candidates of a folder, each only if it is still
// the very file that was inspected.
func (f *folder) remove(cs []candidate) (removed []string, errs []error) {
	for _, c := range cs {
		path := filepath.Join(f.path, c.name)
		fi, err := f.root.Lstat(c.name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil || !fi.Mode().IsRegular() || !os.SameFile(fi, c.info) || !fi.ModTime().Equal(c.info.ModTime()) {
			errs = append(errs, fmt.Errorf("kept %s: it changed since push read the folder", path))
			continue
		}
		if err := f.root.Remove(c.name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("cannot remove %s: %w", path, err))
			continue
		}
		removed = append(removed, path)
	}
	return removed, errs
}
