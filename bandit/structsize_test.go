package bandit

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// maxStructFields is the house limit: a struct with this many fields or
// more holds several ideas and is split.
const maxStructFields = 25

// TestStructsStaySmall checks every struct in the package's files, the agft
// baseline's included (agft embeds its parts).
func TestStructsStaySmall(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fs := token.NewFileSet()
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fs, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			checked++
			c := 0
			for _, fl := range st.Fields.List {
				c += max(len(fl.Names), 1)
			}
			if c >= maxStructFields {
				t.Errorf("%s: struct %s has %d fields (limit %d): split it", f, ts.Name.Name, c, maxStructFields)
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no structs found: the test no longer looks where the code is")
	}
}
