package sim

import (
	"errors"
	"io/fs"
	"testing"
	"time"
)

const convTracePath = "../../shared/traces/azure-llm-2023/AzureLLMInferenceTrace_conv.csv"

func loadConvTrace(tb testing.TB) *Trace {
	tb.Helper()
	tr, err := LoadTrace(convTracePath)
	if errors.Is(err, fs.ErrNotExist) {
		tb.Skipf("conversation trace not found at %s (the shared data is not checked out)", convTracePath)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return tr
}

// target: 400ms
func BenchmarkReplayAzureConv(b *testing.B) {
	tr := loadConvTrace(b)
	s0, err := New(Config{Workload: Workload{Name: WorkloadAzureConv, Trace: tr}})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var truth Truth
	for b.Loop() {
		s := s0.Clone()
		if !s.RunUntilDone(3 * time.Hour) {
			b.Fatal("replay did not finish in 3 h of virtual time")
		}
		truth = s.Truth()
	}
	if truth.Finished != float64(tr.Len()) {
		b.Fatalf("finished %v of %d requests", truth.Finished, tr.Len())
	}
	b.ReportMetric(truth.Steps, "steps")
}

// busyCloneFixture is a state under heavy load: 256 requests running with
// the KV cache 90% full and 1,000 waiting.
func busyCloneFixture(tb testing.TB) Sim {
	tb.Helper()
	s, err := New(Config{Workload: Workload{Name: WorkloadPoisson, Seed: 1}})
	if err != nil {
		tb.Fatal(err)
	}
	e := &s.engine
	perRequest := int32(float64(e.totalBlocks) * 0.9 / 256)
	for i := range 256 {
		ctx := perRequest * int32(e.cfg.BlockSize)
		e.running = append(e.running, request{
			arrival: int64(i) * 1e6, firstScheduled: int64(i) * 1e6, firstToken: int64(i)*1e6 + 5e7,
			lastToken: 1e9, prompt: ctx - 100, output: 400, generated: 100, computed: ctx - 1, blocks: perRequest,
		})
		e.freeBlocks -= perRequest
	}
	for i := range 1000 {
		e.waiting.pushBack(freshRequest{arrival: int64(i) * 1e6, prompt: 1000, output: 200})
	}
	if u := e.kvUsage(); u < 0.89 || u > 0.9 {
		tb.Fatalf("fixture KV usage %.3f, want 0.9", u)
	}
	return s
}

// target: 20us
func BenchmarkClone(b *testing.B) {
	s := busyCloneFixture(b)
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		var c Sim
		for b.Loop() {
			c = s.Clone()
		}
		checkBusyClone(b, &c)
	})
	// The oracle's pattern: one scratch state cloned into again and again.
	b.Run("into", func(b *testing.B) {
		b.ReportAllocs()
		var c Sim
		for b.Loop() {
			s.CloneInto(&c)
		}
		checkBusyClone(b, &c)
	})
}

func checkBusyClone(b *testing.B, c *Sim) {
	b.Helper()
	if len(c.engine.running) != 256 || c.engine.waiting.len() != 1000 {
		b.Fatalf("clone has %d running, %d waiting", len(c.engine.running), c.engine.waiting.len())
	}
}
