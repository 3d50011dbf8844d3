package sim

import (
	"bytes"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gputune/gputune/scrape"
)

// busySim is a simulation with requests running, waiting and finished.
func busySim(t testing.TB, flavor scrape.Flavor) Sim {
	t.Helper()
	s := mustNew(t, Config{
		Flavor:   flavor,
		Engine:   EngineConfig{MaxNumSeqs: 16},
		Workload: Workload{Name: WorkloadPoisson, Rate: 30, Seed: 4},
	})
	s.Step(20 * time.Second)
	tr := s.Truth()
	if tr.Running == 0 || tr.Waiting == 0 || tr.Finished == 0 {
		t.Fatalf("fixture: running %d waiting %d finished %v, want all non-zero", tr.Running, tr.Waiting, tr.Finished)
	}
	return s
}

func parseExposition(t *testing.T, s *Sim, flavor scrape.Flavor) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	var buf bytes.Buffer
	if err := s.WriteExposition(&buf, flavor); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, buf.String())
	}
	return fams, buf.String()
}

// reduce is an independent reading of a parsed exposition into a Sample,
// written from the servers' metric tables, to check Metrics against.
func reduce(t *testing.T, fams map[string]*dto.MetricFamily, flavor scrape.Flavor) scrape.Sample {
	t.Helper()
	smp := scrape.Sample{Flavor: flavor}
	sum := func(name string) (float64, bool) {
		f, ok := fams[name]
		if !ok {
			return 0, false
		}
		v := 0.0
		for _, m := range f.Metric {
			switch {
			case m.Gauge != nil:
				v += m.Gauge.GetValue()
			case m.Counter != nil:
				v += m.Counter.GetValue()
			}
		}
		return v, true
	}
	scalar := func(sig scrape.Signal, dst *float64, name string) {
		if v, ok := sum(name); ok {
			*dst = v
			smp.Present = smp.Present.With(sig)
		}
	}
	histo := func(sig scrape.Signal, dst *scrape.Histogram, name string) {
		f, ok := fams[name]
		if !ok {
			return
		}
		if len(f.Metric) != 1 {
			t.Fatalf("%s: %d series, want 1", name, len(f.Metric))
		}
		h := f.Metric[0].Histogram
		for _, b := range h.Bucket {
			dst.Upper = append(dst.Upper, b.GetUpperBound())
			dst.Cumulative = append(dst.Cumulative, float64(b.GetCumulativeCount()))
		}
		if last := dst.Upper[len(dst.Upper)-1]; !math.IsInf(last, 1) {
			// The parser keeps an explicit +Inf bucket; make sure it did.
			t.Fatalf("%s: last bucket %v, want +Inf", name, last)
		}
		dst.Sum, dst.Count = h.GetSampleSum(), float64(h.GetSampleCount())
		smp.Present = smp.Present.With(sig)
	}
	switch flavor {
	case scrape.FlavorVLLMV1, scrape.FlavorVLLMV0:
		scalar(scrape.SigRunning, &smp.Running, "vllm:num_requests_running")
		scalar(scrape.SigWaiting, &smp.Waiting, "vllm:num_requests_waiting")
		scalar(scrape.SigKVUsage, &smp.KVUsage, "vllm:kv_cache_usage_perc")
		scalar(scrape.SigKVUsage, &smp.KVUsage, "vllm:gpu_cache_usage_perc")
		scalar(scrape.SigPromptTokens, &smp.PromptTokens, "vllm:prompt_tokens_total")
		scalar(scrape.SigGenTokens, &smp.GenTokens, "vllm:generation_tokens_total")
		scalar(scrape.SigPrefixHits, &smp.PrefixHits, "vllm:prefix_cache_hits_total")
		scalar(scrape.SigPrefixQueries, &smp.PrefixQueries, "vllm:prefix_cache_queries_total")
		scalar(scrape.SigFinished, &smp.Finished, "vllm:request_success_total")
		scalar(scrape.SigPreemptions, &smp.Preemptions, "vllm:num_preemptions_total")
		histo(scrape.SigTTFT, &smp.TTFT, "vllm:time_to_first_token_seconds")
		histo(scrape.SigITL, &smp.ITL, "vllm:inter_token_latency_seconds")
		histo(scrape.SigITL, &smp.ITL, "vllm:time_per_output_token_seconds")
		histo(scrape.SigTPOT, &smp.TPOT, "vllm:request_time_per_output_token_seconds")
		histo(scrape.SigE2E, &smp.E2E, "vllm:e2e_request_latency_seconds")
		histo(scrape.SigIterTokens, &smp.Iter, "vllm:iteration_tokens_total")
	case scrape.FlavorSGLang:
		scalar(scrape.SigRunning, &smp.Running, "sglang:num_running_reqs")
		scalar(scrape.SigWaiting, &smp.Waiting, "sglang:num_queue_reqs")
		scalar(scrape.SigKVUsage, &smp.KVUsage, "sglang:token_usage")
		scalar(scrape.SigPromptTokens, &smp.PromptTokens, "sglang:prompt_tokens_total")
		scalar(scrape.SigGenTokens, &smp.GenTokens, "sglang:generation_tokens_total")
		scalar(scrape.SigFinished, &smp.Finished, "sglang:num_requests_total")
		histo(scrape.SigTTFT, &smp.TTFT, "sglang:time_to_first_token_seconds")
		histo(scrape.SigITL, &smp.ITL, "sglang:inter_token_latency_seconds")
		histo(scrape.SigE2E, &smp.E2E, "sglang:e2e_request_latency_seconds")
	}
	return smp
}

