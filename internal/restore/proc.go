package restore

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// errNotOwner: the pid in a state file is not the process that wrote it.
var errNotOwner = errors.New("not the gputune that wrote the state file")

// procStartTicks is the start time of process pid in clock ticks since
// boot: /proc/PID/stat field 22. With the pid it names one process for the
// life of a boot.
func procStartTicks(pid int) (uint64, error) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name in field 2 is parenthesised and may itself hold
	// spaces or parentheses; the fields after the last ')' start at 3.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(string(stat[i+1:]))
	const startField = 22 - 3
	if len(fields) <= startField {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields)+2)
	}
	return strconv.ParseUint(fields[startField], 10, 64)
}

// procState is the one-letter state of pid (R, S, D, T, t, Z, …).
func procState(pid int) (byte, error) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return 0, fmt.Errorf("/proc/%d/stat: no state", pid)
	}
	return stat[i+2], nil
}

// bootID names this boot; "" without procfs.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// stampOwner records this process's identity in st.
func stampOwner(st *State) {
	if t, err := procStartTicks(os.Getpid()); err == nil {
		st.StartTicks = t
		st.BootID = bootID()
	}
}

// verifyOwner checks, before --takeover signals st.PID, that the pid is
// still the process that wrote st (same start time, same boot) and that it
// is a gputune: a gputune worker (GPUTUNE_WORKER=1 in its environment) or a
// process of this very executable. A state file written before start times
// were recorded cannot be verified and is refused.
func verifyOwner(st State) error {
	if st.StartTicks == 0 {
		return fmt.Errorf("%w: the state file records no process start time (written by an older gputune), so pid %d cannot be verified", errNotOwner, st.PID)
	}
	if id := bootID(); st.BootID != "" && id != "" && st.BootID != id {
		return fmt.Errorf("%w: the state file is from another boot", errNotOwner)
	}
	got, err := procStartTicks(st.PID)
	if err != nil {
		return fmt.Errorf("%w: pid %d: %w", errNotOwner, st.PID, err)
	}
	if got != st.StartTicks {
		return fmt.Errorf("%w: pid %d started at tick %d, the state file says %d (the pid was reused)", errNotOwner, st.PID, got, st.StartTicks)
	}
	if isWorkerProcess(st.PID) || sameExecutable(st.PID) {
		return nil
	}
	return fmt.Errorf("%w: pid %d is neither a gputune worker nor this executable", errNotOwner, st.PID)
}

func isWorkerProcess(pid int) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	for kv := range bytes.SplitSeq(env, []byte{0}) {
		if string(kv) == WorkerEnv+"=1" {
			return true
		}
	}
	return false
}

func sameExecutable(pid int) bool {
	self, err := os.Stat("/proc/self/exe")
	if err != nil {
		return false
	}
	other, err := os.Stat("/proc/" + strconv.Itoa(pid) + "/exe")
	return err == nil && os.SameFile(self, other)
}
