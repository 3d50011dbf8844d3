package control

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control/setting"
)

// testConfig is the loop's configuration with tuner.toml's defaults (the
// assembly's test checks the two agree), for the tests to vary.
func testConfig() Config {
	return Config{
		Policy:                setting.Policy{Kind: setting.PolicyGPUTune},
		Objective:             ObjEDP,
		Period:                300 * time.Millisecond,
		SwitchSettle:          50 * time.Millisecond,
		Watchdog:              3 * time.Second,
		SaveInterval:          30 * time.Second,
		WarmupWindows:         10,
		IdleWindows:           3,
		EmergencyClearWindows: 10,
		BacklogWindows:        5,
		BacklogCharge:         1,
		MinTokensPerWindow:    8,
		ScrapeTimeout:         250 * time.Millisecond,
		StaleAfter:            3 * time.Second,
		SLO:                   SLO{Mode: bandit.SLOAware, TTFTLimitS: 2, TPOTLimitS: 0.25, TPOTSource: setting.TPOTInterToken},
	}
}

// TestImportsNoApplicationConfig keeps the loop free of the application's
// configuration: it reads control.Config, which the assembly fills. The
// check follows control's own imports inside this module, transitively.
func TestImportsNoApplicationConfig(t *testing.T) {
	const module = "github.com/gputune/gputune/"
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{"internal/config", "internal/cli", "internal/bench", "internal/assembly", "sim"}
	seen := map[string]string{"control": "control"} // package → how it was reached
	queue := []string{"control"}
	for len(queue) > 0 {
		pkg := queue[0]
		queue = queue[1:]
		for _, imp := range packageImports(t, filepath.Join(root, pkg)) {
			rel, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			if _, done := seen[rel]; done {
				continue
			}
			seen[rel] = seen[pkg] + " → " + rel
			for _, f := range forbidden {
				if rel == f || strings.HasPrefix(rel, f+"/") {
					t.Errorf("control imports %s (%s)", rel, seen[rel])
				}
			}
			queue = append(queue, rel)
		}
	}
}

// packageImports lists the imports of the non-test Go files in dir.
func packageImports(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
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
		for _, is := range af.Imports {
			p, err := strconv.Unquote(is.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
		}
	}
	return out
}
