package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, IO{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func TestBenchBadFlagsExit2(t *testing.T) {
	t.Chdir(t.TempDir()) // no tuner.toml from the repository
	cases := []struct {
		name string
		args []string
		want string // part of the message
	}{
		{"sim params", []string{"--sim-params", "rosy"}, "sim-params"},
		{"profile", []string{"--gpu-profile", "v100"}, "gpu-profile"},
		{"rate scale", []string{"--rate-scale", "-1"}, "rate-scale"},
		{"oracle", []string{"--oracle", "perfect"}, "oracle"},
		{"oracle knob", []string{"--oracle", "hold=-1s"}, "oracle"},
		{"missing model", []string{"--import-model", "/nonexistent/model.json"}, "import-model"},
		{"seeds", []string{"--seeds", "0"}, "seeds"},
		{"policies", []string{"--policies", "gputune,crystal-ball"}, "crystal-ball"},
		{"missing trace", []string{"--trace", "/nonexistent/trace.csv"}, "trace"},
		{"trace and workload", []string{"--trace", "x.csv", "--workload", "poisson"}, "not both"},
		{"synthetic needs duration", []string{"--workload", "poisson"}, "duration"},
		{"unknown workload", []string{"--workload", "tsunami", "--duration", "1m"}, "workload"},
		{"negative duration", []string{"--duration", "-1m"}, "duration"},
		{"slo", []string{"--slo-ttft", "-2"}, "ttft"},
		{"objective", []string{"--objective", "vibes"}, "objective"},
		{"unknown flag", []string{"--turbo"}, "turbo"},
		{"argument", []string{"now"}, "now"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runMain(t, append([]string{"bench", "--out", t.TempDir()}, c.args...)...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", code, exitUsage, stderr)
			}
			if !strings.Contains(strings.ToLower(stderr), c.want) {
				t.Fatalf("message %q does not mention %q", stderr, c.want)
			}
		})
	}
}

// The benchmark must never open a real (or recorded) GPU: with the fake
// GPU's call log named in the environment, a whole bench run leaves it
// untouched.
func TestBenchNeverOpensAGPU(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	log := filepath.Join(dir, "fake-gpu.log")
	if err := os.WriteFile(log, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GPUTUNE_FAKE_GPU", log)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runMain(t, "bench", "--duration", "1m", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if st, err := os.Stat(log); err != nil || st.Size() != 0 {
		t.Fatalf("the fake GPU's call log was touched (%v, %d bytes)", err, st.Size())
	}
	for _, want := range []string{"default", "static-best", "power-cap-best", "agft", "gputune", "horizon-oracle", "not a proof of optimality"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	if t.Failed() {
		t.Errorf("table lacks policies or the oracle caveat:\n%s", stdout)
	}
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["sim_params_hash"] == "" || doc["policies"] == nil {
		t.Errorf("results.json lacks keys: %v", doc)
	}
}

// A model exported by one bench run starts the gputune row of the next, and
// results.json names it.
func TestBenchExportThenImportModel(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	model := filepath.Join(dir, "model.json")
	code, _, stderr := runMain(t, "bench", "--duration", "1m", "--policies", "gputune", "--export-model", model, "--out", filepath.Join(dir, "a"))
	if code != exitOK {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	out := filepath.Join(dir, "b")
	code, _, stderr = runMain(t, "bench", "--duration", "1m", "--seed", "2", "--policies", "gputune", "--import-model", model, "--out", out)
	if code != exitOK {
		t.Fatalf("import: exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Scenario struct {
			ImportedModel string `json:"imported_model"`
		} `json:"scenario"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.Scenario.ImportedModel != model {
		t.Errorf("results.json names imported model %q (%v), want %q", doc.Scenario.ImportedModel, err, model)
	}
	code, _, stderr = runMain(t, "bench", "--duration", "1m", "--gpu-profile", "a100-sxm", "--policies", "gputune", "--import-model", model, "--out", out)
	if code != exitUsage || !strings.Contains(stderr, "import-model") {
		t.Errorf("an H100 model on the A100 profile: exit %d, %s", code, stderr)
	}
}
