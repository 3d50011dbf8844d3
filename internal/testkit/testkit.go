// Package testkit holds what several packages' out-of-process tests share:
// building the gputune binary, requiring the external tools CI installs, and
// a buffer that a child process and a test can use at once.
package testkit

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// E2EEnv, set to 1 (CI does), turns a missing external tool from a skip
// into a failure.
const E2EEnv = "GPUTUNE_E2E"

// BuildGputune builds the gputune binary into dir, with the race detector
// when race is set, and returns its path.
func BuildGputune(dir string, race bool) (string, error) {
	bin := filepath.Join(dir, "gputune")
	// gputune_testhooks: the fault injection (GPUTUNE_TEST_PANIC) that
	// release builds leave out.
	args := []string{"build", "-tags", "gputune_testhooks", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, "github.com/gputune/gputune")...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build gputune: %w\n%s", err, out)
	}
	return bin, nil
}

// RequireTool returns the path of an external program. Without it the test
// is skipped, except under GPUTUNE_E2E=1, where .ci/run has installed it
// and its absence is a failure. install says how to get it.
func RequireTool(t testing.TB, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv(E2EEnv) == "1" {
		t.Fatalf("%s not found but %s=1: install it (%s)", name, E2EEnv, install)
	}
	t.Skipf("%s not installed (%s); set %s=1 to require it", name, install, E2EEnv)
	return ""
}

// SyncBuffer is a bytes.Buffer safe for a writer goroutine (a child
// process's output) and a reading test at once.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// RunWithBinary is the body of an out-of-process package's TestMain: it
// builds the gputune binary (with the race detector when race is set) into
// a temporary folder named after pkg, hands its path to use, runs the tests
// and removes the folder.
func RunWithBinary(m *testing.M, pkg string, race bool, use func(bin string)) int {
	dir, err := os.MkdirTemp("", "gputune-"+pkg+"-")
	if err != nil {
		fmt.Fprintln(os.Stderr, pkg+":", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin, err := BuildGputune(dir, race)
	if err != nil {
		fmt.Fprintln(os.Stderr, pkg+":", err)
		return 1
	}
	use(bin)
	return m.Run()
}
