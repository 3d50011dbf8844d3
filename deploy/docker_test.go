package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gputune/gputune/internal/exporter"
)

// Debian ships no Dockerfile linter (hadolint is not packaged), and CI has
// no Docker daemon to build with; this test parses the Dockerfile and
// checks what the image promises.

const dockerfilePath = "Dockerfile"

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, ...
	args string
}

func parseDockerfile(data []byte) ([]instruction, error) {
	var out []instruction
	sc := bufio.NewScanner(bytes.NewReader(data))
	var cur strings.Builder
	start := 0
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasPrefix(line, "#") {
			continue // a comment inside a continued instruction
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
		cur.Reset()
	}
	if cur.Len() > 0 {
		return nil, &os.PathError{Op: "parse", Path: dockerfilePath, Err: os.ErrInvalid}
	}
	return out, sc.Err()
}

var knownInstructions = map[string]bool{"FROM": true, "ARG": true, "WORKDIR": true, "COPY": true, "RUN": true, "ENV": true,
	"LABEL": true, "USER": true, "EXPOSE": true, "ENTRYPOINT": true, "CMD": true}

func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	ins, err := parseDockerfile(data)
	if err != nil {
		t.Fatal(err)
	}
	// Stages, split at FROM.
	var stages [][]instruction
	for _, in := range ins {
		if !knownInstructions[in.cmd] {
			t.Errorf("line %d: unknown or unexpected instruction %s", in.line, in.cmd)
		}
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], in)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages: want a multi-stage build", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	for _, st := range stages {
		image := strings.Fields(st[0].args)[0]
		if !strings.Contains(image, ":") || strings.HasSuffix(image, ":latest") {
			t.Errorf("line %d: FROM %s: pin a tag", st[0].line, image)
		}
	}
	if !strings.HasSuffix(build[0].args, " AS build") {
		t.Errorf("first stage %q must be named build", build[0].args)
	}

	t.Run("Go version matches go.mod", func(t *testing.T) {
		mod, err := os.ReadFile("../go.mod")
		if err != nil {
			t.Fatal(err)
		}
		goVer := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
		want := "GO_VERSION=" + string(goVer[1])
		if !anyInstruction(ins, func(in instruction) bool { return in.cmd == "ARG" && in.args == want }) {
			t.Errorf("no ARG %s (go.mod's go directive)", want)
		}
	})

	t.Run("version and commit stamped into the binary", func(t *testing.T) {
		src, err := os.ReadFile("../internal/buildinfo/buildinfo.go")
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{"version", "revision"} {
			flag := "-X github.com/gputune/gputune/internal/buildinfo." + v + "=${" + strings.ToUpper(v) + "}"
			if !anyInstruction(build, func(in instruction) bool { return in.cmd == "RUN" && strings.Contains(in.args, flag) }) {
				t.Errorf("the build stage's go build lacks %s", flag)
			}
			if !regexp.MustCompile(`(?m)^\s+` + v + `\s+string$`).Match(src) {
				t.Errorf("internal/buildinfo has no variable %s for -X to set", v)
			}
		}
	})

	t.Run("runtime stage", func(t *testing.T) {
		base := strings.Fields(final[0].args)[0]
		if strings.HasPrefix(base, "golang:") || strings.Contains(base, "nvidia/cuda") || strings.Contains(base, "distroless") || base == "scratch" {
			t.Errorf("final base %s: want a small image with glibc and /bin/sh (the preStop hook), no toolchain, no driver", base)
		}
		for _, in := range final {
			low := strings.ToLower(in.args)
			if in.cmd == "RUN" && (strings.Contains(low, "nvidia") || strings.Contains(low, "cuda")) {
				t.Errorf("line %d: the image must not carry a driver; NVML comes from the host through the container toolkit", in.line)
			}
		}
		checks := []struct {
			what string
			ok   func(instruction) bool
		}{
			{"COPY --from=build of the binary", func(in instruction) bool {
				return in.cmd == "COPY" && strings.HasPrefix(in.args, "--from=build ") && strings.HasSuffix(in.args, " /usr/local/bin/gputune")
			}},
			{`ENTRYPOINT ["/usr/local/bin/gputune"]`, func(in instruction) bool {
				return in.cmd == "ENTRYPOINT" && jsonArgs(in.args)[0] == "/usr/local/bin/gputune"
			}},
			{"EXPOSE " + strconv.Itoa(exporter.DefaultPort), func(in instruction) bool { return in.cmd == "EXPOSE" && in.args == strconv.Itoa(exporter.DefaultPort) }},
			{"USER 0 (NVML locks clocks for root only)", func(in instruction) bool { return in.cmd == "USER" && strings.HasPrefix(in.args, "0") }},
			{"NVIDIA_DRIVER_CAPABILITIES=utility", func(in instruction) bool {
				return in.cmd == "ENV" && strings.Contains(in.args, "NVIDIA_DRIVER_CAPABILITIES=utility")
			}},
		}
		for _, c := range checks {
			if !anyInstruction(final, c.ok) {
				t.Errorf("runtime stage lacks %s", c.what)
			}
		}
	})
}

func anyInstruction(ins []instruction, ok func(instruction) bool) bool {
	for _, in := range ins {
		if ok(in) {
			return true
		}
	}
	return false
}

func jsonArgs(s string) []string {
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil || len(out) == 0 {
		return []string{""}
	}
	return out
}

// TestDockerignoreKeepsTheBuild: every file `go build .` needs (sources,
// cgo files, embedded files, go.mod, go.sum) is in the build context.
func TestDockerignoreKeepsTheBuild(t *testing.T) {
	data, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	if !contains(patterns, ".git") {
		t.Errorf(".dockerignore must leave .git out of the context")
	}
	cmd := exec.CommandContext(t.Context(), "go", "list", "-deps", "-f",
		`{{if .Module}}{{if .Module.Main}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .CgoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{end}}{{end}}`,
		"github.com/gputune/gputune")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"go.mod", "go.sum"}
	for _, f := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, filepath.ToSlash(rel))
	}
	if len(files) < 20 {
		t.Fatalf("only %d files listed", len(files))
	}
	for _, f := range files {
		for _, p := range patterns {
			if ignored(p, f) {
				t.Errorf("%s is needed by the build but .dockerignore's %q leaves it out", f, p)
			}
		}
	}
	for _, tt := range []struct {
		pattern, path string
		want          bool
	}{{"**/*_test.go", "control/loop_test.go", true}, {"**/testdata", "scrape/testdata/x.prom", true}, {"docs", "docs/fleet.md", true},
		{"docs", "internal/docs.go", false}, {"gputune", "internal/gputune.go", false}, {".git", "main.go", false}} {
		if got := ignored(tt.pattern, tt.path); got != tt.want {
			t.Errorf("ignored(%q, %q) = %v", tt.pattern, tt.path, got)
		}
	}
}

// ignored reports whether a .dockerignore pattern leaves path out: the
// pattern matches the path or one of its parent directories; ** matches any
// number of directories.
func ignored(pattern, path string) bool {
	parts := strings.Split(path, "/")
	for i := 1; i <= len(parts); i++ {
		if matchGlob(strings.Split(pattern, "/"), parts[:i]) {
			return true
		}
	}
	return false
}

func matchGlob(pat, parts []string) bool {
	if len(pat) == 0 {
		return len(parts) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(parts); i++ {
			if matchGlob(pat[1:], parts[i:]) {
				return true
			}
		}
		return false
	}
	if len(parts) == 0 {
		return false
	}
	ok, err := filepath.Match(pat[0], parts[0])
	return err == nil && ok && matchGlob(pat[1:], parts[1:])
}
