package bandit

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPolicyImportsNoSimulator holds the policy to what a real GPU gives:
// neither the policies nor the control loop that feeds them may import the
// simulator or the benchmark, whose state (the trace's future, the
// simulator's parameters) no deployment has. Test files may: the cycle
// benchmark drives the loop with a simulated GPU.
func TestPolicyImportsNoSimulator(t *testing.T) {
	const module = "github.com/gputune/gputune/"
	forbidden := []string{module + "sim", module + "internal/bench"}
	for _, dir := range []string{".", "../control"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no Go files in %s: the test no longer looks where the code is", dir)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, im := range af.Imports {
				path, _ := strconv.Unquote(im.Path.Value)
				for _, bad := range forbidden {
					if path == bad || strings.HasPrefix(path, bad+"/") {
						t.Errorf("%s imports %s: the policy must see only the scrape and NVML", f, path)
					}
				}
			}
		}
	}
}
