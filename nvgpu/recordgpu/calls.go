package recordgpu

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Call is one recorded lock or reset.
type Call struct {
	Time  time.Time `json:"time"`
	PID   int       `json:"pid"`
	UUID  string    `json:"uuid"`
	Index int       `json:"index"`
	Op    string    `json:"op"`
	MHz   int       `json:"mhz,omitempty"`
	// Err is set when the fake refused the call (the clock did not change).
	Err string `json:"err,omitempty"`
}

// ReadCalls reads the call log; a missing file is an empty log.
func ReadCalls(path string) ([]Call, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recordgpu: read call log: %w", err)
	}
	var calls []Call
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var c Call
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, fmt.Errorf("recordgpu: call log %s line %d: %w", path, n, err)
		}
		calls = append(calls, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("recordgpu: read call log: %w", err)
	}
	return calls, nil
}

// Clocks is what a GPU has locked after replaying calls; 0 means not locked.
type Clocks struct {
	CoreMHz int
	MemMHz  int
}

// Locked reports whether any clock is still locked.
func (c Clocks) Locked() bool { return c.CoreMHz != 0 || c.MemMHz != 0 }

// Replay folds calls into the clocks each GPU (by UUID) has locked at the end.
// Refused calls change nothing.
func Replay(calls []Call) map[string]Clocks {
	out := map[string]Clocks{}
	for _, c := range calls {
		if c.Err != "" {
			continue
		}
		st := out[c.UUID]
		switch c.Op {
		case OpLockCore:
			st.CoreMHz = c.MHz
		case OpResetCore:
			st.CoreMHz = 0
		case OpLockMem:
			st.MemMHz = c.MHz
		case OpResetMem:
			st.MemMHz = 0
		}
		out[c.UUID] = st
	}
	return out
}
