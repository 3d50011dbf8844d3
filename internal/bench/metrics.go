package bench

import (
	"math"
	"sort"

	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/sim"
)

// Time-resolved comparison against static-best: every metric here is a
// policy's objective over a span of its own windows (E·D/N², with D the
// end-to-end latency of the requests finished in the span) divided by the
// reference run's over the same span.

// rollingSpanS is the rolling window of t_within_1pct_s / t_within_2pct_s;
// recoverySpanS the rolling window of recovery_s, and recoveryMinS the
// least time after a change before a recovery can be judged (a shorter
// span holds too few finished requests to compare).
const (
	rollingSpanS  = 120.0
	recoverySpanS = 60.0
	recoveryMinS  = 10.0
)

// series is a run's windows as cumulative sums, for spans in O(log n).
type series struct {
	t, e, n, d []float64 // t: window ends; e, n, d: sums up to and including that window
}

func newSeries(ws []Window) series {
	s := series{t: make([]float64, len(ws)+1), e: make([]float64, len(ws)+1),
		n: make([]float64, len(ws)+1), d: make([]float64, len(ws)+1)}
	for i, w := range ws {
		s.t[i+1] = w.EndS
		s.e[i+1] = s.e[i] + w.EnergyJ
		s.n[i+1] = s.n[i] + w.Tokens
		s.d[i+1] = s.d[i] + w.DelayS
	}
	return s
}

// end is the last window's end (0 for no windows).
func (s series) end() float64 { return s.t[len(s.t)-1] }

// at is the index of the last window ending at or before t.
func (s series) at(t float64) int {
	return sort.Search(len(s.t), func(i int) bool { return s.t[i] > t+1e-9 }) - 1
}

// over is the objective over the windows ending in (from, to].
func (s series) over(obj control.Objective, from, to float64) float64 {
	i, j := s.at(from), s.at(to)
	if i < 0 || j <= i {
		return math.NaN()
	}
	return objective(obj, s.e[j]-s.e[i], s.d[j]-s.d[i], s.n[j]-s.n[i])
}

// gapAt is the policy's objective over the first t seconds relative to the
// reference's, minus 1; NaN when either run is shorter than t.
func gapAt(obj control.Objective, p, ref series, t float64) float64 {
	if p.end() < t || ref.end() < t {
		return math.NaN()
	}
	return p.over(obj, 0, t)/ref.over(obj, 0, t) - 1
}

// tWithin is the time after which the policy's rolling rollingSpanS
// objective stays within tol of the reference's over the same windows
// (shorter spans from the start before rollingSpanS has passed); NaN when
// the last span is not within it. Spans where either run produced no token
// do not count against it.
func tWithin(obj control.Objective, p, ref series, tol float64) float64 {
	end := min(p.end(), ref.end())
	t := math.NaN()
	for i := 1; i < len(p.t) && p.t[i] <= end; i++ {
		to := p.t[i]
		from := max(0, to-rollingSpanS)
		g := p.over(obj, from, to)/ref.over(obj, from, to) - 1
		switch {
		case math.IsNaN(g):
		case g <= tol:
			if math.IsNaN(t) {
				t = to
			}
		default:
			t = math.NaN()
		}
	}
	return t
}

// phaseSpan is one stretch of a workload between two changes of its load.
type phaseSpan struct{ from, to float64 }

// phaseSpans lists the active phases that follow a change of the phases
// workload (prefill-heavy for 60 s, decode-heavy for 60 s, idle for 30 s,
// every 150 s), up to end; the first phase starts no change and is left
// out. Other workloads have none.
func phaseSpans(sc Scenario, end float64) []phaseSpan {
	if sc.Workload.Name != sim.WorkloadPhases || sc.Workload.Trace != nil {
		return nil
	}
	ts := sc.Workload.TimeScale
	if ts <= 0 {
		ts = 1
	}
	var out []phaseSpan
	for k := 0.0; ; k++ {
		for _, p := range [][2]float64{{0, 60}, {60, 120}} {
			from, to := (150*k+p[0])*ts, (150*k+p[1])*ts
			if to > end {
				return out
			}
			if from > 0 {
				out = append(out, phaseSpan{from, to})
			}
		}
	}
}

// recovery is, for each phase change, the seconds until the policy's
// rolling recoverySpanS objective (not reaching back before the change) is
// within 2 % of the best static clock for that phase, the static clock with
// the best objective over the phase alone; NaN for a phase it never
// recovers in.
func recovery(obj control.Objective, p series, statics []series, spans []phaseSpan) []float64 {
	out := make([]float64, 0, len(spans))
	for _, sp := range spans {
		var best series
		bestObj := math.Inf(1)
		for _, s := range statics {
			if o := s.over(obj, sp.from, sp.to); o < bestObj {
				best, bestObj = s, o
			}
		}
		r := math.NaN()
		if !math.IsInf(bestObj, 1) {
			for i := p.at(sp.from) + 1; i < len(p.t) && p.t[i] <= sp.to; i++ {
				to := p.t[i]
				if to-sp.from < recoveryMinS {
					continue
				}
				from := max(sp.from, to-recoverySpanS)
				if g := p.over(obj, from, to)/best.over(obj, from, to) - 1; g <= 0.02 {
					r = to - sp.from
					break
				}
			}
		}
		out = append(out, r)
	}
	return out
}

// cumulativeGap is the policy's objective from the start to each bin end,
// relative to the reference's, minus 1: the plotted cold start.
func cumulativeGap(obj control.Objective, p, ref series, binS float64) (ts, gaps []float64) {
	end := min(p.end(), ref.end())
	for t := binS; t <= end; t += binS {
		if g := p.over(obj, 0, t)/ref.over(obj, 0, t) - 1; !math.IsNaN(g) && !math.IsInf(g, 0) {
			ts, gaps = append(ts, t), append(gaps, g)
		}
	}
	return ts, gaps
}
