//go:build unix

package writer

import (
	"path/filepath"
	"syscall"
	"testing"
)

func TestWriteSecretRefusesFifoTarget(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "config.json")
	if err := syscall.Mkfifo(target, 0o600); err != nil {
		t.Skip("no fifo:", err)
	}
	_, err := WriteSecret(t.Context(), dir, "config.json", []byte(payload))
	checkErr(t, err, ErrNotRegular, target)
	noTemps(t, dir)
}
