package e2e

import (
	"fmt"
	"github.com/gputune/gputune/internal/testkit"
	"os"
	"testing"
)

// gputuneBin is the binary under test, built once by TestMain. It is set
// before any test runs and never changed after.
var gputuneBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "gputune-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin, err := testkit.BuildGputune(dir, raceEnabled)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	gputuneBin = bin
	return m.Run()
}
