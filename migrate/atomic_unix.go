//go:build unix

package migrate

import (
	"io/fs"
	"path/filepath"

	"github.com/google/renameio/v2"
)

// atomicWrite replaces path with data through a synced temporary file in
// the same folder and a rename (renameio), keeping the mode perm: a reader
// sees the old script or the new one, never a part.
func atomicWrite(path string, data []byte, perm fs.FileMode) error {
	return renameio.WriteFile(path, data, perm,
		renameio.WithStaticPermissions(perm), renameio.WithTempDir(filepath.Dir(path)))
}
