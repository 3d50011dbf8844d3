package exporter

import (
	"bytes"
	"context"
	"github.com/gputune/gputune/internal/testkit"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/internal/buildinfo"
)

// testOptions fix what New would read from the host and the binary.
var testOptions = Options{Hostname: "node-a", Build: &buildinfo.Info{Version: "v9.8.7", Revision: "0123abcd", GoVersion: "go1.26.8"}}

// feed gives the exporter a warm-up at the default governor (0.5 J/token at
// 1000 tokens/s), then locked windows at 0.4 J/token, for GPU idx.
func feed(e *Exporter, idx int, uuid string) control.Snapshot {
	t0 := time.Unix(1_800_000_000, 0)
	snap := func(i int, mode control.Mode, freq int, energy float64) control.Snapshot {
		return control.Snapshot{
			Time: t0.Add(time.Duration(i) * time.Second), GPU: idx, GPUUUID: uuid, GPUName: "NVIDIA H100 80GB HBM3",
			Mode: mode, Actuation: control.ActAuto, Policy: "gputune", Objective: "edp", SLOMode: "slo-aware",
			FreqMHz: freq, SMClockMHz: max(freq, 1980), MemClockMHz: 2619, PowerW: energy, EnergyJ: energy,
			EnergyErrJ: 0.2, TotalEnergyJ: float64(i) * 450, Tokens: 1000, Reward: math.NaN(), Alpha: math.NaN(),
			TTFTLimitS: 2, TPOTLimitS: 0.25, TTFTTailS: 0.3, TPOTTailS: 0.04, SLOOK: true,
		}
	}
	// ran is what the next window runs at, as the loop tracks it.
	var last control.Snapshot
	ran := control.RanAt{Mode: control.ModeWarmup}
	observe := func(s control.Snapshot) {
		s.Ran = ran
		e.Observe(s)
		last, ran = s, control.RanAt{Since: s.Time, FreqMHz: s.FreqMHz, MemFreqMHz: s.MemFreqMHz, Mode: s.Mode}
	}
	for i := range 5 { // the first primes; windows 1..4 ran at the default governor
		observe(snap(i, control.ModeWarmup, 0, 500))
	}
	// The last warm-up snapshot again, now commanding the first lock: the
	// exporter counts its window once.
	again := last
	again.FreqMHz = 1410
	e.Observe(again)
	ran.FreqMHz = 1410
	for i := 5; i < 8; i++ {
		s := snap(i, control.ModeExploit, 1410, 400)
		s.Reward, s.RewardValid, s.Alpha, s.Decisions, s.Round = 0.2, true, 0.7, i-4, i-4
		s.SLOViolations = 1
		s.Pruned = []bandit.Pruned{{Reason: "slow"}}
		observe(s)
	}
	return last
}

func gather(t *testing.T, e *Exporter) map[string][]*dto.Metric {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(e); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string][]*dto.Metric{}
	for _, f := range fams {
		out[f.GetName()] = f.Metric
	}
	return out
}

