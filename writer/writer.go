// Package writer owns where and how secret files land on disk: the secrets
// folder of a connector (connectors/ or bases/ under the monorepo root, or an
// explicit --out folder), atomic writes of mode 0600 into a folder of mode 0700
// holding a .gitignore (and the check that an existing one is a file git
// reads and that it, or git itself when the folder is in a repository,
// ignores what is written), refusal to write through
// symlinks or over anything that is not a regular file, with every folder
// below the monorepo root (or --out's parent) opened through the handle of
// the one above it, whether a file was new, replaced or already in place,
// and clean-up of temporary files a killed run left behind.
//
// It never talks to Secret Manager, never decides which secret goes where
// (that is package labels), never logs or returns payload bytes, and never
// builds a path from a connector or file name it has not validated.
package writer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"

	"github.com/airbytehq/ci-secrets/labels"
)

// Errors callers may branch on with errors.Is. Each error returned by this
// package is a full sentence naming the path; these sentinels are the reason
// inside it.
var (
	// ErrSymlink: a secrets folder, a folder on the way to it, or a target file is a symlink.
	ErrSymlink = errors.New("ci-secrets refuses to write through links")
	// ErrNotDir: the secrets folder, or a folder on the way to it, exists but is not a folder.
	ErrNotDir = errors.New("ci-secrets writes only into real folders")
	// ErrNotRegular: the target exists but is not a regular file (a folder, a pipe...).
	ErrNotRegular = errors.New("ci-secrets replaces only regular files")
	// ErrBadFileName: the file name is not a plain <token>.json name.
	ErrBadFileName = errors.New("a file name must be a plain <name>.json")
)

// Modes of what this package creates.
const (
	FileMode      fs.FileMode = 0o600
	DirMode       fs.FileMode = 0o700
	parentDirMode fs.FileMode = 0o755 // folders of the monorepo on the way to secrets/
	gitignoreMode fs.FileMode = 0o644
)

// Status says what a write did to the target file.
type Status string

// The statuses of a write.
const (
	Wrote     Status = "wrote"     // the file did not exist
	Replaced  Status = "replaced"  // it held something else, now replaced
	Unchanged Status = "unchanged" // it already held exactly the data: not rewritten, mode made 0600
)

// Written is a file a write put in place (or found already in place).
type Written struct {
	Path   string
	Status Status
}

// Gitignore is the content of the .gitignore written into a secrets folder
// that has none: ignore everything, the .gitignore included.
const Gitignore = "*\n"

// Layout decides which folder a connector's secrets go to.
type Layout struct {
	// Root is the monorepo root ("" means the current folder).
	Root string
	// Out, when set, is the folder every file goes to, whatever the connector.
	Out string
}

func (l Layout) root() string {
	if l.Root == "" {
		return "."
	}
	return filepath.Clean(l.Root)
}

// SecretsDir returns the secrets folder of connector: Out when set; else
// Root/airbyte-integrations/bases/<connector>/secrets when the folder
// bases/<connector> exists (as a real folder, not a link); else
// Root/airbyte-integrations/connectors/<connector>/secrets. The connector name
// is validated in every case.
func (l Layout) SecretsDir(connector string) (string, error) {
	if err := labels.ValidateConnector(connector); err != nil {
		return "", fmt.Errorf("cannot choose a secrets folder: %w", err)
	}
	if l.Out != "" {
		return filepath.Clean(l.Out), nil
	}
	base := filepath.Join(l.root(), "airbyte-integrations", "bases", connector)
	fi, err := os.Lstat(base)
	switch {
	case err == nil && fi.IsDir():
		return filepath.Join(base, "secrets"), nil
	case err == nil && fi.Mode()&fs.ModeSymlink != 0:
		// Silently falling back to connectors/ would hide the secrets from
		// a base that lives behind the link; following it is refused.
		return "", fmt.Errorf("%s is a symlink; %w: make it a real folder (or remove it to use connectors/%s)", base, ErrSymlink, connector)
	case err == nil:
		return "", fmt.Errorf("%s exists but is %s; %w: move it away and run again", base, DescribeMode(fi.Mode()), ErrNotDir)
	case err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrInvalid) && !isNotDir(err):
		return "", fmt.Errorf("cannot tell whether %s is a base connector: %w", connector, err)
	}
	return filepath.Join(l.root(), "airbyte-integrations", "connectors", connector, "secrets"), nil
}

