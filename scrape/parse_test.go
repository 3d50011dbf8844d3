package scrape

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t testing.TB, b []byte) Sample {
	t.Helper()
	s, err := ParseExposition(b, time.Unix(1000, 0))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return s
}

func near(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// scalarOfSample reads a scalar signal back out of a sample.
func scalarOfSample(s *Sample, sig Signal) float64 { return *scalarField(s, sig) }

func TestParseFixtures(t *testing.T) {
	type want struct {
		value  float64
		series string
	}
	tests := []struct {
		file    string
		flavor  Flavor
		scalars map[Signal]want
		hists   map[Signal]want // value = observation count
		missing []Signal
	}{
		{
			file:   "vllm_v1.prom",
			flavor: FlavorVLLMV1,
			scalars: map[Signal]want{
				SigRunning:       {36, "vllm:num_requests_running"}, // 24 + 12 over two engines
				SigWaiting:       {4, "vllm:num_requests_waiting"},
				SigKVUsage:       {(0.6125 + 0.4) / 2, "vllm:kv_cache_usage_perc"}, // averaged, not summed
				SigPromptTokens:  {4.4523e6 + 2.1e6, "vllm:prompt_tokens_total"},
				SigGenTokens:     {2.7453e6 + 1.2e6, "vllm:generation_tokens_total"},
				SigPrefixHits:    {1.8e6, "vllm:prefix_cache_hits_total"},
				SigPrefixQueries: {4.4523e6 + 2.1e6, "vllm:prefix_cache_queries_total"},
				SigFinished:      {9512 + 131 + 4000 + 69, "vllm:request_success_total"},
				SigPreemptions:   {9, "vllm:num_preemptions_total"},
			},
			hists: map[Signal]want{
				SigTTFT:       {9643 + 4069, "vllm:time_to_first_token_seconds"},
				SigITL:        {2735800 + 1195000, "vllm:inter_token_latency_seconds"},
				SigTPOT:       {9643 + 4069, "vllm:request_time_per_output_token_seconds"},
				SigE2E:        {9643 + 4069, "vllm:e2e_request_latency_seconds"},
				SigIterTokens: {118803 + 60000, "vllm:iteration_tokens_total"},
			},
			missing: []Signal{SigSwapped},
		},
		{
			file:   "vllm_v0.prom",
			flavor: FlavorVLLMV0,
			scalars: map[Signal]want{
				SigRunning:      {17, "vllm:num_requests_running"},
				SigWaiting:      {5, "vllm:num_requests_waiting"},
				SigSwapped:      {2, "vllm:num_requests_swapped"},
				SigKVUsage:      {0.83, "vllm:gpu_cache_usage_perc"},
				SigPromptTokens: {1.9e6, "vllm:prompt_tokens_total"},
				SigGenTokens:    {8.1e5, "vllm:generation_tokens_total"},
				SigFinished:     {3023, "vllm:request_success_total"},
				SigPreemptions:  {41, "vllm:num_preemptions_total"},
			},
			hists: map[Signal]want{
				SigTTFT:       {3023, "vllm:time_to_first_token_seconds"},
				SigITL:        {806977, "vllm:time_per_output_token_seconds"},
				SigE2E:        {3023, "vllm:e2e_request_latency_seconds"},
				SigIterTokens: {50000, "vllm:iteration_tokens_total"},
			},
			missing: []Signal{SigTPOT, SigPrefixHits, SigPrefixQueries},
		},
		{
			file:   "vllm_v1_early.prom",
			flavor: FlavorVLLMV1,
			scalars: map[Signal]want{
				SigRunning:       {8, "vllm:num_requests_running"},
				SigKVUsage:       {0.25, "vllm:gpu_cache_usage_perc"},
				SigPrefixHits:    {250, "vllm:gpu_prefix_cache_hits_total"},
				SigPrefixQueries: {1000, "vllm:gpu_prefix_cache_queries_total"},
				SigGenTokens:     {5000, "vllm:generation_tokens_total"},
			},
			hists: map[Signal]want{
				SigITL: {4990, "vllm:time_per_output_token_seconds"},
			},
			missing: []Signal{SigTTFT, SigTPOT, SigE2E, SigPromptTokens, SigFinished, SigIterTokens},
		},
		{
			file:   "sglang.prom",
			flavor: FlavorSGLang,
			scalars: map[Signal]want{
				// Two TP ranks repeat each DP rank's value: 10 + 6, not 32.
				SigRunning:       {16, "sglang:num_running_reqs"},
				SigWaiting:       {2, "sglang:num_queue_reqs"},
				SigKVUsage:       {0.375, "sglang:token_usage"},
				SigPromptTokens:  {8.128902e6, "sglang:prompt_tokens_total"},
				SigGenTokens:     {7.557572e6, "sglang:generation_tokens_total"},
				SigPrefixHits:    {2e6, "sglang:cached_tokens_total"},
				SigPrefixQueries: {8.128902e6, "sglang:prompt_tokens_total"},
				SigFinished:      {21040, "sglang:num_requests_total"},
			},
			hists: map[Signal]want{
				SigTTFT: {21040, "sglang:time_to_first_token_seconds"},
				SigITL:  {7536532, "sglang:inter_token_latency_seconds"},
				SigE2E:  {21040, "sglang:e2e_request_latency_seconds"},
			},
			missing: []Signal{SigTPOT, SigPreemptions, SigIterTokens, SigSwapped},
		},
		{
			file:   "sglang_old.prom",
			flavor: FlavorSGLang,
			scalars: map[Signal]want{
				SigRunning:      {3, "sglang:num_requests_running"},
				SigWaiting:      {1, "sglang:num_requests_waiting"},
				SigKVUsage:      {0.01, "sglang:token_usage"},
				SigPromptTokens: {506780, "sglang:prompt_tokens_total"},
				SigGenTokens:    {424549, "sglang:generation_tokens_total"},
				// No request counter in old SGLang: finished requests are
				// the e2e histogram's count.
				SigFinished: {2104, "sglang:e2e_request_latency_seconds_count"},
			},
			hists: map[Signal]want{
				SigTTFT: {2124, "sglang:time_to_first_token_seconds"},
				SigITL:  {422425, "sglang:time_per_output_token_seconds"},
				SigE2E:  {2104, "sglang:e2e_request_latency_seconds"},
			},
			missing: []Signal{SigTPOT, SigPrefixHits, SigPreemptions},
		},
		{
			file:   "tgi.prom",
			flavor: FlavorTGI,
			scalars: map[Signal]want{
				SigRunning: {31, "tgi_batch_current_size"},
				SigWaiting: {4, "tgi_queue_size"},
				// Token counts exist only as histogram sums.
				SigPromptTokens: {2130000, "tgi_request_input_length_sum"},
				SigGenTokens:    {1456000, "tgi_request_generated_tokens_sum"},
				SigFinished:     {5200, "tgi_request_success"},
			},
			hists: map[Signal]want{
				SigTPOT: {5200, "tgi_request_mean_time_per_token_duration"},
				SigE2E:  {5200, "tgi_request_duration"},
			},
			missing: []Signal{SigKVUsage, SigTTFT, SigITL, SigPrefixHits, SigPreemptions, SigIterTokens},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			s := mustParse(t, readFixture(t, tc.file))
			if s.Flavor != tc.flavor {
				t.Fatalf("flavor = %q, want %q", s.Flavor, tc.flavor)
			}
			for sig, w := range tc.scalars {
				if !s.Present.Has(sig) {
					t.Errorf("%v missing", sig)
					continue
				}
				if got := scalarOfSample(&s, sig); !near(got, w.value) {
					t.Errorf("%v = %v, want %v", sig, got, w.value)
				}
				if s.Series[sig] != w.series {
					t.Errorf("%v from %q, want %q", sig, s.Series[sig], w.series)
				}
			}
			for sig, w := range tc.hists {
				if !s.Present.Has(sig) {
					t.Errorf("%v missing", sig)
					continue
				}
				h := *histField(&s, sig)
				if !near(h.Count, w.value) {
					t.Errorf("%v count = %v, want %v", sig, h.Count, w.value)
				}
				if last := h.Cumulative[len(h.Cumulative)-1]; !near(last, h.Count) || !math.IsInf(h.Upper[len(h.Upper)-1], 1) {
					t.Errorf("%v: +Inf bucket %v/%v, count %v", sig, h.Upper[len(h.Upper)-1], last, h.Count)
				}
				if s.Series[sig] != w.series {
					t.Errorf("%v from %q, want %q", sig, s.Series[sig], w.series)
				}
			}
			for _, sig := range tc.missing {
				if s.Present.Has(sig) || s.Series[sig] != "" {
					t.Errorf("%v present (from %q), want missing", sig, s.Series[sig])
				}
			}
		})
	}
}

