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
