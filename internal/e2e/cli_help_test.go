package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var oneDash = regexp.MustCompile(`(?m)^\s+-[a-z]`)

// Help goes to stdout with exit 0; bad usage is one line on stderr that
// points to --help, with exit 2; flags that a mode would ignore are errors.
func TestConventionalHelpAndUsageErrors(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("out-of-process test of the gputune binary")
	}
	help := []struct {
		args []string
		want []string // on stdout
		not  []string // not on stdout
	}{
		{[]string{"--help"}, []string{"Usage:", "--demo", "--config"}, nil},
		{[]string{"-h"}, []string{"--no-tui"}, nil},
		{[]string{"help"}, []string{"gputune help [COMMAND]"}, nil},
		{[]string{"help", "model"}, []string{"model show", "model export", "model import"}, nil},
		{[]string{"model", "--help"}, []string{"model import"}, nil},
		{[]string{"model", "import", "--help"}, []string{"--force", "--served-model", "--config", "--demo"}, nil},
		{[]string{"help", "model", "show"}, []string{"--data-dir"}, []string{"--served-model", "--force", "--gpu"}},
		{[]string{"probe", "--help"}, []string{"--metrics-url", "--config"}, []string{"--demo"}},
		{[]string{"reset", "--help"}, []string{"--gpu", "--config"}, nil},
		{[]string{"bench", "--help"}, []string{"--suite", "--config"}, nil},
	}
	for _, tt := range help {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := run(t, demoEnv(), tt.args...)
			if code != 0 {
				t.Errorf("exit %d, want 0\n%s", code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(stdout, w) {
					t.Errorf("stdout lists another command's %q:\n%s", w, stdout)
				}
			}
			if oneDash.MatchString(stdout) {
				t.Errorf("a flag shown with one dash:\n%s", stdout)
			}
		})
	}
	bad := []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, "--bogus"},
		{[]string{"--demo", "--gpu", "5"}, "--gpu 5"},
		{[]string{"--demo", "--sim-gpus", "2", "--gpu", "2"}, "--sim-gpus 3"},
		{[]string{"--gpu", "1", "--sim-gpus", "2"}, "--sim-gpus applies only to the demo"},
		{[]string{"--demo", "--metrics-url", "http://127.0.0.1:8000/metrics"}, "--metrics-url does not apply"},
		{[]string{"--demo", "--duration", "5"}, "5s or 5m"},
		{[]string{"--demo", "--listen", "nonsense"}, "--listen"},
		{[]string{"probe", "--metrics-url", "not a url"}, "--metrics-url"},
		{[]string{"model"}, "gputune model --help"},
		{[]string{"model", "show", "--gpu", "1"}, "see gputune model show --help"},
		{[]string{"--demo", "--config", "/nonexistent/tuner.toml"}, "/nonexistent/tuner.toml"},
	}
	for _, tt := range bad {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := run(t, demoEnv(), append(tt.args, "--no-tui")...)
			if tt.args[0] == "probe" || tt.args[0] == "model" {
				code, stdout, stderr = run(t, demoEnv(), tt.args...)
			}
			if code != 2 {
				t.Errorf("exit %d, want 2\nstderr: %s", code, stderr)
			}
			if stdout != "" {
				t.Errorf("bad usage wrote to stdout:\n%s", stdout)
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
				t.Errorf("want one error line, got %d:\n%s", n+1, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, stderr)
			}
		})
	}
}