func TestParseSumsHistogramsAcrossEngines(t *testing.T) {
	s := mustParse(t, readFixture(t, "vllm_v1.prom"))
	if got, want := s.TTFT.Sum, 1375.0918+580.2394; !near(got, want) {
		t.Errorf("TTFT sum = %v, want %v", got, want)
	}
	if len(s.TTFT.Upper) != 23 || s.TTFT.Upper[0] != 0.001 || s.TTFT.Upper[21] != 2560 {
		t.Errorf("TTFT bounds = %v", s.TTFT.Upper)
	}
	// The first bucket of each engine: 56 and 23.
	if s.TTFT.Cumulative[0] != 56+23 {
		t.Errorf("TTFT first bucket = %v, want 79", s.TTFT.Cumulative[0])
	}
}

const histTmpl = `# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{le="0.1"} 1
vllm:time_to_first_token_seconds_bucket{le="1"} 3
vllm:time_to_first_token_seconds_count 4
vllm:time_to_first_token_seconds_sum 2.5
`

func TestParseEdgeCases(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, s Sample)
	}{
		{
			name: "only _created stamps count for nothing",
			body: "# TYPE vllm:prompt_tokens_created gauge\nvllm:prompt_tokens_created{engine=\"0\"} 1.7e9\n" +
				"# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running 1\n",
			check: func(t *testing.T, s Sample) {
				if s.Present.Has(SigPromptTokens) {
					t.Error("prompt tokens taken from a _created stamp")
				}
			},
		},
		{
			name: "NaN gauge is missing, not zero",
			body: "# TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc{engine=\"0\"} NaN\n" +
				"# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running 2\n",
			check: func(t *testing.T, s Sample) {
				if s.Present.Has(SigKVUsage) {
					t.Errorf("KV usage present = %v", s.KVUsage)
				}
			},
		},
		{
			name: "NaN engine is skipped in the average",
			body: "# TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc{engine=\"0\"} NaN\nvllm:kv_cache_usage_perc{engine=\"1\"} 0.5\n",
			check: func(t *testing.T, s Sample) {
				if !s.Present.Has(SigKVUsage) || s.KVUsage != 0.5 {
					t.Errorf("KV usage = %v (present %v), want 0.5", s.KVUsage, s.Present.Has(SigKVUsage))
				}
			},
		},
		{
			name: "histogram without +Inf gets one from _count",
			body: histTmpl,
			check: func(t *testing.T, s Sample) {
				h := s.TTFT
				if len(h.Upper) != 3 || !math.IsInf(h.Upper[2], 1) || h.Cumulative[2] != 4 {
					t.Errorf("buckets %v %v", h.Upper, h.Cumulative)
				}
			},
		},
		{
			name: "NaN histogram sum keeps counts",
			body: strings.Replace(histTmpl, "_sum 2.5", "_sum NaN", 1),
			check: func(t *testing.T, s Sample) {
				if !s.Present.Has(SigTTFT) || s.TTFT.Count != 4 || !math.IsNaN(s.TTFT.Sum) {
					t.Errorf("TTFT = %+v", s.TTFT)
				}
			},
		},
		{
			name: "counter typed untyped still counts",
			body: "vllm:generation_tokens_total 12\n",
			check: func(t *testing.T, s Sample) {
				if !s.Present.Has(SigGenTokens) || s.GenTokens != 12 {
					t.Errorf("gen tokens = %v", s.GenTokens)
				}
			},
		},
		{
			name: "histogram family declared gauge is not a histogram",
			body: "# TYPE vllm:time_to_first_token_seconds gauge\nvllm:time_to_first_token_seconds 3\n",
			check: func(t *testing.T, s Sample) {
				if s.Present.Has(SigTTFT) {
					t.Error("TTFT taken from a gauge")
				}
			},
		},
		{
			name: "CRLF line ends and blank lines",
			body: "\r\n# TYPE vllm:num_requests_running gauge\r\nvllm:num_requests_running{engine=\"0\"} 5\r\n\r\n",
			check: func(t *testing.T, s Sample) {
				if s.Running != 5 {
					t.Errorf("running = %v", s.Running)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseExposition([]byte(tc.body), time.Time{})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			tc.check(t, s)
		})
	}
}

