package exporter

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/crypto/bcrypt"

	"github.com/gputune/gputune/control"
)

// TestLabelsJoinWithDCGMExporter holds gputune's series against a real
// dcgm-exporter exposition: for the same GPU on the same host, gpu, UUID,
// modelName and Hostname must carry the same names and values, so that
// `gputune_power_watts * on(UUID) group_left DCGM_FI_DEV_SM_CLOCK` joins.
func TestLabelsJoinWithDCGMExporter(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "dcgm-exporter-h100.prom"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	dcgm, err := parser.TextToMetricFamilies(f)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, l := range dcgm["DCGM_FI_DEV_SM_CLOCK"].Metric[0].Label {
		want[l.GetName()] = l.GetValue()
	}
	for _, name := range gpuLabels {
		if want[name] == "" {
			t.Fatalf("the dcgm-exporter capture has no label %s: %v", name, want)
		}
	}

	e := New(Options{Hostname: want["Hostname"]})
	e.Observe(control.Snapshot{Time: time.Unix(1_800_000_000, 0), GPU: 0, GPUUUID: want["UUID"], GPUName: want["modelName"],
		Mode: control.ModeExploit, FreqMHz: 1410, SMClockMHz: 1410, PowerW: 400, Reward: math.NaN(), Alpha: math.NaN()})
	fams := gather(t, e)
	perGPU := 0
	for name, ms := range fams {
		for _, m := range ms {
			got := map[string]string{}
			for _, l := range m.Label {
				got[l.GetName()] = l.GetValue()
			}
			if name == "gputune_build_info" {
				continue
			}
			perGPU++
			for _, label := range gpuLabels {
				if got[label] != want[label] {
					t.Errorf("%s: %s=%q, dcgm-exporter has %q: on(%s) would not join", name, label, got[label], want[label], label)
				}
			}
		}
	}
	if perGPU < 20 {
		t.Errorf("only %d per-GPU series checked", perGPU)
	}
}

// TestCountersCountOnlyThisProcess: a loop restored from a saved model
// starts at its saved round; only rounds learnt here are counted, and a
// model reset (round back to 0) does not make the counter go backwards.
func TestCountersCountOnlyThisProcess(t *testing.T) {
	e := New(testOptions)
	for _, round := range []int{500, 501, 502, 0, 1, 2} {
		e.Observe(control.Snapshot{GPU: 0, GPUUUID: "GPU-a", Mode: control.ModeExploit, Round: round, Decisions: round,
			SLOViolations: 7, Reward: math.NaN(), Alpha: math.NaN()})
	}
	fams := gather(t, e)
	for _, tt := range []struct {
		name string
		want float64
	}{{"gputune_policy_updates_total", 4}, {"gputune_decisions_total", 4}, {"gputune_slo_violations_total", 0}} {
		if got := value(t, fams, tt.name, "GPU-a"); got != tt.want {
			t.Errorf("%s = %g, want %g", tt.name, got, tt.want)
		}
	}
}

// TestDemoCountersRunOnWallTime: at --speed 10 the simulator makes ten
// seconds of GPU work per wall second; the counters are divided by ten so
// rate() over wall time reads the simulated GPU's 700 W, not 7 kW, and the
// last cycle's timestamp is the wall clock, not the simulated one.
func TestDemoCountersRunOnWallTime(t *testing.T) {
	wall := time.Unix(1_900_000_000, 0)
	e := New(Options{Hostname: "node-a", Speed: 10, Now: func() time.Time { return wall }})
	sim := time.Unix(1_800_000_000, 0)
	var total float64
	for i := range 101 { // 100 simulated seconds at 700 W
		e.Observe(control.Snapshot{Time: sim.Add(time.Duration(i) * time.Second), GPU: 0, GPUUUID: "GPU-a", Demo: true,
			Mode: control.ModeExploit, TotalEnergyJ: total, Tokens: 1000, PowerW: 700, Reward: math.NaN(), Alpha: math.NaN()})
		total += 700
		wall = wall.Add(100 * time.Millisecond)
	}
	fams := gather(t, e)
	// 100 simulated seconds took 10 wall seconds: 70 kJ simulated, 7 kJ
	// exported, 700 W over wall time.
	if got := value(t, fams, "gputune_energy_joules_total", "GPU-a"); math.Abs(got/10-700) > 1e-9 {
		t.Errorf("energy counter %g J over 10 wall seconds = %g W, want 700 W", got, got/10)
	}
	if got := value(t, fams, "gputune_power_watts", "GPU-a"); got != 700 {
		t.Errorf("power gauge %g, want 700 (a gauge is not scaled)", got)
	}
	if got := value(t, fams, "gputune_last_cycle_timestamp_seconds", "GPU-a"); got != float64(wall.Add(-100*time.Millisecond).Unix()) {
		t.Errorf("last cycle at %g, want the wall time %d", got, wall.Add(-100*time.Millisecond).Unix())
	}
	if scale := fams["gputune_demo_time_scale"]; len(scale) != 1 || scale[0].Gauge.GetValue() != 10 {
		t.Errorf("gputune_demo_time_scale %v, want 10", scale)
	}
	if len(gather(t, New(testOptions))["gputune_demo_time_scale"]) != 0 {
		t.Errorf("a live run exports gputune_demo_time_scale")
	}
}