// value finds name's value for the GPU uuid and the extra label pairs.
func value(t *testing.T, fams map[string][]*dto.Metric, name, uuid string, kv ...string) float64 {
	t.Helper()
next:
	for _, m := range fams[name] {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["UUID"] != uuid {
			continue
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if labels[kv[i]] != kv[i+1] {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Counter != nil:
			return m.Counter.GetValue()
		}
	}
	t.Fatalf("no %s for %s %v", name, uuid, kv)
	return 0
}

func TestCollectorValues(t *testing.T) {
	e := New(testOptions)
	feed(e, 0, "GPU-a")
	feed(e, 1, "GPU-b")
	fams := gather(t, e)
	tests := []struct {
		name string
		kv   []string
		want float64
	}{
		{"gputune_sm_clock_commanded_hertz", nil, 1410e6},
		{"gputune_sm_clock_hertz", nil, 1980e6},
		{"gputune_memory_clock_hertz", nil, 2619e6},
		{"gputune_power_watts", nil, 400},
		{"gputune_energy_joules_total", nil, 7 * 450},
		{"gputune_window_energy_error_bound_joules", nil, 0.2},
		// Three locked windows, each 1000 tokens × 0.5 J − 400 J = 100 J;
		// the window after the re-published warm-up snapshot has no
		// duration and is not counted.
		{"gputune_energy_saved_estimate_joules", nil, 300},
		{"gputune_energy_saved_estimate_windows_total", nil, 3},
		{"gputune_energy_saved_estimate_skipped_windows_total", nil, 0},
		{"gputune_energy_baseline_windows", nil, 4},
		{"gputune_reward", nil, 0.2},
		{"gputune_slo_violations_total", nil, 1},
		{"gputune_mode", []string{"mode", "exploit"}, 1},
		{"gputune_mode", []string{"mode", "warmup"}, 0},
		{"gputune_actuation", []string{"actuation", "auto"}, 1},
		{"gputune_actuation", []string{"actuation", "readonly"}, 0},
		{"gputune_decisions_total", nil, 3},
		{"gputune_pruned_arms", nil, 1},
		{"gputune_exploration_alpha", nil, 0.7},
		{"gputune_generated_tokens_total", nil, 9000},
		{"gputune_gpu_info", []string{"modelName", "NVIDIA H100 80GB HBM3", "Hostname", "node-a", "policy", "gputune"}, 1},
	}
	for _, uuid := range []string{"GPU-a", "GPU-b"} {
		for _, tt := range tests {
			if got := value(t, fams, tt.name, uuid, tt.kv...); math.Abs(got-tt.want) > 1e-6*math.Max(1, tt.want) {
				t.Errorf("%s %s %v = %g, want %g", uuid, tt.name, tt.kv, got, tt.want)
			}
		}
	}
	if got := value(t, fams, "gputune_sm_clock_hertz", "GPU-b", "gpu", "1"); got != 1980e6 {
		t.Errorf("GPU-b is not labelled gpu=1")
	}
}

func TestUnknownValuesAreLeftOut(t *testing.T) {
	e := New(testOptions)
	e.Observe(control.Snapshot{GPU: 0, GPUUUID: "GPU-a", Mode: control.ModeWarmup, PowerW: math.NaN(),
		EnergyJ: math.NaN(), Reward: math.NaN(), Alpha: math.NaN(), TTFTTailS: math.NaN(), TPOTTailS: math.NaN()})
	fams := gather(t, e)
	for _, name := range []string{"gputune_power_watts", "gputune_reward", "gputune_exploration_alpha",
		"gputune_sm_clock_hertz", "gputune_ttft_tail_seconds"} {
		if len(fams[name]) != 0 {
			t.Errorf("%s exported before it is known", name)
		}
	}
	if got := value(t, fams, "gputune_mode", "GPU-a", "mode", "warmup"); got != 1 {
		t.Errorf("mode warmup = %g, want 1", got)
	}
}

// scrapeBody serves e on a free port and returns one scrape of /metrics.
func scrapeBody(t *testing.T, e *Exporter) []byte {
	t.Helper()
	srv, err := Listen("127.0.0.1:0", e, slog.New(slog.NewTextHandler(io.Discard, nil)), ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	resp, err := http.Get("http://" + srv.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q: Prometheus 3 needs text/plain (or a negotiated format)", ct)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func TestListenRefusesBadAddress(t *testing.T) {
	if _, err := Listen("no-port", New(testOptions), slog.New(slog.NewTextHandler(io.Discard, nil)), ServerOptions{}); err == nil ||
		!strings.Contains(err.Error(), "host:port") {
		t.Errorf("Listen(no-port) = %v, want an error saying host:port", err)
	}
}

// TestPromtoolAcceptsOutput lints a real scrape with promtool: names, units,
// _total on counters, help texts.
func TestPromtoolAcceptsOutput(t *testing.T) {
	promtool := testkit.RequireTool(t, "promtool", "apt-get install prometheus")
	e := New(testOptions)
	feed(e, 0, "GPU-a")
	feed(e, 1, "GPU-b")
	body := scrapeBody(t, e)
	for _, want := range []string{
		`gputune_energy_saved_estimate_joules{Hostname="node-a",UUID="GPU-b",gpu="1",modelName="NVIDIA H100 80GB HBM3"} 300`,
		`gputune_mode{Hostname="node-a",UUID="GPU-a",gpu="0",mode="exploit",modelName="NVIDIA H100 80GB HBM3"} 1`,
		`gputune_build_info{goversion="go1.26.8",revision="0123abcd",version="v9.8.7"} 1`,
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	// promtool's linter wants snake_case label names; dcgm-exporter's
	// UUID, modelName and Hostname are camelCase on purpose (joins). So
	// the scrape is linted with those three renamed, and must then be
	// clean; the scrape as served must parse.
	snake := strings.NewReplacer(`UUID="`, `uuid="`, `modelName="`, `model_name="`, `Hostname="`, `hostname="`).Replace(string(body))
	cmd := exec.CommandContext(t.Context(), promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(snake)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	if _, err := parser.TextToMetricFamilies(bytes.NewReader(body)); err != nil {
		t.Errorf("the scrape does not parse: %v", err)
	}
}

// TestObserveWhileScraped feeds snapshots while the registry gathers (run
// with -race).
func TestObserveWhileScraped(t *testing.T) {
	e := New(testOptions)
	reg := prometheus.NewRegistry()
	if err := reg.Register(e); err != nil {
		t.Fatal(err)
	}
	sub := make(chan control.Snapshot)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Follow(t.Context(), sub)
	}()
	for i := range 200 {
		sub <- control.Snapshot{Time: time.Unix(int64(i), 0), GPU: i % 2, GPUUUID: []string{"GPU-a", "GPU-b"}[i%2],
			Mode: control.ModeExploit, EnergyJ: 1, Tokens: 10, Reward: math.NaN(), Alpha: math.NaN()}
		if i%20 == 0 {
			if _, err := reg.Gather(); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(sub)
	<-done
	if got := value(t, gather(t, e), "gputune_generated_tokens_total", "GPU-b"); got != 1000 {
		t.Errorf("tokens %g, want 1000", got)
	}
}
