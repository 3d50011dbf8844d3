package control

import (
	"context"
	"errors"
	"fmt"
	"github.com/gputune/gputune/internal/buildinfo"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gputune/gputune/bandit"
)

// newLearningLoop builds a loop around the real gputune policy.
func newLearningLoop(t testing.TB, r *rig, modelPath string) *Loop {
	t.Helper()
	cfg := testConfig()
	cfg.WarmupWindows = 3
	arms, err := Arms(r.gpu.Facts(), cfg.Clocks)
	if err != nil {
		t.Fatal(err)
	}
	p, err := bandit.New(bandit.PolicyGPUTune, bandit.Config{Features: NumFeatures, Bias: true}, arms, 7)
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(Deps{Config: cfg, Reader: r.gpu, Controller: r.gpu, Source: r.feed, Windower: r.feed,
		Meter: meter{watts: 400}, Policy: p, Clock: r.clock, ModelPath: modelPath})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestRestartLoadsModelAndBaselineAndKeepsLearning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "models", "gpu.gputune.json")
	r := newRig(t, nil, false)
	l := newLearningLoop(t, r, path)
	var s Snapshot
	for range 40 {
		r.clock.advance(300 * time.Millisecond)
		s = l.Cycle(context.Background())
	}
	if s.Round == 0 {
		t.Fatal("first run learned nothing")
	}
	roundsBefore := s.Round
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("model not saved at exit: %v", err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("model file mode %v, want 0600", info.Mode().Perm())
	}

	l2 := newLearningLoop(t, r, path)
	e, err := LoadModel(path, r.gpu.Facts().Name, r.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := buildinfo.Read().String(); e.GputuneVersion != want {
		t.Errorf("model file says gputune_version %q, want %q", e.GputuneVersion, want)
	}
	if err := l2.Restore(e); err != nil {
		t.Fatal(err)
	}
	// Two cycles: priming, then a window. A restored baseline means no
	// warm-up: the second cycle already trains.
	r.clock.advance(300 * time.Millisecond)
	s = l2.Cycle(context.Background())
	r.clock.advance(300 * time.Millisecond)
	s = l2.Cycle(context.Background())
	if s.Mode == ModeWarmup {
		t.Fatal("restarted loop went back to warm-up: the baseline was lost")
	}
	for range 3 {
		r.clock.advance(300 * time.Millisecond)
		s = l2.Cycle(context.Background())
	}
	if s.Round <= roundsBefore {
		t.Errorf("round %d after restart, want more than the %d saved", s.Round, roundsBefore)
	}
}

func TestLoadModelCorruptKeptAside(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
	}{
		{"truncated", `{"format_version": 1, "gpu_model": "Test`},
		{"wrong version", `{"format_version": 99, "gpu_model": "Test H100", "policy": "gputune", "policy_state": {}}`},
		{"garbage", "\x00\x01not json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadModel(path, "Test H100", time.Unix(0, 0))
			if err == nil || !strings.Contains(err.Error(), "kept as") {
				t.Fatalf("want a kept-aside error, got %v", err)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Error("corrupt file still in place")
			}
			matches, _ := filepath.Glob(path + ".bad-*")
			if len(matches) != 1 {
				t.Errorf("corrupt file not kept aside: %v", matches)
			}
		})
	}
	if _, err := LoadModel(filepath.Join(dir, "none.json"), "x", time.Now()); !errors.Is(err, ErrNoModel) {
		t.Errorf("missing model: want ErrNoModel, got %v", err)
	}
}

func TestForeignGPUModelRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.json")
	r := newRig(t, nil, false)
	l := newLearningLoop(t, r, path)
	for range 10 {
		r.clock.advance(300 * time.Millisecond)
		l.Cycle(context.Background())
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadModel(path, "NVIDIA A100-SXM4-80GB", time.Now()); err == nil || !strings.Contains(err.Error(), "kept as") {
		t.Fatalf("a model for another GPU was accepted: %v", err)
	}
}

