package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gpuDecision is the part of a decision line this test reads.
type gpuDecision struct {
	GPU      int                `json:"gpu"`
	Features map[string]float64 `json:"features"`
}

// TestEachGPUScrapesItsOwnServer runs gputune on the two fake GPUs with one
// server per GPU, set in tuner.toml and with --gpu-metrics-url, and checks
// from the decision lines that each GPU's loop read its own server (each
// reports a different number of running requests) and that a GPU without
// an entry reads scrape.metrics_url.
func TestEachGPUScrapesItsOwnServer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// setup returns the [scrape] table and extra flags, given the
		// fallback server and the servers of GPU 0 and 1.
		setup func(fallback, gpu0, gpu1 string) (scrapeTOML string, flags []string)
		// fallbackUsedBy is the GPU expected to read the fallback, or -1.
		fallbackUsedBy int
	}{
		{
			name: "tuner.toml",
			setup: func(fallback, gpu0, gpu1 string) (string, []string) {
				return fmt.Sprintf("metrics_url = %q\nmetrics_urls = { \"0\" = %q, \"1\" = %q }\n", fallback, gpu0, gpu1), nil
			},
			fallbackUsedBy: -1,
		},
		{
			name: "flag, GPU 0 on metrics_url",
			setup: func(fallback, _, gpu1 string) (string, []string) {
				return fmt.Sprintf("metrics_url = %q\n", fallback), []string{"--gpu-metrics-url", "1=" + gpu1}
			},
			fallbackUsedBy: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t)
			fallback, gpu0, gpu1 := newFakeVLLMRunning(t, 5), newFakeVLLMRunning(t, 3), newFakeVLLMRunning(t, 11)
			scrapeTOML, flags := tt.setup(fallback.url(), gpu0.url(), gpu1.url())
			if err := os.MkdirAll(r.dataDir, 0o755); err != nil {
				t.Fatal(err)
			}
			cfg := filepath.Join(r.dataDir, "tuner.toml")
			text := "[control]\nperiod = \"100ms\"\nwarmup_windows = 2\n[scrape]\ntimeout = \"75ms\"\n" + scrapeTOML
			if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"--no-tui", "--dry-run", "--gpu", "0,1", "--config", cfg,
				"--data-dir", r.dataDir, "--log-dir", filepath.Join(r.dataDir, "logs"), "--duration", "1500ms"}, flags...)
			code, stdout, stderr := run(t, r.env(), args...)
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			want := map[int]float64{0: 3, 1: 11}
			if tt.fallbackUsedBy >= 0 {
				want[tt.fallbackUsedBy] = 5
			}
			seen := map[int]int{}
			for i, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
				var d gpuDecision
				if err := json.Unmarshal([]byte(line), &d); err != nil {
					t.Fatalf("stdout line %d is not JSON: %v\n%s", i+1, err, line)
				}
				running, ok := d.Features["running"]
				if !ok || running == 0 {
					continue // a window before the first full scrape
				}
				if running != want[d.GPU] {
					t.Fatalf("GPU %d saw %v running requests, want %v (its own server's)", d.GPU, running, want[d.GPU])
				}
				seen[d.GPU]++
			}
			if seen[0] == 0 || seen[1] == 0 {
				t.Fatalf("decisions with a measured window per GPU: %v; want both GPUs\nstdout:\n%s", seen, stdout)
			}
			servers := map[string]*fakeVLLM{"GPU 0's": gpu0, "GPU 1's": gpu1, "metrics_url's": fallback}
			wantScraped := map[string]bool{"GPU 0's": tt.fallbackUsedBy != 0, "GPU 1's": true, "metrics_url's": tt.fallbackUsedBy >= 0}
			for name, s := range servers {
				if got := s.scraped() > 0; got != wantScraped[name] {
					t.Errorf("%s server scraped %d times; want scraped: %v", name, s.scraped(), wantScraped[name])
				}
			}
		})
	}
}
