package scrape

import (
	"testing"
	"time"
)

// target: 1ms
func BenchmarkScrapeParse(b *testing.B) {
	body := readFixture(b, "vllm_v1.prom")
	p := NewParser()
	at := time.Unix(0, 0)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu0, cpuOK := processCPUTime()
	for b.Loop() {
		if _, err := p.Parse(body, at); err != nil {
			b.Fatal(err)
		}
	}
	// Wall time per op is what the target is about; CPU time per op is
	// reported too because it is less skewed when other work shares the
	// cores (it includes GC work on other threads).
	if cpu1, ok := processCPUTime(); ok && cpuOK && b.N > 0 {
		b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkWindowNext(b *testing.B) {
	s1 := mustParse(b, readFixture(b, "vllm_v1.prom"))
	s2 := mustParse(b, readFixture(b, "vllm_v1_later.prom"))
	w, err := NewWindower(WindowConfig{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		s := s1
		if i%2 == 0 {
			s = s2
		}
		s.At = time.Unix(int64(i), 0)
		_, _ = w.Next(s)
	}
}
