// Package restore makes sure every GPU clock gputune locks is given back, on
// every exit path: an orderly shutdown on signals, a recovered panic in any
// goroutine started through Group, and, for what no code inside a process can
// survive (SIGKILL, the OOM killer, a runtime fatal error, os.Exit), a
// supervisor parent process that resets the clocks its worker child locked.
//
// The link between them is a state file per GPU, <run dir>/<gpu-uuid>.json,
// written before the first lock and removed only after the reset, next to a
// lock file <gpu-uuid>.lock held with flock by the owning process.
package restore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// DirEnv overrides the default run directory. Supervise passes the directory
// it watches to the worker through it, so both always agree.
const DirEnv = "GPUTUNE_RUN_DIR"

// DefaultDir is where state files live: $GPUTUNE_RUN_DIR if set, else
// /run/gputune for root, else $XDG_RUNTIME_DIR/gputune, else
// <tmp>/gputune-<uid>. /run and XDG_RUNTIME_DIR are cleared at boot, exactly
// when locked clocks are gone too.
func DefaultDir() string {
	if d := os.Getenv(DirEnv); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		return "/run/gputune"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "gputune")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("gputune-%d", os.Geteuid()))
}

// ErrUnsafeRunDir: the run directory could be written by someone other
// than its owner, or belongs to someone else. A state file there decides
// which clocks root resets and which pid --takeover signals, so such a
// directory is refused, never used.
var ErrUnsafeRunDir = errors.New("unsafe run directory")

// ensureDir creates the run directory, private to its owner (0700), and
// refuses an existing one that is not a directory, that group or others may
// write, or that is owned by neither this user nor root.
func ensureDir(dir string) error {
	if dir == "" {
		return fmt.Errorf("restore: empty run directory (set --run-dir or %s)", DirEnv)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("restore: create run directory %s: %w", dir, err)
	}
	return checkDir(dir)
}

// checkDir is ensureDir's test of an existing directory.
func checkDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("restore: run directory %s: %w", dir, err)
	}
	fix := fmt.Sprintf("use a directory only its owner can write, e.g. `chmod 700 %s`, or point run_dir / %s elsewhere", dir, DirEnv)
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("restore: %w: %s is a symbolic link; name the real directory in run_dir / %s", ErrUnsafeRunDir, dir, DirEnv)
	}
	if !fi.IsDir() {
		return fmt.Errorf("restore: %w: %s is not a directory", ErrUnsafeRunDir, dir)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("restore: %w: %s is writable by group or others (mode %04o), so anyone could plant the state files root acts on; %s",
			ErrUnsafeRunDir, dir, perm, fix)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if uid := int(st.Uid); uid != os.Geteuid() && uid != 0 {
			return fmt.Errorf("restore: %w: %s belongs to uid %d, not to this user (uid %d) or root; %s",
				ErrUnsafeRunDir, dir, uid, os.Geteuid(), fix)
		}
	}
	return nil
}
