package tui

import (
	"math"
	"strings"
)

// ring is a bounded history of samples; the oldest falls off when full, so
// memory stays fixed however long the TUI runs.
type ring struct {
	buf   []float64
	start int
	n     int
}

func newRing(capacity int) *ring { return &ring{buf: make([]float64, capacity)} }

func (r *ring) push(v float64) {
	if len(r.buf) == 0 {
		return
	}
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = v
		r.n++
		return
	}
	r.buf[r.start] = v
	r.start = (r.start + 1) % len(r.buf)
}

func (r *ring) len() int { return r.n }

// at returns the i-th sample, oldest first.
func (r *ring) at(i int) float64 { return r.buf[(r.start+i)%len(r.buf)] }

// lastN returns up to n newest samples, oldest first, appended to dst.
func (r *ring) lastN(n int, dst []float64) []float64 {
	if n > r.n {
		n = r.n
	}
	for i := r.n - n; i < r.n; i++ {
		dst = append(dst, r.at(i))
	}
	return dst
}

var (
	blockLevels = []rune("▁▂▃▄▅▆▇█")
	asciiLevels = []rune("_.-=#")
)

// sparkRange is the finite min and max of vals; ok is false when none is
// finite.
func sparkRange(vals []float64) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		lo = math.Min(lo, v)
		hi = math.Max(hi, v)
	}
	return lo, hi, lo <= hi
}

// spark draws the newest width samples of vals as one line exactly width
// cells wide, right-aligned, scaled to the samples' own min..max (not from
// zero) so small swings around a large level stay visible. Missing samples
// (NaN) are blanks. Cells whose value is over hot (when hot is finite) are
// drawn in hotStyle, the rest in style.
func spark(vals []float64, width int, ascii bool, hot float64, style, hotStyle paint) string {
	if width <= 0 {
		return ""
	}
	if len(vals) > width {
		vals = vals[len(vals)-width:]
	}
	levels := blockLevels
	if ascii {
		levels = asciiLevels
	}
	lo, hi, ok := sparkRange(vals)
	var b strings.Builder
	b.Grow(width * 4)
	b.WriteString(strings.Repeat(" ", width-len(vals)))
	if !ok {
		b.WriteString(strings.Repeat(" ", len(vals)))
		return b.String()
	}
	// Consecutive cells of one kind share one Render call: styling is the
	// expensive part of a frame.
	var run []rune
	runHot := false
	flush := func() {
		if len(run) == 0 {
			return
		}
		if runHot {
			b.WriteString(hotStyle.Render(string(run)))
		} else {
			b.WriteString(style.Render(string(run)))
		}
		run = run[:0]
	}
	run = make([]rune, 0, len(vals))
	for _, v := range vals {
		r := ' '
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			r = levels[level(v, lo, hi, len(levels))]
		}
		h := !math.IsNaN(hot) && !math.IsInf(hot, 0) && v > hot
		if h != runHot {
			flush()
			runHot = h
		}
		run = append(run, r)
	}
	flush()
	return b.String()
}

// level maps v in [lo, hi] to 0..n-1; a flat series sits in the middle so it
// does not read as "zero" or "maximum".
func level(v, lo, hi float64, n int) int {
	span := hi - lo
	if span <= 1e-12*math.Max(1, math.Abs(hi)) {
		return n / 2
	}
	i := int((v-lo)/span*float64(n-1) + 0.5)
	return max(0, min(n-1, i))
}
