package bandit

import (
	"strings"
	"testing"

	"github.com/gputune/gputune/internal/testkit"
)

// TestPolicyImportsNoSimulator holds the policy to what a real GPU gives:
// neither the policies nor the control loop that feeds them may import the
// simulator or the benchmark, whose state (the trace's future, the
// simulator's parameters) no deployment has. Test files may: the cycle
// benchmark drives the loop with a simulated GPU.
func TestPolicyImportsNoSimulator(t *testing.T) {
	forbidden := []string{testkit.Module + "/sim", testkit.Module + "/internal/bench"}
	for _, dir := range []string{".", "../control"} {
		for _, path := range testkit.Imports(t, dir) {
			for _, bad := range forbidden {
				if path == bad || strings.HasPrefix(path, bad+"/") {
					t.Errorf("%s imports %s: the policy must see only the scrape and NVML", dir, path)
				}
			}
		}
	}
}
