package fleettest

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// binPath is the gputune binary TestMain builds once for every test; it is
// set before any test runs and never changed.
var binPath string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run() // every test skips: no binary needed
	}
	dir, err := os.MkdirTemp("", "gputune-fleettest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	_, here, _, _ := runtime.Caller(0)
	binPath = filepath.Join(dir, "gputune")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Dir = filepath.Join(filepath.Dir(here), "..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// gputune is the binary under test; these tests start processes, so -short
// skips them.
func gputune(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("out-of-process test of the gputune binary")
	}
	return binPath
}

// cleanEnv is this process's environment without any GPUTUNE_ variable (a
// stray GPUTUNE_WORKER or GPUTUNE_RUN_DIR would change what gputune does),
// plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GPUTUNE_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}
