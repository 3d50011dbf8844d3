package bench

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gputune/gputune/bandit"
)

// A model exported by one run warm-starts the gputune row of another: the
// run starts from what the model learned (no warm-up windows, a different
// first choice of clocks than a cold start), and the result records it.
func TestImportModelWarmStarts(t *testing.T) {
	sc := shortScenario(t, 2*time.Minute)
	path := filepath.Join(t.TempDir(), "model.json")
	first := sc
	first.SaveModel = path
	opt := Options{Policies: []string{PolicyGPUTune}}
	cold, err := Run(context.Background(), first, opt)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no model written: %v", err)
	}
	e, err := bandit.UnmarshalEnvelope(data)
	if err != nil {
		t.Fatal(err)
	}
	warmSc := sc
	warmSc.Seed = 2
	warmSc.Warm, warmSc.WarmFrom = &e, path
	warm, err := Run(context.Background(), warmSc, opt)
	if err != nil {
		t.Fatal(err)
	}
	if warm.Scenario.ImportedModel != path {
		t.Errorf("imported model recorded as %q", warm.Scenario.ImportedModel)
	}
	modes := func(r *Report) []string {
		var m []string
		for _, w := range r.Windows(PolicyGPUTune)[:20] {
			m = append(m, w.Mode)
		}
		return m
	}
	if slices.Contains(modes(warm)[1:], "warmup") {
		t.Errorf("a warm start still warms up: %v", modes(warm))
	}
	if !slices.Contains(modes(cold), "warmup") {
		t.Errorf("a cold start never warms up: %v", modes(cold))
	}

	agft := e
	agft.Policy = bandit.PolicyAGFT
	bad := sc
	bad.Warm = &agft
	if _, err := Run(context.Background(), bad, opt); err == nil {
		t.Error("an agft model was accepted for the gputune row")
	}
}