func TestParseGarbageIsAClearError(t *testing.T) {
	tests := []struct {
		name string
		body string
		want error
	}{
		{"empty", "", ErrUnknownServer},
		{"whitespace", "  \n\n", ErrUnknownServer},
		{"html page", "<!DOCTYPE html>\n<html><body>Not Found</body></html>\n", ErrMalformed},
		{"json", `{"object":"list","data":[]}`, ErrMalformed},
		{"binary", "\x00\x01\x02\xff\xfe\n\x89PNG", ErrMalformed},
		{"node exporter only", "# TYPE node_load1 gauge\nnode_load1 0.5\n", ErrUnknownServer},
		{"bad value", "vllm:num_requests_running{engine=\"0\"} twelve\n", ErrMalformed},
		{"unterminated labels", "vllm:num_requests_running{engine=\"0 1\n", ErrMalformed},
		{"duplicate TYPE", "# TYPE vllm:num_requests_running gauge\n# TYPE vllm:num_requests_running gauge\n", ErrMalformed},
		{"truncated histogram", "# TYPE vllm:time_to_first_token_seconds histogram\nvllm:time_to_first_token_seconds_bucket{le=", ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseExposition([]byte(tc.body), time.Time{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestPrefilterKeepsOnlyMappedFamilies(t *testing.T) {
	in := readFixture(t, "vllm_v1.prom")
	p := NewParser()
	out, seen, _, _ := prefilter(context.Background(), nil, in, p.keep)
	if seen.flavor() != FlavorVLLMV1 {
		t.Errorf("flavor = %v", seen.flavor())
	}
	for _, line := range bytes.Split(out, []byte("\n")) {
		l := string(line)
		if strings.HasPrefix(l, "python_") || strings.HasPrefix(l, "process_") || strings.HasPrefix(l, "http_") ||
			strings.Contains(l, "_created") || strings.HasPrefix(l, "# HELP") || strings.Contains(l, "request_params") {
			t.Fatalf("kept %q", l)
		}
	}
	if len(out) > len(in)/2 {
		t.Errorf("filter kept %d of %d bytes", len(out), len(in))
	}
}

func TestMappingTablesAreConsistent(t *testing.T) {
	for _, table := range mappingTables() {
		for sig, cands := range table.signals {
			sig := Signal(sig)
			for _, c := range cands {
				var s Sample
				wantHist := c.kind == kindHistogram
				if wantHist != sig.IsHistogram() {
					t.Errorf("%s %v: candidate %s has kind %d", table.flavor, sig, c.family, c.kind)
				}
				if wantHist && histField(&s, sig) == nil || !wantHist && scalarField(&s, sig) == nil {
					t.Errorf("%s %v: no Sample field", table.flavor, sig)
				}
			}
		}
	}
}

func TestSignalNamesRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for s := Signal(0); int(s) < AllSignals; s++ {
		name := s.String()
		if name == "unknown" || seen[name] || s.Disables() == "" {
			t.Errorf("signal %d: name %q disables %q", s, name, s.Disables())
		}
		seen[name] = true
		if back, ok := ParseSignal(name); !ok || back != s {
			t.Errorf("ParseSignal(%q) = %v, %v", name, back, ok)
		}
	}
	if _, ok := ParseSignal("nope"); ok {
		t.Error("ParseSignal accepted nope")
	}
}

func TestAllBucketsOption(t *testing.T) {
	body := readFixture(t, "vllm_v1.prom")
	lean := mustParse(t, body)
	full, err := NewParser(WithAllBuckets()).Parse(body, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(lean.E2E.Upper) != 1 || len(full.E2E.Upper) != 22 || len(full.Iter.Upper) != 14 {
		t.Errorf("E2E buckets %d (lean) %d (full), iter %d", len(lean.E2E.Upper), len(full.E2E.Upper), len(full.Iter.Upper))
	}
	if lean.E2E.Count != full.E2E.Count || lean.E2E.Sum != full.E2E.Sum || len(lean.TTFT.Upper) != len(full.TTFT.Upper) {
		t.Error("lean and full parses disagree on sums and counts")
	}
}

func TestCutModelLabel(t *testing.T) {
	tests := []struct {
		line, value, rest string
		found             bool
	}{
		{`m{engine="0",le="1",model_name="llama"} 3`, "llama", `m{engine="0",le="1"} 3`, true},
		{`m{model_name="llama",engine="0"} 3`, "llama", `m{engine="0"} 3`, true},
		{`m{model_name="llama"} 3`, "llama", `m{} 3`, true},
		{`m{a="x\",model_name=\"y",model_name="q\"z"} 3`, `q\"z`, `m{a="x\",model_name=\"y"} 3`, true},
		{`m{engine="0"} 3`, "", "", false},
		{`m 3`, "", "", false},
		{`m{model_name="unterminated} 3`, "", "", false},
	}
	for _, tc := range tests {
		value, before, after, found := cutLabel([]byte(tc.line), 1, modelLabel)
		if found != tc.found || string(value) != tc.value || found && string(before)+string(after) != tc.rest {
			t.Errorf("cutLabel(%q) = %q, %q, %v", tc.line, value, string(before)+string(after), found)
		}
	}
}

func TestTwoModelsKeepTheirSeries(t *testing.T) {
	body := "# TYPE vllm:num_requests_running gauge\n" +
		"vllm:num_requests_running{engine=\"0\",model_name=\"a\"} 2\n" +
		"vllm:num_requests_running{engine=\"0\",model_name=\"b\"} 5\n" +
		"# TYPE vllm:time_to_first_token_seconds histogram\n" +
		"vllm:time_to_first_token_seconds_bucket{engine=\"0\",le=\"+Inf\",model_name=\"a\"} 1\n" +
		"vllm:time_to_first_token_seconds_bucket{engine=\"0\",le=\"+Inf\",model_name=\"b\"} 2\n" +
		"vllm:time_to_first_token_seconds_count{engine=\"0\",model_name=\"a\"} 1\n" +
		"vllm:time_to_first_token_seconds_count{engine=\"0\",model_name=\"b\"} 2\n"
	s := mustParse(t, []byte(body))
	if s.Running != 7 || s.TTFT.Count != 3 {
		t.Fatalf("running %v TTFT count %v, want 7 and 3", s.Running, s.TTFT.Count)
	}
}

func TestParseServedModel(t *testing.T) {
	single := "# TYPE vllm:num_requests_running gauge\n" +
		"vllm:num_requests_running{engine=\"0\",model_name=\"meta-llama/Llama-3.1-8B\"} 3\n" +
		"vllm:num_requests_running{engine=\"1\",model_name=\"meta-llama/Llama-3.1-8B\"} 2\n"
	two := single + "vllm:num_requests_running{engine=\"0\",model_name=\"other\"} 1\n"
	tests := []struct{ name, text, want string }{
		{"one model", single, "meta-llama/Llama-3.1-8B"},
		{"several models", two, ""},
		{"no label", "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running 1\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewParser().Parse([]byte(tt.text), time.Unix(1, 0))
			if err != nil {
				t.Fatal(err)
			}
			if s.Model != tt.want {
				t.Errorf("Model = %q, want %q", s.Model, tt.want)
			}
		})
	}
}
