package fleettest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gputune/gputune/nvgpu/recordgpu"
)

// TestModelImportAcrossNodes moves a model learned on one node (a demo run)
// to another node's GPU with `gputune model import`: refused for another
// GPU model and for another served model, each with a message that says
// which, and accepted when both match. The receiving node's GPU is the
// recordgpu fake (GPUTUNE_FAKE_GPU), so no GPU is needed.
func TestModelImportAcrossNodes(t *testing.T) {
	bin := gputune(t)
	dir := t.TempDir()
	trained := filepath.Join(dir, "node-a")
	run := exec.CommandContext(t.Context(), bin, "--demo", "--no-tui", "--duration", "1m", "--speed", "60", "--data-dir", trained)
	run.Env = cleanEnv()
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("demo run: %v\n%s", err, tail(string(out)))
	}
	// The demo keeps its models apart from real GPUs', under demo/.
	models, _ := filepath.Glob(filepath.Join(trained, "demo", "models", "*", "*.json"))
	if len(models) != 1 {
		t.Fatalf("the demo saved %d models, want 1: %v", len(models), models)
	}
	exported := filepath.Join(dir, "exported.json")
	data, err := os.ReadFile(models[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exported, data, 0o644); err != nil {
		t.Fatal(err)
	}

	// The same model, relabelled as learned on the fake GPU's model and
	// for a named served model: what a node of that kind would export.
	var env map[string]any
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	env["gpu_model"] = "NVIDIA H100 80GB HBM3 (recordgpu fake)"
	env["served_model"] = "meta-llama/Llama-3.1-8B-Instruct"
	sameKind, _ := json.Marshal(env)
	sameKindPath := filepath.Join(dir, "same-kind.json")
	if err := os.WriteFile(sameKindPath, sameKind, 0o644); err != nil {
		t.Fatal(err)
	}

	nodeB := filepath.Join(dir, "node-b")
	tests := []struct {
		name    string
		args    []string
		wantErr string // "" means success
	}{
		{"another GPU model", []string{exported}, `saved for GPU "NVIDIA H100 80GB HBM3 (simulated)", this GPU is "NVIDIA H100 80GB HBM3 (recordgpu fake)"`},
		{"another served model", []string{"--served-model", "Qwen/Qwen2.5-7B-Instruct", sameKindPath},
			`saved for served model "meta-llama/Llama-3.1-8B-Instruct", the server runs "Qwen/Qwen2.5-7B-Instruct"`},
		{"same GPU and served model", []string{"--served-model", "meta-llama/Llama-3.1-8B-Instruct", sameKindPath}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"model", "import", "--data-dir", nodeB, "--gpu", "1"}, tt.args...)
			cmd := exec.CommandContext(t.Context(), bin, args...)
			cmd.Env = cleanEnv(recordgpu.EnvVar + "=" + filepath.Join(dir, "fake-calls.log"))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			installed, _ := filepath.Glob(filepath.Join(nodeB, "models", "*", "*.json"))
			switch {
			case tt.wantErr != "" && err == nil:
				t.Fatalf("import accepted; want refused with %s", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(stderr.String(), tt.wantErr):
				t.Errorf("stderr %q does not say %s", stderr.String(), tt.wantErr)
			case tt.wantErr != "" && len(installed) != 0:
				t.Errorf("a refused import installed %v", installed)
			case tt.wantErr == "" && err != nil:
				t.Fatalf("import: %v\n%s", err, stderr.String())
			case tt.wantErr == "" && len(installed) != 1:
				t.Errorf("installed %v, want one model for the fake GPU 1", installed)
			}
		})
	}
}
