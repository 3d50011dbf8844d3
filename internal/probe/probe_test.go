package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gputune/gputune/nvgpu"
)

// fakeReader is a GPU that answers from fixed values; energyErr and
// sampleErr make those reads fail.
type fakeReader struct {
	facts     nvgpu.Facts
	sample    nvgpu.Sample
	energyErr error
	sampleErr error
}

func (f fakeReader) Facts() nvgpu.Facts { return f.facts }
func (f fakeReader) Sample(context.Context) (nvgpu.Sample, error) {
	return f.sample, f.sampleErr
}
func (f fakeReader) InstantPower(context.Context) (nvgpu.PowerReading, error) {
	return nvgpu.PowerReading{At: time.Unix(0, 0), MilliWatts: 85250}, nil
}
func (f fakeReader) EnergyCounter(context.Context) (uint64, error) {
	return 123456789, f.energyErr
}

func h100() fakeReader {
	var core []int
	for mhz := 1980; mhz >= 345; mhz -= 15 {
		core = append(core, mhz)
	}
	return fakeReader{
		facts: nvgpu.Facts{Index: 0, UUID: "GPU-1234", Name: "NVIDIA H100 80GB HBM3", Driver: "580.159.04",
			CoreClocksMHz: core, MemClocksMHz: []int{2619}, PowerLimitW: 700, PowerMinW: 200, PowerMaxW: 700,
			EnergyCounter: true, InstantPower: true},
		sample: nvgpu.Sample{SMClockMHz: 1980, MemClockMHz: 2619, PowerAvgW: 84.5, TempC: 33,
			EventReason: nvgpu.ReasonGPUIdle | nvgpu.ReasonSWPowerCap},
	}
}

