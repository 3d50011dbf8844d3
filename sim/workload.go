package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// ErrUnknownWorkload is returned for a workload name that is not defined.
var ErrUnknownWorkload = errors.New("unknown workload")

// Workload names.
const (
	WorkloadAzureConv = "azure-conv" // replay of an Azure LLM trace file
	WorkloadPoisson   = "poisson"    // steady Poisson arrivals
	WorkloadBursty    = "bursty"     // 10 s on, 20 s off
	WorkloadRamp      = "ramp"       // rate rising from 10% to 200% of Rate over 10 min, repeated
	WorkloadPhases    = "phases"     // prefill-heavy, decode-heavy, idle, repeated
)

// WorkloadNames lists the defined workloads.
func WorkloadNames() []string {
	return []string{WorkloadAzureConv, WorkloadPoisson, WorkloadBursty, WorkloadRamp, WorkloadPhases}
}

// Workload says which requests arrive when. It is plain data; the trace it
// points to is immutable and shared.
type Workload struct {
	Name string
	// TracePath is read when Name is azure-conv and Trace is nil.
	TracePath string
	Trace     *Trace
	// Offset skips the first part of a trace (trace time).
	Offset time.Duration
	// TimeScale stretches the time axis (2 = everything half as fast);
	// RateScale multiplies the arrival rate (2 = twice the requests per
	// second). Zero means 1. For a replay both scale the gaps between
	// arrivals; for synthetic workloads RateScale scales Rate.
	TimeScale, RateScale float64
	// Loop restarts a replay at its end (demo); without it the workload
	// ends there (benchmark).
	Loop bool
	// Rate is the synthetic workloads' mean arrival rate in requests per
	// second; zero means 5.5, the conversation trace's mean.
	Rate float64
	// Duration ends a synthetic workload's arrivals; zero means never.
	Duration time.Duration
	// Seed makes synthetic arrivals and lengths reproducible.
	Seed uint64
}

// lengthDist is a lognormal token-count distribution, clamped.
type lengthDist struct {
	median, sigma float64
	max           int32
}

// arrivals is the workload's state inside a Sim: a value, cloned by copy.
type arrivals struct {
	wl  Workload
	rng rand.PCG
	// gapScale converts trace time to simulated time.
	gapScale float64
	// cursor is the next trace row; loop counts completed passes.
	cursor, loop int
	passLen      time.Duration
	first        int
	// candidate is the synthetic process's last candidate time.
	candidate time.Duration
	next      pendingRequest
	done      bool
}

type pendingRequest struct {
	at             time.Duration
	prompt, output int32
}

func newArrivals(wl Workload) (arrivals, error) {
	a := arrivals{wl: wl, gapScale: 1}
	if wl.TimeScale < 0 || wl.RateScale < 0 || wl.Rate < 0 || math.IsNaN(wl.TimeScale+wl.RateScale+wl.Rate) {
		return a, fmt.Errorf("workload %q: time scale, rate scale and rate must not be negative", wl.Name)
	}
	if a.wl.TimeScale == 0 {
		a.wl.TimeScale = 1
	}
	if a.wl.RateScale == 0 {
		a.wl.RateScale = 1
	}
	if a.wl.Rate == 0 {
		a.wl.Rate = 5.5
	}
	a.rng = *rand.NewPCG(wl.Seed, 0x9e3779b97f4a7c15^wl.Seed)
	switch wl.Name {
	case WorkloadAzureConv:
		if a.wl.Trace == nil {
			if wl.TracePath == "" {
				return a, fmt.Errorf("workload %q needs a trace: set TracePath to the Azure CSV", wl.Name)
			}
			t, err := LoadTrace(wl.TracePath)
			if err != nil {
				return a, err
			}
			a.wl.Trace = t
		}
		t := a.wl.Trace
		if t.Len() == 0 {
			return a, fmt.Errorf("%w: %s", ErrEmptyTrace, t.Name)
		}
		for a.first < t.Len() && t.At[a.first] < wl.Offset {
			a.first++
		}
		if a.first == t.Len() {
			return a, fmt.Errorf("workload %q: offset %v is past the trace's end (%v)", wl.Name, wl.Offset, t.Span())
		}
		a.gapScale = a.wl.TimeScale / a.wl.RateScale
		n := t.Len() - a.first
		span := t.At[t.Len()-1] - t.At[a.first]
		// One mean gap between the last request of a pass and the first
		// of the next keeps a looped replay's rate steady.
		gap := time.Duration(0)
		if n > 1 {
			gap = span / time.Duration(n-1)
		}
		a.passLen = a.scaled(span + max(gap, time.Millisecond))
		a.cursor = a.first
	case WorkloadPoisson, WorkloadBursty, WorkloadRamp, WorkloadPhases:
		a.wl.Rate *= a.wl.RateScale
	default:
		return a, fmt.Errorf("%w %q (defined: %s)", ErrUnknownWorkload, wl.Name, strings.Join(WorkloadNames(), ", "))
	}
	a.advance()
	return a, nil
}