func TestExpositionMatchesMetrics(t *testing.T) {
	for _, flavor := range []scrape.Flavor{scrape.FlavorVLLMV1, scrape.FlavorVLLMV0, scrape.FlavorSGLang} {
		t.Run(string(flavor), func(t *testing.T) {
			s := busySim(t, flavor)
			fams, _ := parseExposition(t, &s, flavor)
			got := s.Metrics()
			want := reduce(t, fams, flavor)
			want.At = got.At
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Metrics() differs from the parsed exposition:\n got  %+v\n want %+v", got, want)
			}
			if got.At != s.WallNow() {
				t.Errorf("sample at %v, want the virtual wall time %v", got.At, s.WallNow())
			}
			for _, name := range []string{"sim_gpu_sm_clock_mhz", "sim_gpu_power_watts", "sim_gpu_energy_joules_total"} {
				f, ok := fams[name]
				if !ok {
					t.Errorf("ground-truth family %s missing", name)
					continue
				}
				v := f.Metric[0].GetGauge().GetValue() + f.Metric[0].GetCounter().GetValue()
				if !(v > 0) {
					t.Errorf("%s = %v, want positive", name, v)
				}
			}
		})
	}
}

// TestExpositionVLLMV1Exact checks the V1 details a real scraper keys on:
// names, types, labels, _created families and the exact buckets.
func TestExpositionVLLMV1Exact(t *testing.T) {
	s := busySim(t, scrape.FlavorVLLMV1)
	fams, text := parseExposition(t, &s, scrape.FlavorVLLMV1)
	types := map[string]dto.MetricType{
		"vllm:num_requests_running":                  dto.MetricType_GAUGE,
		"vllm:num_requests_waiting":                  dto.MetricType_GAUGE,
		"vllm:kv_cache_usage_perc":                   dto.MetricType_GAUGE,
		"vllm:prompt_tokens_total":                   dto.MetricType_COUNTER,
		"vllm:prompt_tokens_created":                 dto.MetricType_GAUGE,
		"vllm:generation_tokens_total":               dto.MetricType_COUNTER,
		"vllm:num_preemptions_total":                 dto.MetricType_COUNTER,
		"vllm:prefix_cache_queries_total":            dto.MetricType_COUNTER,
		"vllm:prefix_cache_hits_total":               dto.MetricType_COUNTER,
		"vllm:request_success_total":                 dto.MetricType_COUNTER,
		"vllm:request_success_created":               dto.MetricType_GAUGE,
		"vllm:iteration_tokens_total":                dto.MetricType_HISTOGRAM,
		"vllm:iteration_tokens_total_created":        dto.MetricType_GAUGE,
		"vllm:time_to_first_token_seconds":           dto.MetricType_HISTOGRAM,
		"vllm:time_to_first_token_seconds_created":   dto.MetricType_GAUGE,
		"vllm:inter_token_latency_seconds":           dto.MetricType_HISTOGRAM,
		"vllm:request_time_per_output_token_seconds": dto.MetricType_HISTOGRAM,
		"vllm:e2e_request_latency_seconds":           dto.MetricType_HISTOGRAM,
		"vllm:request_queue_time_seconds":            dto.MetricType_HISTOGRAM,
		"vllm:request_prefill_time_seconds":          dto.MetricType_HISTOGRAM,
		"vllm:request_decode_time_seconds":           dto.MetricType_HISTOGRAM,
		"vllm:request_inference_time_seconds":        dto.MetricType_HISTOGRAM,
		"vllm:request_prompt_tokens":                 dto.MetricType_HISTOGRAM,
		"vllm:request_generation_tokens":             dto.MetricType_HISTOGRAM,
		"vllm:cache_config_info":                     dto.MetricType_GAUGE,
	}
	for name, typ := range types {
		f, ok := fams[name]
		if !ok {
			t.Errorf("family %s missing", name)
			continue
		}
		if f.GetType() != typ {
			t.Errorf("%s: type %v, want %v", name, f.GetType(), typ)
		}
		if name == "vllm:cache_config_info" {
			continue
		}
		for _, m := range f.Metric {
			var labels []string
			for _, lp := range m.Label {
				labels = append(labels, lp.GetName()+"="+lp.GetValue())
			}
			want := []string{"engine=0", "model_name=meta-llama/Llama-3.1-8B-Instruct"}
			if strings.HasPrefix(name, "vllm:request_success") {
				labels = slices.DeleteFunc(labels, func(l string) bool { return strings.HasPrefix(l, "finished_reason=") })
			}
			if !slices.Equal(labels, want) {
				t.Errorf("%s: labels %v, want %v", name, labels, want)
			}
		}
	}
	for _, f := range fams {
		if strings.HasSuffix(f.GetName(), "_created") {
			if v := f.Metric[0].GetGauge().GetValue(); v != float64(s.epoch.Unix()) {
				t.Errorf("%s = %v, want the epoch %d", f.GetName(), v, s.epoch.Unix())
			}
		}
	}
	buckets := map[string][]float64{
		"vllm:time_to_first_token_seconds":           ttftBucketsV1(),
		"vllm:inter_token_latency_seconds":           itlBucketsV1(),
		"vllm:request_time_per_output_token_seconds": itlBucketsV1(),
		"vllm:e2e_request_latency_seconds":           requestLatencyBucketsV1(),
		"vllm:iteration_tokens_total":                iterationTokenBucketsV1(),
		"vllm:request_prompt_tokens": {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000,
			100000},
	}
	for name, want := range buckets {
		var got []float64
		for _, b := range fams[name].Metric[0].Histogram.Bucket {
			got = append(got, b.GetUpperBound())
		}
		want = append(slices.Clone(want), math.Inf(1))
		if !slices.Equal(got, want) {
			t.Errorf("%s buckets %v, want %v", name, got, want)
		}
	}
	// prometheus_client's rendering: sorted labels, Python floats.
	for _, line := range []string{
		"# TYPE vllm:prompt_tokens_total counter\n",
		"# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.\n",
		`vllm:time_to_first_token_seconds_bucket{engine="0",le="1.0",model_name="meta-llama/Llama-3.1-8B-Instruct"} `,
		`vllm:request_success_total{engine="0",finished_reason="stop",model_name="meta-llama/Llama-3.1-8B-Instruct"} `,
		"vllm:prompt_tokens_created{engine=\"0\",model_name=\"meta-llama/Llama-3.1-8B-Instruct\"} 1.8e+09\n",
	} {
		if !strings.Contains(text, line) {
			t.Errorf("exposition lacks %q", line)
		}
	}
}

