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
	"fmt"
	"os"
	"path/filepath"
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

// ensureDir creates the run directory, private to its owner.
func ensureDir(dir string) error {
	if dir == "" {
		return fmt.Errorf("restore: empty run directory (set --run-dir or %s)", DirEnv)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("restore: create run directory %s: %w", dir, err)
	}
	return nil
}