func TestServedModelRecordedAndChangeStartsFresh(t *testing.T) {
	r := newRig(t, nil, false)
	r.feed.model = "meta-llama/Llama-3.1-8B"
	l := newLearningLoop(t, r, "")
	var s Snapshot
	for range 20 {
		r.clock.advance(300 * time.Millisecond)
		s = l.Cycle(context.Background())
	}
	e, ok, err := l.Envelope()
	if err != nil || !ok || e.ServedModel != "meta-llama/Llama-3.1-8B" {
		t.Fatalf("envelope served model %q (ok %v, err %v)", e.ServedModel, ok, err)
	}
	if s.Round == 0 {
		t.Fatal("learned nothing")
	}
	r.feed.model = "Qwen/Qwen2.5-7B"
	r.clock.advance(300 * time.Millisecond)
	s = l.Cycle(context.Background())
	if s.Round != 0 || s.Mode != ModeWarmup || !strings.Contains(s.Message, "Qwen/Qwen2.5-7B") {
		t.Errorf("after the served model changed: round %d mode %s message %q; want a fresh start", s.Round, s.Mode, s.Message)
	}
}

// A switch of served model keeps what was learned for the previous one
// under its own name (the fresh model never overwrites it), and a switch
// back resumes it.
func TestServedModelSwitchKeepsOneModelPerServedModel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "models", "gpu.gputune.json")
	r := newRig(t, nil, false)
	l := newLearningLoop(t, r, path)
	run := func(model string, n int) Snapshot {
		r.feed.model = model
		var s Snapshot
		for range n {
			r.clock.advance(300 * time.Millisecond)
			s = l.Cycle(context.Background())
		}
		return s
	}
	const a, b = "meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-7B"
	learnedA := run(a, 30).Round
	if learnedA == 0 {
		t.Fatal("learned nothing for the first served model")
	}
	s := run(b, 1)
	if s.Round != 0 || s.Mode != ModeWarmup {
		t.Fatalf("after switching to %s: round %d mode %s, want a fresh start", b, s.Round, s.Mode)
	}
	keptA, err := LoadModel(ServedModelPath(path, a), r.gpu.Facts().Name, r.clock.Now())
	if err != nil || keptA.ServedModel != a || keptA.Meta.Rounds != learnedA {
		t.Fatalf("model kept for %s: served %q rounds %d, %v; want %d rounds", a, keptA.ServedModel, keptA.Meta.Rounds, err, learnedA)
	}
	run(b, 30)
	s = run(a, 1)
	if !strings.Contains(s.Message, "resuming") || s.Round < learnedA {
		t.Fatalf("switching back to %s: round %d message %q; want its %d rounds resumed", a, s.Round, s.Message, learnedA)
	}
	if _, err := os.Stat(ServedModelPath(path, b)); err != nil {
		t.Fatalf("no model kept for %s: %v", b, err)
	}

	// A model name that changes at every scrape cannot fill the disk.
	for i := range 3 * maxServedModels {
		run(fmt.Sprintf("model-%d", i), 3)
	}
	kept, _ := filepath.Glob(strings.TrimSuffix(path, ".json") + ".served-*.json")
	if len(kept) > maxServedModels {
		t.Fatalf("%d per-served-model files kept, want at most %d", len(kept), maxServedModels)
	}
}

// A model file larger than MaxModelBytes is not read whole: it is refused
// and kept aside like any unusable model.
func TestOversizedModelIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gpu.gputune.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxModelBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = LoadModel(path, "Test H100", time.Unix(1_700_000_000, 0))
	if err == nil || !strings.Contains(err.Error(), "too large") || !strings.Contains(err.Error(), "kept as") {
		t.Fatalf("LoadModel of an oversized file = %v, want a refusal that keeps it aside", err)
	}
}

// Names read from a model file reach logs and the screen only as printable
// text.
func TestModelFileNamesArePrintable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gpu.gputune.json")
	r := newRig(t, nil, false)
	l := newLearningLoop(t, r, path)
	for range 20 {
		r.clock.advance(300 * time.Millisecond)
		l.Cycle(context.Background())
	}
	e, ok, err := l.Envelope()
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	e.ServedModel = "\x1b]0;owned\x07\x1b[2Jmodel"
	if err := SaveModel(path, e); err != nil {
		t.Fatal(err)
	}
	got, err := LoadModel(path, r.gpu.Facts().Name, r.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got.ServedModel != "]0;owned[2Jmodel" {
		t.Fatalf("served model %q, want the printable text only", got.ServedModel)
	}
}
