package fleettest

import (
	"flag"
	"os"
	"testing"

	"github.com/gputune/gputune/internal/testkit"
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
	return testkit.RunWithBinary(m, "fleettest", false, func(bin string) { binPath = bin })
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
func cleanEnv(extra ...string) []string { return testkit.CleanEnv(nil, extra...) }