// Prepare readies a secrets folder before a run writes into it: it removes
// temporary files a killed earlier run left behind (logged at info level)
// and refuses a .gitignore that protects nothing (see Write), so no secret
// is read for a folder that would be refused. It creates nothing, so a run
// that fails before writing leaves no trace. Like Write, it reaches dir from
// Root one folder handle at a time and never through a link, so the
// clean-up never reaches through a linked connector folder.
func (l Layout) Prepare(ctx context.Context, dir string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	root, err := openSecretsDir(l.base(dir), dir, false)
	if err != nil || root == nil {
		return err
	}
	defer root.Close()
	if err := checkGitignore(root, dir); err != nil {
		return err
	}
	removed, err := cleanStaleIn(root, filepath.Clean(dir))
	for _, p := range removed {
		zerolog.Ctx(ctx).Info().Str("path", p).Msg("removed a temporary file left by an earlier run")
	}
	return err
}

// Write writes data to dir/file as WriteSecret does. When dir lies under
// Root, every folder between Root and dir must be a real folder, not a link,
// and is opened through the one above it; otherwise (Out) dir is, from its
// parent.
func (l Layout) Write(ctx context.Context, dir, file string, data []byte) (Written, error) {
	return writeFile(ctx, l.base(dir), dir, file, data, nil)
}

// base is the folder below which every component of dir is checked for links.
func (l Layout) base(dir string) string {
	dir = filepath.Clean(dir)
	if l.Out == "" {
		if rel, err := filepath.Rel(l.root(), dir); err == nil && !escapes(rel) {
			return l.root()
		}
	}
	return filepath.Dir(dir)
}

func escapes(rel string) bool {
	return rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel)
}

// DescribeMode names a file type for an error message ("a symlink").
func DescribeMode(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a file"
	case m.IsDir():
		return "a folder"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return "a device"
	}
	return "neither a file nor a folder"
}

// ErrNotSecretsFolder: an --out folder holds files that are not secrets, so
// making it private and git-ignored would take over someone else's folder.
var ErrNotSecretsFolder = errors.New("ci-secrets makes its folder private (0700) and git-ignored")

// CheckOutFolder decides whether dir may serve as an explicit secrets folder
// (--out). A folder that does not exist yet, or that is named secrets, is
// fine; an existing folder of another name may hold only what a sync puts
// there (.json files, .gitignore, its temporary files, updated_configurations/),
// because the sync makes it 0700 and ignores everything in it for git: a
// connector's source folder given by mistake (--out .) must not be taken
// over.
func CheckOutFolder(dir string) error {
	dir = filepath.Clean(dir)
	if abs, err := filepath.Abs(dir); err == nil && filepath.Base(abs) == "secrets" {
		return nil
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return ioError("cannot list --out folder", dir, err)
	}
	var foreign []string
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == ".gitignore", name == "updated_configurations" && e.IsDir(),
			strings.HasPrefix(name, tempPrefix), e.Type().IsRegular() && strings.HasSuffix(name, ".json"):
			continue
		case e.IsDir():
			name += "/"
		}
		foreign = append(foreign, fmt.Sprintf("%q", name))
	}
	if len(foreign) == 0 {
		return nil
	}
	shown := strings.Join(foreign[:min(3, len(foreign))], ", ")
	if len(foreign) > 3 {
		shown += fmt.Sprintf(" and %d more", len(foreign)-3)
	}
	return fmt.Errorf("--out folder %s already holds what is not a secrets file (%s); %w: point --out at the connector's secrets folder (e.g. --out secrets) or at a new folder", dir, shown, ErrNotSecretsFolder)
}
