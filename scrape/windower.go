package scrape

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Errors from Windower.Next, matched with errors.Is.
var (
	// ErrNoBaseline: the first sample only sets the baseline.
	ErrNoBaseline = errors.New("first sample: no window yet")
	// ErrTimeNotAdvancing: the sample is not later than the previous one;
	// it is ignored and the baseline kept.
	ErrTimeNotAdvancing = errors.New("sample time is not after the previous sample")
)

// WindowConfig sets the sliding latency tail. Zero fields take defaults.
type WindowConfig struct {
	// TailWindow is how far back the tail reaches (default 30 s).
	TailWindow time.Duration
	// TailMinObs is how many observations the tail needs before it is
	// reported (default 50); below that it is NaN.
	TailMinObs int
	// TailQuantile is the tail's quantile (default 0.9).
	TailQuantile float64
	// TailCapacity caps the windows kept (default 1024, enough for 30 s at
	// a 30 ms period); past it the oldest windows drop out early.
	TailCapacity int
}

// DefaultWindowConfig is 30 s, 50 observations, p90.
func DefaultWindowConfig() WindowConfig {
	return WindowConfig{TailWindow: 30 * time.Second, TailMinObs: 50, TailQuantile: 0.9, TailCapacity: 1024}
}

func (c WindowConfig) resolve() (WindowConfig, error) {
	d := DefaultWindowConfig()
	if c.TailWindow == 0 {
		c.TailWindow = d.TailWindow
	}
	if c.TailMinObs == 0 {
		c.TailMinObs = d.TailMinObs
	}
	if c.TailQuantile == 0 {
		c.TailQuantile = d.TailQuantile
	}
	if c.TailCapacity == 0 {
		c.TailCapacity = d.TailCapacity
	}
	switch {
	case c.TailWindow < 0:
		return c, fmt.Errorf("scrape: tail window %v must be positive", c.TailWindow)
	case c.TailMinObs < 0:
		return c, fmt.Errorf("scrape: tail minimum observations %d must be at least 1", c.TailMinObs)
	case !(c.TailQuantile > 0 && c.TailQuantile <= 1):
		return c, fmt.Errorf("scrape: tail quantile %v must be in (0, 1], e.g. 0.9", c.TailQuantile)
	case c.TailCapacity < 0:
		return c, fmt.Errorf("scrape: tail capacity %d must be at least 1", c.TailCapacity)
	}
	return c, nil
}

// gauges are the signals that are levels, not running totals.
const gauges = SignalSet(1<<SigRunning | 1<<SigWaiting | 1<<SigKVUsage | 1<<SigSwapped)

// numTailed counts the histograms with a sliding tail: TTFT, ITL, TPOT.
const numTailed = 3

// Windower turns consecutive samples into Windows. It keeps a private copy
// of the previous sample and a ring of recent bucket deltas; after the ring
// fills it does not allocate. Not safe for concurrent use.
type Windower struct {
	cfg      WindowConfig
	prev     Sample
	havePrev bool
	delta    [allSignals]Histogram // per-signal bucket-delta scratch
	tails    [numTailed]tailRing
}

// NewWindower validates cfg (zero fields take defaults).
func NewWindower(cfg WindowConfig) (*Windower, error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	w := &Windower{cfg: cfg}
	for i := range w.tails {
		w.tails[i].entries = make([]tailEntry, cfg.TailCapacity)
	}
	return w, nil
}

// Reset forgets the baseline and the tails.
func (w *Windower) Reset() {
	w.havePrev = false
	for i := range w.tails {
		w.tails[i].clear()
	}
}