// serve starts s and stops it when the test ends.
func serve(t *testing.T, s *Server) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.Serve(t.Context()) }()
	t.Cleanup(func() {
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
}

// TestIdleConnectionsAreCapped: 150 idle clients never hold more than the
// cap of descriptors, and a scrape still gets through once the header
// timeout has closed the idle ones.
func TestIdleConnectionsAreCapped(t *testing.T) {
	const maxConns = 8
	e := New(testOptions)
	s, err := Listen("127.0.0.1:0", e, slog.New(slog.NewTextHandler(io.Discard, nil)),
		ServerOptions{MaxConns: maxConns, ReadHeaderTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, s)
	var idle []net.Conn
	t.Cleanup(func() {
		for _, c := range idle {
			c.Close()
		}
	})
	for range 150 {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		idle = append(idle, c)
	}
	client := &http.Client{Timeout: time.Minute}
	got := make(chan error, 1)
	go func() {
		resp, err := client.Get("http://" + s.Addr().String() + "/metrics")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %s", resp.Status)
			}
		}
		got <- err
	}()
	peak := 0
	for {
		peak = max(peak, s.ln.openConns())
		select {
		case err := <-got:
			if err != nil {
				t.Fatalf("scrape behind 150 idle connections: %v", err)
			}
			if peak > maxConns {
				t.Errorf("%d connections open at once, cap %d", peak, maxConns)
			}
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestWebConfigBasicAuth: --web.config.file is exporter-toolkit's, as in
// every Prometheus exporter; a bad file fails at start.
func TestWebConfigBasicAuth(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(conf, []byte("basic_auth_users:\n  prometheus: "+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := Listen("127.0.0.1:0", New(testOptions), log, ServerOptions{WebConfigFile: conf})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, s)
	url := "http://" + s.Addr().String() + "/metrics"
	for _, tt := range []struct {
		user, pass string
		want       int
	}{{"", "", http.StatusUnauthorized}, {"prometheus", "wrong", http.StatusUnauthorized}, {"prometheus", "s3cret", http.StatusOK}} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		if tt.user != "" {
			req.SetBasicAuth(tt.user, tt.pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("user %q: status %d, want %d", tt.user, resp.StatusCode, tt.want)
		}
		if tt.want == http.StatusOK && !strings.Contains(string(body), "gputune_build_info") {
			t.Errorf("authorised scrape lacks gputune_build_info")
		}
	}

	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("tls_server_config:\n  cert_file: /nonexistent.crt\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen("127.0.0.1:0", New(testOptions), log, ServerOptions{WebConfigFile: bad}); err == nil ||
		!strings.Contains(err.Error(), "--web.config.file") {
		t.Errorf("a bad web config was accepted: %v", err)
	}
}

// TestProbes: /-/ready once a loop has published, /-/healthy until a
// loop stops publishing for longer than StallAfter.
func TestProbes(t *testing.T) {
	now := time.Unix(1_900_000_000, 0)
	opts := testOptions
	opts.Now = func() time.Time { return now }
	e := New(opts)
	s, err := Listen("127.0.0.1:0", e, slog.New(slog.NewTextHandler(io.Discard, nil)), ServerOptions{StallAfter: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, s)
	status := func(path string) int {
		resp, err := http.Get("http://" + s.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	check := func(when string, ready, healthy int) {
		t.Helper()
		if got := status("/-/ready"); got != ready {
			t.Errorf("%s: /-/ready %d, want %d", when, got, ready)
		}
		if got := status("/-/healthy"); got != healthy {
			t.Errorf("%s: /-/healthy %d, want %d", when, got, healthy)
		}
	}
	check("before any cycle", 503, 200)
	e.Observe(control.Snapshot{GPU: 0, GPUUUID: "GPU-a", Reward: math.NaN(), Alpha: math.NaN()})
	check("after the first cycle", 200, 200)
	now = now.Add(61 * time.Second)
	check("after a minute without a cycle", 200, 503)
}

func TestStaleStateFiles(t *testing.T) {
	opts := testOptions
	opts.StaleStates = func() (int, error) { return 2, nil }
	fams := gather(t, New(opts))
	if m := fams["gputune_stale_state_files"]; len(m) != 1 || m[0].Gauge.GetValue() != 2 {
		t.Errorf("gputune_stale_state_files = %v, want 2", m)
	}
	opts.StaleStates = func() (int, error) { return 0, os.ErrPermission }
	fams = gather(t, New(opts))
	if m := fams["gputune_stale_state_files_error"]; len(m) != 1 || m[0].Gauge.GetValue() != 1 || len(fams["gputune_stale_state_files"]) != 0 {
		t.Errorf("an unreadable run dir: %v", fams["gputune_stale_state_files_error"])
	}
	if _, ok := gather(t, New(testOptions))["gputune_stale_state_files"]; ok {
		t.Errorf("exported without a run directory to count")
	}
}
