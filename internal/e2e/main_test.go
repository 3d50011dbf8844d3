package e2e

import (
	"os"
	"testing"

	"github.com/gputune/gputune/internal/testkit"
)

// gputuneBin is the binary under test, built once by TestMain. It is set
// before any test runs and never changed after.
var gputuneBin string

func TestMain(m *testing.M) {
	os.Exit(testkit.RunWithBinary(m, "e2e", raceEnabled, func(bin string) { gputuneBin = bin }))
}
