package safefile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path with data, readable as perm, so that a crash at any
// point leaves either the old content or the new, never a torn file: the
// data goes to a new temporary file in the same directory (created
// exclusively, so a planted symlink is never followed), is synced, and is
// renamed over the target; the directory is synced so the rename itself is
// durable.
func Write(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	// CreateTemp opens with O_CREATE|O_EXCL: an existing name, symlink
	// included, is never opened.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename succeeded
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// rename replaces a symlink at path, never its target.
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("install %s: %w", path, err)
	}
	return SyncDir(dir)
}

// SyncDir makes a rename or removal in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