func serveFixture(t *testing.T, name string) *httptest.Server {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "..", "scrape", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=1.0.0; charset=utf-8")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestProbeHealthyMachine(t *testing.T) {
	srv := serveFixture(t, "vllm_v1.prom")
	rep := Run(context.Background(), Options{MetricsURL: srv.URL + "/metrics", Reader: h100(), LockStatus: "none"})
	if !rep.OK() {
		t.Fatalf("not OK: %+v", rep)
	}
	g := rep.GPU
	if g.CoreClocks != (ClockRange{MinMHz: 345, MaxMHz: 1980, StepMHz: 15, Count: 110, Uniform: true}) {
		t.Errorf("core clocks %+v", g.CoreClocks)
	}
	if !reflect.DeepEqual(g.EventReasons, []string{"GPU idle", "software power cap"}) {
		t.Errorf("event reasons %v", g.EventReasons)
	}
	if !g.EnergyCounter.Works || g.EnergyCounter.Value != 123456789 || g.InstantPower.Value != 85.25 {
		t.Errorf("checks %+v %+v", g.EnergyCounter, g.InstantPower)
	}
	m := rep.Metrics
	if m.Flavor != "vllm-v1" || m.Signals["running"] != 36 || m.Series["kv_usage"] != "vllm:kv_cache_usage_perc" {
		t.Errorf("metrics %+v", m)
	}
	if len(m.Missing) != 1 || m.Missing[0].Signal != "swapped" {
		t.Errorf("missing %+v", m.Missing)
	}

	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &top); err != nil {
		t.Fatalf("JSON: %v\n%s", err, buf.String())
	}
	decoded := map[string]map[string]any{}
	for _, key := range []string{"gpu", "metrics"} {
		var part map[string]any
		if err := json.Unmarshal(top[key], &part); err != nil {
			t.Fatalf("JSON %s: %v\n%s", key, err, buf.String())
		}
		decoded[key] = part
	}
	if _, ok := top["version"]; !ok || len(top) != 4 {
		t.Errorf("JSON keys: want version, revision, gpu and metrics: %s", buf.String())
	}
	if decoded["gpu"] == nil || decoded["metrics"]["flavor"] != "vllm-v1" {
		t.Errorf("JSON keys: %s", buf.String())
	}
	if sig, ok := decoded["metrics"]["signals"].(map[string]any); !ok || sig["gen_tokens"] != 2.7453e6+1.2e6 {
		t.Errorf("signals %v", decoded["metrics"]["signals"])
	}

	buf.Reset()
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"345–1980 MHz, step 15 MHz, 110 clocks", "GPU idle, software power cap",
		"vllm-v1", "swapped", "disables:", "OK: gputune can run here"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestProbeFailures(t *testing.T) {
	tgi := serveFixture(t, "tgi.prom")
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("<!DOCTYPE html>\n"))
	}))
	defer html.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL + "/metrics"
	down.Close()

	noEnergy := h100()
	noEnergy.energyErr = errors.New("not supported")
	badSample := h100()
	badSample.sampleErr = errors.New("GPU is lost")

	tests := []struct {
		name          string
		opt           Options
		gpuOK, metOK  bool
		reachable     bool
		errorContains string
	}{
		{"no GPU still probes metrics", Options{MetricsURL: tgi.URL, ReaderErr: nvgpu.ErrNoDriver}, false, true, true, "no NVIDIA driver"},
		{"server down", Options{MetricsURL: downURL, Reader: h100()}, true, false, false, downURL},
		{"not a metrics page", Options{MetricsURL: html.URL, Reader: h100()}, true, false, true, "malformed"},
		{"no URL", Options{Reader: h100()}, true, false, false, "--metrics-url"},
		{"bad URL", Options{MetricsURL: "localhost:8000", Reader: h100()}, true, false, false, "http://"},
		{"energy counter fails but instant power works", Options{MetricsURL: tgi.URL, Reader: noEnergy}, true, true, true, ""},
		{"sample fails", Options{MetricsURL: tgi.URL, Reader: badSample}, false, true, true, "GPU is lost"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := Run(context.Background(), tc.opt)
			if rep.GPU.OK() != tc.gpuOK || rep.Metrics.OK() != tc.metOK || rep.Metrics.Reachable != tc.reachable {
				t.Fatalf("gpu ok %v metrics ok %v reachable %v; gpu %+v metrics %+v",
					rep.GPU.OK(), rep.Metrics.OK(), rep.Metrics.Reachable, rep.GPU, rep.Metrics)
			}
			if tc.opt.Reader == nil && rep.GPU.CanSetClocks != "no" {
				t.Errorf("no GPU, yet can set clocks = %q", rep.GPU.CanSetClocks)
			}
			wantOK := tc.gpuOK && tc.metOK
			if rep.OK() != wantOK {
				t.Errorf("OK() = %v, want %v", rep.OK(), wantOK)
			}
			var text bytes.Buffer
			_ = rep.WriteText(&text)
			verdict := "NOT OK"
			if wantOK {
				verdict = "does not work: not supported" // the failed energy read is still shown
			}
			if !strings.Contains(text.String(), tc.errorContains) || !strings.Contains(text.String(), verdict) {
				t.Errorf("text lacks %q or %q:\n%s", tc.errorContains, verdict, text.String())
			}
			var js bytes.Buffer
			if err := rep.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestTGIReportsWhatItsAbsenceDisables(t *testing.T) {
	srv := serveFixture(t, "tgi.prom")
	rep := Run(context.Background(), Options{MetricsURL: srv.URL, Reader: h100()})
	missing := map[string]string{}
	for _, m := range rep.Metrics.Missing {
		missing[m.Signal] = m.Disables
	}
	if !strings.Contains(missing["ttft"], "TTFT SLO") || missing["kv_usage"] == "" {
		t.Errorf("missing = %v", missing)
	}
	if _, ok := rep.Metrics.Signals["ttft"]; ok {
		t.Error("TTFT invented for TGI")
	}
	if rep.Metrics.Series["gen_tokens"] != "tgi_request_generated_tokens_sum" {
		t.Errorf("gen tokens from %q", rep.Metrics.Series["gen_tokens"])
	}
}

func TestSetClockPrivilege(t *testing.T) {
	status := func(capEff string) []byte {
		return []byte("Name:\tgputune\nUid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\nCapEff:\t" + capEff + "\nCapBnd:\t000001ffffffffff\n")
	}
	tests := []struct {
		name   string
		euid   int
		status []byte
		err    error
		want   string
	}{
		{"root with full caps", 0, status("000001ffffffffff"), nil, "yes"},
		{"non-root with CAP_SYS_ADMIN only", 1000, status("0000000000200000"), nil, "yes"},
		{"root in a container without CAP_SYS_ADMIN", 0, status("00000000a80425fb"), nil, "no"},
		{"plain user", 1000, status("0000000000000000"), nil, "no"},
		{"no /proc, root", 0, nil, os.ErrNotExist, "yes"},
		{"no /proc, user", 1000, nil, os.ErrNotExist, "no"},
		{"nothing readable", -1, nil, os.ErrNotExist, "unknown"},
		{"garbled CapEff", -1, status("zz"), nil, "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, why := setClockPrivilege(tc.euid, tc.status, tc.err)
			if got != tc.want || why == "" {
				t.Fatalf("= %q (%q), want %q", got, why, tc.want)
			}
		})
	}
}

func TestEventReasons(t *testing.T) {
	tests := []struct {
		bits uint64
		want []string
	}{
		{0, []string{"none"}},
		{nvgpu.ReasonHWThermalSlowdown, []string{"hardware thermal slowdown"}},
		{nvgpu.ReasonSWPowerCap | 0x4000, []string{"software power cap", "unknown bits 0x4000"}},
	}
	for _, tc := range tests {
		if got := EventReasons(tc.bits); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("EventReasons(%#x) = %v, want %v", tc.bits, got, tc.want)
		}
	}
}

func TestClockRange(t *testing.T) {
	tests := []struct {
		in   []int
		want ClockRange
	}{
		{nil, ClockRange{}},
		{[]int{2619}, ClockRange{MinMHz: 2619, MaxMHz: 2619, Count: 1, Uniform: true}},
		{[]int{1410, 1395, 1380, 1200}, ClockRange{MinMHz: 1200, MaxMHz: 1410, StepMHz: 15, Count: 4, Uniform: false}},
	}
	for _, tc := range tests {
		if got := clockRange(tc.in); got != tc.want {
			t.Errorf("clockRange(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}