// The demo's model goes out with export and comes back with import; a file
// whose policy state is garbage is refused and the saved model is left as
// it was; an existing model is replaced only with --force.
func TestDemoModelExportImport(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the demo")
	}
	dataDir := t.TempDir()
	if code, _, stderr := run(t, demoEnv(), demoArgs(dataDir, "1m")...); code != 0 {
		t.Fatalf("demo: exit %d\n%s", code, stderr)
	}
	saved, _ := filepath.Glob(filepath.Join(dataDir, "demo", "models", "*", "*.gputune.json"))
	if len(saved) != 1 {
		t.Fatalf("want the demo's one model under %s/demo/models, found %v", dataDir, saved)
	}
	before, err := os.ReadFile(saved[0])
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "model.json")
	code, stdout, stderr := run(t, demoEnv(), "model", "export", out, "--demo", "--data-dir", dataDir)
	if code != 0 || !strings.Contains(stdout, out) {
		t.Fatalf("export: exit %d, stdout %q\n%s", code, stdout, stderr)
	}

	// Garbage policy state: refused, the saved model untouched.
	var e map[string]any
	exported, _ := os.ReadFile(out)
	if err := json.Unmarshal(exported, &e); err != nil {
		t.Fatal(err)
	}
	e["policy_state"] = map[string]any{"format_version": 1, "theta": "garbage"}
	corrupt := filepath.Join(t.TempDir(), "corrupt.json")
	b, _ := json.Marshal(e)
	if err := os.WriteFile(corrupt, b, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, demoEnv(), "model", "import", corrupt, "--demo", "--data-dir", dataDir, "--force")
	if code == 0 {
		t.Errorf("import of a corrupt policy state exited 0:\n%s", stderr)
	}
	if after, _ := os.ReadFile(saved[0]); !bytes.Equal(before, after) {
		t.Errorf("a refused import changed the saved model")
	}

	// A model labelled for the other policy is refused too.
	e["policy_state"] = json.RawMessage(`{}`)
	e["policy"] = "agft"
	b, _ = json.Marshal(e)
	foreign := filepath.Join(t.TempDir(), "foreign.json")
	if err := os.WriteFile(foreign, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr = run(t, demoEnv(), "model", "import", foreign, "--demo", "--data-dir", dataDir, "--force"); code == 0 {
		t.Errorf("import of another policy's model as gputune's exited 0:\n%s", stderr)
	}

	// Without --force an existing model stays.
	code, _, stderr = run(t, demoEnv(), "model", "import", out, "--demo", "--data-dir", dataDir)
	if code == 0 || !strings.Contains(stderr, "--force") {
		t.Errorf("import over an existing model without --force: exit %d\n%s", code, stderr)
	}
	// Round trip: import into a fresh data folder and export again.
	fresh := t.TempDir()
	code, stdout, stderr = run(t, demoEnv(), "model", "import", out, "--demo", "--data-dir", fresh)
	if code != 0 || !strings.Contains(stdout, "wrote") {
		t.Fatalf("import: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	again := filepath.Join(t.TempDir(), "again.json")
	if code, _, stderr = run(t, demoEnv(), "model", "export", again, "--demo", "--data-dir", fresh); code != 0 {
		t.Fatalf("export after import: exit %d\n%s", code, stderr)
	}
	if a, _ := os.ReadFile(again); !bytes.Equal(a, exported) {
		t.Errorf("export → import → export changed the model")
	}
	// The imported model is what the next demo run starts from.
	code, _, stderr = run(t, demoEnv(), demoArgs(fresh, "30s")...)
	if code != 0 || !strings.Contains(stderr, "loaded saved model") {
		t.Errorf("the demo did not load the imported model: exit %d\n%s", code, stderr)
	}

	// A saved model that does not restore at start (its policy state
	// garbage, written behind import's back) is kept aside, never
	// overwritten by the fresh model the run saves.
	e["policy"] = "gputune"
	e["policy_state"] = map[string]any{"format_version": 1, "theta": "garbage"}
	bad := mustJSON(t, e)
	if err := os.WriteFile(saved[0], bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr = run(t, demoEnv(), demoArgs(dataDir, "30s")...); code != 0 {
		t.Fatalf("demo over an unloadable model: exit %d\n%s", code, stderr)
	}
	aside, _ := filepath.Glob(saved[0] + ".bad-*")
	if len(aside) != 1 {
		t.Fatalf("the unloadable model was not kept aside (found %v):\n%s", aside, stderr)
	}
	if kept, _ := os.ReadFile(aside[0]); !bytes.Equal(kept, bad) {
		t.Errorf("the model kept aside is not the file that failed to load")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