// Next returns the window between the previous sample and s, and makes s
// the new baseline. The first call returns ErrNoBaseline.
func (w *Windower) Next(s Sample) (Window, error) {
	if !w.havePrev {
		w.keep(s)
		return Window{}, ErrNoBaseline
	}
	dt := s.At.Sub(w.prev.At)
	if dt <= 0 {
		return Window{}, fmt.Errorf("%w: %v after %v", ErrTimeNotAdvancing, s.At, w.prev.At)
	}
	prev := &w.prev
	win := Window{
		Start: prev.At, End: s.At, Dur: dt, Flavor: s.Flavor,
		Present: prev.Present & s.Present,
	}
	nan := math.NaN()
	win.Running, win.Waiting, win.KVUsage, win.Swapped = nan, nan, nan, nan
	win.PromptTokens, win.GenTokens, win.PromptTokPerS, win.GenTokPerS = nan, nan, nan, nan
	win.Finished, win.Preemptions, win.PrefixHitRate, win.MeanIterTokens = nan, nan, nan, nan
	win.TTFTMean, win.ITLMean, win.TPOTMean, win.E2EMean = nan, nan, nan, nan
	win.TTFTObs, win.ITLObs, win.TPOTObs, win.E2EObs = nan, nan, nan, nan
	win.TTFTTail, win.ITLTail, win.TPOTTail = nan, nan, nan
	win.TTFTTailObs, win.ITLTailObs, win.TPOTTailObs = 0, 0, 0
	win.MaxTTFTUpper, win.MaxTTFTLower = nan, nan

	if s.Flavor != prev.Flavor {
		// Another server answers at the same URL: nothing carries over.
		win.Reset = true
		for i := range w.tails {
			w.tails[i].clear()
		}
	}
	if (prev.Present&^s.Present)&^gauges != 0 {
		// A counter or histogram vanished: the server restarted or
		// changed. A gauge going missing (say a NaN) leaves rates intact.
		win.Reset = true
	}

	gauge := func(sig Signal, v float64, dst *float64) {
		if s.Present.Has(sig) {
			*dst = v
		}
	}
	gauge(SigRunning, s.Running, &win.Running)
	gauge(SigWaiting, s.Waiting, &win.Waiting)
	gauge(SigKVUsage, s.KVUsage, &win.KVUsage)
	gauge(SigSwapped, s.Swapped, &win.Swapped)

	secs := dt.Seconds()
	counter := func(sig Signal, before, now float64, dst *float64) bool {
		if !win.Present.Has(sig) {
			return false
		}
		d := now - before
		if d < 0 {
			// A counter went backwards: the server restarted. Like
			// Prometheus' increase(), count from zero.
			win.Reset = true
			d = now
		}
		*dst = d
		return true
	}
	if counter(SigPromptTokens, prev.PromptTokens, s.PromptTokens, &win.PromptTokens) {
		win.PromptTokPerS = win.PromptTokens / secs
	}
	if counter(SigGenTokens, prev.GenTokens, s.GenTokens, &win.GenTokens) {
		win.GenTokPerS = win.GenTokens / secs
	}
	counter(SigFinished, prev.Finished, s.Finished, &win.Finished)
	counter(SigPreemptions, prev.Preemptions, s.Preemptions, &win.Preemptions)
	var hits, queries float64
	okH := counter(SigPrefixHits, prev.PrefixHits, s.PrefixHits, &hits)
	okQ := counter(SigPrefixQueries, prev.PrefixQueries, s.PrefixQueries, &queries)
	if okH && okQ && queries > 0 {
		win.PrefixHitRate = hits / queries
	}

	type histOut struct {
		sig        Signal
		prev, now  *Histogram
		mean, obs  *float64
		tail, tobs *float64
		ring       int
	}
	hists := [...]histOut{
		{SigTTFT, &prev.TTFT, &s.TTFT, &win.TTFTMean, &win.TTFTObs, &win.TTFTTail, &win.TTFTTailObs, 0},
		{SigITL, &prev.ITL, &s.ITL, &win.ITLMean, &win.ITLObs, &win.ITLTail, &win.ITLTailObs, 1},
		{SigTPOT, &prev.TPOT, &s.TPOT, &win.TPOTMean, &win.TPOTObs, &win.TPOTTail, &win.TPOTTailObs, 2},
		{SigE2E, &prev.E2E, &s.E2E, &win.E2EMean, &win.E2EObs, nil, nil, -1},
		{SigIterTokens, &prev.Iter, &s.Iter, &win.MeanIterTokens, nil, nil, nil, -1},
	}
	for _, h := range hists {
		if !win.Present.Has(h.sig) {
			continue
		}
		d := &w.delta[h.sig]
		if histDelta(d, h.prev, h.now) {
			win.Reset = true
		}
		if h.obs != nil {
			*h.obs = d.Count
		}
		if d.Count > 0 {
			*h.mean = d.Sum / d.Count
		}
		if h.sig == SigTTFT {
			win.MaxTTFTUpper, win.MaxTTFTLower = highestFilledBucket(d)
		}
		if h.ring >= 0 {
			r := &w.tails[h.ring]
			r.push(s.At, d)
			*h.tail, *h.tobs = r.tail(s.At, w.cfg)
		}
	}
	w.keep(s)
	return win, nil
}

