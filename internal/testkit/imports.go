package testkit

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Module is gputune's module path.
const Module = "github.com/gputune/gputune"

// Imports lists what the non-test Go files in dir import. A folder without
// Go files fails the test: the check would no longer look where the code
// is.
func Imports(t testing.TB, dir string) []string {
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
	if len(out) == 0 && len(files) == 0 {
		t.Fatalf("no Go files in %s", dir)
	}
	return out
}

// ModuleDeps maps each package of this module that pkg (a path inside the
// module, such as "control") imports, directly or not, to the chain of
// imports that reaches it. root is the module's folder. Test files do not
// count.
func ModuleDeps(t testing.TB, root, pkg string) map[string]string {
	t.Helper()
	seen := map[string]string{pkg: pkg}
	queue := []string{pkg}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, imp := range Imports(t, filepath.Join(root, p)) {
			rel, ok := strings.CutPrefix(imp, Module+"/")
			if !ok {
				continue
			}
			if _, done := seen[rel]; done {
				continue
			}
			seen[rel] = seen[p] + " → " + rel
			queue = append(queue, rel)
		}
	}
	delete(seen, pkg)
	return seen
}
