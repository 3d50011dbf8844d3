package control

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/scrape"
	"github.com/gputune/gputune/sim"
)

// captureExpositions runs the simulator and captures n consecutive vLLM V1
// expositions, each padded with the process, Python and HTTP families of a
// real vLLM exposition (scrape/testdata/vllm_v1.prom) so that every one is
// as long as what a real server sends.
func captureExpositions(b *testing.B, n int) [][]byte {
	b.Helper()
	fixture, err := os.ReadFile("../scrape/testdata/vllm_v1.prom")
	if err != nil {
		b.Fatal(err)
	}
	var noise bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(fixture))
	keep := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# HELP ") {
			keep = !strings.HasPrefix(line, "# HELP vllm:")
		}
		if keep {
			noise.WriteString(line + "\n")
		}
	}
	trace, err := sim.AzureConvTrace()
	if err != nil {
		b.Fatal(err)
	}
	s, err := sim.New(sim.Config{Workload: sim.Workload{Name: sim.WorkloadAzureConv, Trace: trace}})
	if err != nil {
		b.Fatal(err)
	}
	s.Step(2 * time.Minute) // a busy server
	out := make([][]byte, n)
	for i := range out {
		s.Step(300 * time.Millisecond)
		var buf bytes.Buffer
		if err := s.WriteExposition(&buf, scrape.FlavorVLLMV1); err != nil {
			b.Fatal(err)
		}
		buf.Write(noise.Bytes())
		out[i] = buf.Bytes()
	}
	if lines := bytes.Count(out[0], []byte("\n")); lines < 400 {
		b.Fatalf("exposition has %d lines, want at least 400", lines)
	}
	return out
}

// BenchmarkCycle is one decision of the default configuration (gputune
// policy, 110 arms) over a captured exposition, parse included.
// target: 1ms
func BenchmarkCycle(b *testing.B) {
	expos := captureExpositions(b, 256)
	clock := &stepClock{now: time.Unix(1_800_000_000, 0)}
	i := 0
	source := scrape.NewExpositionSource(func(context.Context) ([]byte, error) {
		e := expos[i%len(expos)]
		i++
		return e, nil
	}, clock.Now)
	windower, err := scrape.NewWindower(scrape.DefaultWindowConfig())
	if err != nil {
		b.Fatal(err)
	}
	g := newGPU()
	cfg := testConfig()
	arms, err := Arms(g.Facts(), cfg.Clocks)
	if err != nil {
		b.Fatal(err)
	}
	policy, err := bandit.New(bandit.PolicyGPUTune, bandit.Config{Features: NumFeatures, Bias: true}, arms, 1)
	if err != nil {
		b.Fatal(err)
	}
	l, err := New(Deps{Config: cfg, Reader: g, Controller: g, Source: source, Windower: windower,
		Meter: meter{watts: 450}, Policy: policy, Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for range 64 { // past warm-up, into steady state
		clock.advance(300 * time.Millisecond)
		l.Cycle(ctx)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		clock.advance(300 * time.Millisecond)
		l.Cycle(ctx)
	}
}
