package restore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gputune/gputune/internal/safefile"
	"strings"
	"time"
)

// GPUID names one GPU. The UUID is the identity (indices can change between
// boots); the index is what users type.
type GPUID struct {
	Index int
	UUID  string
}

func (g GPUID) String() string { return fmt.Sprintf("GPU %d (%s)", g.Index, g.UUID) }

// State is the content of a state file: who owns a GPU and which clocks it
// may have locked. A non-zero MHz means the clock must be reset.
type State struct {
	PID           int       `json:"pid"`
	SupervisorPID int       `json:"supervisor_pid,omitempty"`
	GPUIndex      int       `json:"gpu_index"`
	GPUUUID       string    `json:"gpu_uuid"`
	CoreLockedMHz int       `json:"core_locked_mhz"`
	MemLockedMHz  int       `json:"mem_locked_mhz"`
	Started       time.Time `json:"started"`
	Updated       time.Time `json:"updated"`
	// StartTicks and BootID identify the owner process beyond its pid (a
	// pid is reused once its process is gone): its start time in clock
	// ticks since boot (/proc/PID/stat field 22) and the boot it ran in.
	// --takeover signals the pid only when both still match. State files
	// written before these fields existed lack them: such an owner is
	// never signalled, only reset after it is gone.
	StartTicks uint64 `json:"start_ticks,omitempty"`
	BootID     string `json:"boot_id,omitempty"`
}

// Locked reports whether the state says any clock may be locked.
func (s State) Locked() bool { return s.CoreLockedMHz != 0 || s.MemLockedMHz != 0 }

// GPU is the GPU the state belongs to.
func (s State) GPU() GPUID { return GPUID{Index: s.GPUIndex, UUID: s.GPUUUID} }

const (
	stateExt = ".json"
	lockExt  = ".lock"
)

func statePath(dir, uuid string) string { return filepath.Join(dir, uuid+stateExt) }
func lockPath(dir, uuid string) string  { return filepath.Join(dir, uuid+lockExt) }

// validUUID keeps a UUID from escaping the run directory.
func validUUID(uuid string) error {
	if uuid == "" || strings.ContainsAny(uuid, `/\`) || uuid == "." || uuid == ".." || strings.HasPrefix(uuid, ".") {
		return fmt.Errorf("restore: GPU UUID %q cannot name a state file", uuid)
	}
	return nil
}

// maxStateBytes bounds a state file read: a real one is under 1 KiB.
const maxStateBytes = 64 << 10

// readState reads a state file; ok is false when there is none. A symlink,
// FIFO or other non-regular file under its name, or one over
// maxStateBytes, is an error: it is never followed, blocked on or read
// whole.
func readState(path string) (st State, ok bool, err error) {
	data, err := safefile.Read(path, maxStateBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, fmt.Errorf("restore: read state file: %w", err)
	}
	st, err = parseState(data)
	if err != nil {
		return State{}, false, fmt.Errorf("restore: state file %s is corrupt (remove it after checking the GPU's clocks with nvidia-smi): %w", path, err)
	}
	return st, true, nil
}

// parseState decodes a state file's content.
func parseState(data []byte) (State, error) {
	var st State
	err := json.Unmarshal(data, &st)
	return st, err
}

// writeState replaces the state file atomically: a crash at any point leaves
// either the old or the new content, never a torn file.
func writeState(path string, st State) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("restore: encode state: %w", err)
	}
	if err := safefile.Write(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("restore: state file: %w", err)
	}
	return nil
}

// listStates returns the UUIDs that have a state file in dir.
func listStates(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("restore: list run directory: %w", err)
	}
	var uuids []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, stateExt) {
			continue
		}
		uuids = append(uuids, strings.TrimSuffix(name, stateExt))
	}
	return uuids, nil
}
