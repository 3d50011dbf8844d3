package fleettest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/gputune/gputune/internal/testkit"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestFourGPUsUnderPrometheus runs the command,
// `gputune --demo --no-tui --sim-gpus 4 --duration 10m --speed 60`, with
// --listen, under a real Prometheus scraping it every second. It checks the
// JSON lines (four distinct GPUs, each reaching exploit) and the series
// Prometheus stored, queried through its HTTP API.
func TestFourGPUsUnderPrometheus(t *testing.T) {
	prom := testkit.RequireTool(t, "prometheus", "apt-get install prometheus")
	bin := gputune(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	gtAddr, promAddr := freePort(t), freePort(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n"+
		"  - job_name: gputune\n    static_configs:\n      - targets: ['%s']\n", gtAddr)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var promLog bytes.Buffer
	promCmd := exec.CommandContext(ctx, prom, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr, "--log.level=warn")
	promCmd.Stdout, promCmd.Stderr = &promLog, &promLog
	if err := promCmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = promCmd.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", promLog.String())
		}
	}()
	waitReady(ctx, t, "http://"+promAddr+"/-/ready")

	var stdout, stderr bytes.Buffer
	gt := exec.CommandContext(ctx, bin, "--demo", "--no-tui", "--sim-gpus", "4", "--duration", "10m", "--speed", "60",
		"--listen", gtAddr, "--data-dir", filepath.Join(dir, "data"))
	gt.Env = cleanEnv()
	gt.Stdout, gt.Stderr = &stdout, &stderr
	if err := gt.Run(); err != nil {
		t.Fatalf("gputune: %v\n%s", err, tail(stderr.String()))
	}

	t.Run("json lines", func(t *testing.T) { checkJSONLines(t, stdout.Bytes()) })

	// The run is over; range queries still see what was scraped while it ran.
	queries := []struct {
		query string
		want  int // series, one per GPU unless noted
	}{
		{`max_over_time(up{job="gputune"}[10m]) == 1`, 1},
		// Modes flip every 0.3 s of simulated time, 18 s per scrape: that
		// each GPU reaches exploit is checked on the JSON lines; here,
		// that Prometheus saw every GPU deciding.
		{`max by (gpu, UUID) (max_over_time(gputune_mode{mode=~"explore|exploit"}[10m])) == 1`, 4},
		{`count by (gpu, UUID) (count_over_time(gputune_mode[10m]))`, 4},
		{`max_over_time(gputune_energy_joules_total[10m]) > 0`, 4},
		{`max_over_time(gputune_sm_clock_hertz[10m]) > 0`, 4},
		{`max_over_time(gputune_sm_clock_commanded_hertz[10m]) > 0`, 4},
		{`max_over_time(gputune_power_watts[10m]) > 0`, 4},
		{`max_over_time(gputune_decisions_total[10m]) > 0`, 4},
		{`max_over_time(gputune_generated_tokens_total[10m]) > 0`, 4},
		{`max_over_time(gputune_energy_baseline_windows[10m]) > 0`, 4},
		{`count_over_time(gputune_energy_saved_estimate_joules[10m])`, 4},
		{`count_over_time(gputune_exploration_alpha[10m])`, 4},
		{`count_over_time(gputune_window_energy_error_bound_joules[10m])`, 4},
		{`count_over_time(gputune_slo_violations_total[10m])`, 4},
		{`count_over_time(gputune_pruned_arms[10m])`, 4},
		{`count_over_time(gputune_reward[10m])`, 4},
		{`max_over_time(gputune_actuation{actuation="auto"}[10m]) == 1`, 4},
		// dcgm-exporter's label names, for on(UUID) joins.
		{`count by (gpu, UUID, modelName, Hostname) (max_over_time(gputune_power_watts[10m]))`, 4},
		{`max_over_time(gputune_build_info[10m]) == 1`, 1},
	}
	base := "http://" + promAddr
	if up := queryVector(ctx, t, base, `count_over_time(up{job="gputune"}[10m])`); len(up) == 1 {
		t.Logf("Prometheus scraped gputune %v times", up[0].Value[1])
	}
	for _, q := range queries {
		got := queryVector(ctx, t, base, q.query)
		uuids := map[string]bool{}
		for _, s := range got {
			uuids[s.Metric["UUID"]] = true
		}
		if len(got) != q.want || (q.want == 4 && len(uuids) != 4) {
			t.Errorf("%s: %d series over %d GPUs, want %d: %+v", q.query, len(got), len(uuids), q.want, got)
		}
	}
}

// checkJSONLines wants four distinct GPUs, each with its own index and
// UUID, each reaching exploit.
func checkJSONLines(t *testing.T, out []byte) {
	type line struct {
		GPU  int    `json:"gpu"`
		UUID string `json:"gpu_uuid"`
		Mode string `json:"mode"`
	}
	exploit := map[string]bool{}
	index := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("not a JSON line: %v: %.200s", err, sc.Text())
		}
		if i, ok := index[l.UUID]; ok && i != l.GPU {
			t.Errorf("UUID %s reported as GPU %d and %d", l.UUID, i, l.GPU)
		}
		index[l.UUID] = l.GPU
		exploit[l.UUID] = exploit[l.UUID] || l.Mode == "exploit"
	}
	indices := map[int]bool{}
	for uuid, i := range index {
		indices[i] = true
		if !exploit[uuid] {
			t.Errorf("GPU %d (%s) never reached exploit", i, uuid)
		}
	}
	if len(index) != 4 || len(indices) != 4 {
		t.Errorf("JSON lines for %d UUIDs and %d indices, want 4 distinct GPUs: %v", len(index), len(indices), index)
	}
}

type series struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
}

func queryVector(ctx context.Context, t *testing.T, base, query string) []series {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query?query="+url.QueryEscape(query), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("query %s: %v", query, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string   `json:"resultType"`
			Result     []series `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("query %s: %v", query, err)
	}
	if body.Status != "success" || body.Data.ResultType != "vector" {
		t.Fatalf("query %s: status %s (%s), type %s", query, body.Status, body.Error, body.Data.ResultType)
	}
	return body.Data.Result
}

func waitReady(ctx context.Context, t *testing.T, u string) {
	t.Helper()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never ready", u)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func tail(s string) string {
	if lines := strings.Split(s, "\n"); len(lines) > 30 {
		return strings.Join(lines[len(lines)-30:], "\n")
	}
	return s
}