func TestExpositionV0HasNoCreated(t *testing.T) {
	s := busySim(t, scrape.FlavorVLLMV0)
	fams, _ := parseExposition(t, &s, scrape.FlavorVLLMV0)
	for name := range fams {
		if strings.HasSuffix(name, "_created") {
			t.Errorf("V0 exposition has %s", name)
		}
	}
	if _, ok := fams["vllm:gpu_cache_usage_perc"]; !ok {
		t.Error("V0 exposition lacks vllm:gpu_cache_usage_perc")
	}
	var got []float64
	for _, b := range fams["vllm:time_to_first_token_seconds"].Metric[0].Histogram.Bucket {
		got = append(got, b.GetUpperBound())
	}
	if len(got) != 17 || got[15] != 10 {
		t.Errorf("V0 TTFT buckets %v, want V1's list cut at 10.0 plus +Inf", got)
	}
}

func TestWriteExpositionUnknownFlavor(t *testing.T) {
	s := busySim(t, scrape.FlavorVLLMV1)
	var buf bytes.Buffer
	if err := s.WriteExposition(&buf, scrape.FlavorTGI); err == nil || !strings.Contains(err.Error(), "tgi") {
		t.Errorf("error %v, want one naming the flavor", err)
	}
}

func TestPyFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.0"}, {8, "8.0"}, {0.6125, "0.6125"}, {0.01, "0.01"}, {2560, "2560.0"},
		{123456, "123456.0"}, {4452300, "4.4523e+06"}, {1.7881e9, "1.7881e+09"}, {1e6, "1e+06"},
		{1e-5, "1e-05"}, {math.Inf(1), "+Inf"}, {math.NaN(), "NaN"}, {-3.5, "-3.5"},
	}
	for _, tc := range tests {
		if got := pyFloat(tc.in); got != tc.want {
			t.Errorf("pyFloat(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