// keep copies s into the baseline, reusing the baseline's slices.
func (w *Windower) keep(s Sample) {
	p := &w.prev
	ttft, itl, tpot, e2e, iter := p.TTFT, p.ITL, p.TPOT, p.E2E, p.Iter
	*p = s
	p.TTFT = copyHist(ttft, s.TTFT)
	p.ITL = copyHist(itl, s.ITL)
	p.TPOT = copyHist(tpot, s.TPOT)
	p.E2E = copyHist(e2e, s.E2E)
	p.Iter = copyHist(iter, s.Iter)
	w.havePrev = true
}

func copyHist(dst, src Histogram) Histogram {
	dst.Upper = append(dst.Upper[:0], src.Upper...)
	dst.Cumulative = append(dst.Cumulative[:0], src.Cumulative...)
	dst.Sum, dst.Count = src.Sum, src.Count
	return dst
}

// histDelta writes now−before into d and reports a reset: a changed bucket
// layout or any count going down means the server restarted, and like
// Prometheus' increase() the delta is then the current cumulative.
func histDelta(d, before, now *Histogram) (reset bool) {
	d.Upper = append(d.Upper[:0], now.Upper...)
	d.Cumulative = append(d.Cumulative[:0], now.Cumulative...)
	d.Sum, d.Count = now.Sum, now.Count
	if !sameBounds(before.Upper, now.Upper) || now.Count < before.Count {
		return true
	}
	for i, c := range before.Cumulative {
		if now.Cumulative[i] < c {
			d.Cumulative = append(d.Cumulative[:0], now.Cumulative...)
			return true
		}
		d.Cumulative[i] -= c
	}
	d.Sum -= before.Sum
	d.Count -= before.Count
	return false
}

func sameBounds(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// highestFilledBucket returns the bounds of the highest bucket of d that
// gained observations: the largest observation lies in (lower, upper].
// Both are NaN when d is empty.
func highestFilledBucket(d *Histogram) (upper, lower float64) {
	for i := len(d.Cumulative) - 1; i >= 0; i-- {
		below := 0.0
		if i > 0 {
			below = d.Cumulative[i-1]
		}
		if d.Cumulative[i] > below {
			lower = 0
			if i > 0 {
				lower = d.Upper[i-1]
			}
			return d.Upper[i], lower
		}
	}
	return math.NaN(), math.NaN()
}

// tailEntry is one window's cumulative bucket deltas.
type tailEntry struct {
	end time.Time
	cum []float64
}

// tailRing holds the recent windows of one histogram, all with one layout.
type tailRing struct {
	upper   []float64
	entries []tailEntry
	head, n int
	sum     []float64
}

func (r *tailRing) clear() { r.head, r.n = 0, 0 }

func (r *tailRing) push(end time.Time, d *Histogram) {
	if !sameBounds(r.upper, d.Upper) {
		r.clear()
		r.upper = append(r.upper[:0], d.Upper...)
	}
	if len(d.Cumulative) == 0 || d.Cumulative[len(d.Cumulative)-1] == 0 {
		return // an empty window adds nothing
	}
	if r.n == len(r.entries) {
		r.head = (r.head + 1) % len(r.entries)
		r.n--
	}
	e := &r.entries[(r.head+r.n)%len(r.entries)]
	e.end = end
	e.cum = append(e.cum[:0], d.Cumulative...)
	r.n++
}

// tail drops windows older than cfg.TailWindow and returns the quantile of
// the rest and how many observations it rests on; NaN below TailMinObs.
func (r *tailRing) tail(now time.Time, cfg WindowConfig) (float64, float64) {
	for r.n > 0 && now.Sub(r.entries[r.head].end) >= cfg.TailWindow {
		r.head = (r.head + 1) % len(r.entries)
		r.n--
	}
	if cap(r.sum) < len(r.upper) {
		r.sum = make([]float64, len(r.upper))
	}
	r.sum = r.sum[:len(r.upper)]
	clear(r.sum)
	for i := 0; i < r.n; i++ {
		for j, c := range r.entries[(r.head+i)%len(r.entries)].cum {
			r.sum[j] += c
		}
	}
	if len(r.sum) == 0 {
		return math.NaN(), 0
	}
	obs := r.sum[len(r.sum)-1]
	if obs < float64(cfg.TailMinObs) {
		return math.NaN(), obs
	}
	return sortedQuantile(cfg.TailQuantile, r.upper, r.sum), obs
}