func (a *arrivals) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * a.gapScale)
}

// peek returns the next request not yet taken, if any.
func (a *arrivals) peek() (pendingRequest, bool) { return a.next, !a.done }

// take consumes the request peek returned and draws the next one.
func (a *arrivals) take() { a.advance() }

func (a *arrivals) advance() {
	if a.done {
		return
	}
	if a.wl.Trace != nil && a.wl.Name == WorkloadAzureConv {
		a.advanceReplay()
		return
	}
	a.advanceSynthetic()
}

func (a *arrivals) advanceReplay() {
	t := a.wl.Trace
	if a.cursor == t.Len() {
		if !a.wl.Loop {
			a.done = true
			return
		}
		a.cursor = a.first
		a.loop++
	}
	i := a.cursor
	a.cursor++
	a.next = pendingRequest{
		at:     a.scaled(t.At[i]-t.At[a.first]) + time.Duration(a.loop)*a.passLen,
		prompt: t.Prompt[i],
		output: t.Output[i],
	}
}

// rate is the synthetic arrival rate at t and the bound used for thinning.
func (a *arrivals) rate(t time.Duration) (lambda, bound float64) {
	r := a.wl.Rate
	ts := a.wl.TimeScale
	sec := t.Seconds() / ts
	switch a.wl.Name {
	case WorkloadBursty:
		// Mean over a 30 s period is r: 10 s at 2.7r, 20 s at 0.15r.
		if math.Mod(sec, 30) < 10 {
			return 2.7 * r / ts, 2.7 * r / ts
		}
		return 0.15 * r / ts, 2.7 * r / ts
	case WorkloadRamp:
		frac := math.Mod(sec, 600) / 600
		return (0.1 + 1.9*frac) * r / ts, 2 * r / ts
	case WorkloadPhases:
		switch p := math.Mod(sec, 150); {
		case p < 60:
			return 0.6 * r / ts, r / ts
		case p < 120:
			return r / ts, r / ts
		default:
			return 0, r / ts
		}
	}
	return r / ts, r / ts
}

// lengths draws a request's prompt and output lengths for arrival time t.
func (a *arrivals) lengths(t time.Duration) (int32, int32) {
	// The conversation trace's prompt (mean 1155, median 1020) and output
	// (mean 211, median 129) lengths, as lognormals with those moments.
	prompt := lengthDist{median: 1020, sigma: 0.498, max: 8192}
	output := lengthDist{median: 129, sigma: 0.992, max: 2048}
	if a.wl.Name == WorkloadPhases {
		if math.Mod(t.Seconds()/a.wl.TimeScale, 150) < 60 {
			prompt = lengthDist{median: 4000, sigma: 0.4, max: 16384}
			output = lengthDist{median: 16, sigma: 0.5, max: 128}
		} else {
			prompt = lengthDist{median: 200, sigma: 0.5, max: 2048}
			output = lengthDist{median: 600, sigma: 0.4, max: 4096}
		}
	}
	return a.draw(prompt), a.draw(output)
}

func (a *arrivals) draw(d lengthDist) int32 {
	v := d.median * math.Exp(d.sigma*a.normal())
	return int32(min(max(math.Round(v), 1), float64(d.max)))
}

func (a *arrivals) uniform() float64 {
	// 53 random bits in (0, 1]: never zero, so log is finite.
	return (float64(a.rng.Uint64()>>11) + 1) / (1 << 53)
}

func (a *arrivals) normal() float64 {
	u1, u2 := a.uniform(), a.uniform()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// advanceSynthetic draws the next arrival of a non-homogeneous Poisson
// process by thinning: candidates at the bound rate, each kept with
// probability rate/bound.
func (a *arrivals) advanceSynthetic() {
	for {
		_, bound := a.rate(a.candidate)
		if bound <= 0 {
			a.done = true
			return
		}
		gap := -math.Log(a.uniform()) / bound
		a.candidate += time.Duration(gap * float64(time.Second))
		if a.wl.Duration > 0 && a.candidate > a.wl.Duration {
			a.done = true
			return
		}
		lambda, bound := a.rate(a.candidate)
		if a.uniform()*bound <= lambda {
			p, o := a.lengths(a.candidate)
			a.next = pendingRequest{at: a.candidate, prompt: p, output: o}
			return
		}
	}
}
