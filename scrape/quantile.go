package scrape

import (
	"math"
	"slices"
	"sort"
)

// smallDeltaTolerance is Prometheus' tolerance for float noise between
// adjacent cumulative bucket counts (promql/quantile.go).
const smallDeltaTolerance = 1e-12

// HistogramQuantile is Prometheus' histogram_quantile for one classic
// histogram: upper holds bucket bounds (any order, repeats allowed) and
// cumulative the matching cumulative counts, e.g. bucket deltas over a
// window. It follows promql's BucketQuantile exactly: NaN for q NaN, -Inf
// for q < 0, +Inf for q > 1, NaN without a +Inf bucket, with fewer than two
// buckets or with no observations; the second-highest bound when the rank
// falls in the +Inf bucket; linear interpolation inside a bucket, from 0 for
// the lowest bucket unless its bound is ≤ 0. The inputs are not modified.
func HistogramQuantile(q float64, upper, cumulative []float64) float64 {
	n := min(len(upper), len(cumulative))
	if n == 0 {
		return math.NaN()
	}
	b := Histogram{Upper: slices.Clone(upper[:n]), Cumulative: slices.Clone(cumulative[:n])}
	sort.Stable(bucketSorter(b))
	// Coalesce equal bounds by adding their counts, as Prometheus does.
	w := 0
	for i := range b.Upper {
		if w > 0 && b.Upper[w-1] == b.Upper[i] {
			b.Cumulative[w-1] += b.Cumulative[i]
			continue
		}
		b.Upper[w], b.Cumulative[w] = b.Upper[i], b.Cumulative[i]
		w++
	}
	return sortedQuantile(q, b.Upper[:w], b.Cumulative[:w])
}

// sortedQuantile is HistogramQuantile for bounds already ascending and
// unique. It overwrites cumulative while forcing monotonicity, so callers
// pass scratch space.
func sortedQuantile(q float64, upper, cumulative []float64) float64 {
	switch {
	case math.IsNaN(q):
		return math.NaN()
	case q < 0:
		return math.Inf(-1)
	case q > 1:
		return math.Inf(+1)
	}
	n := len(upper)
	if n == 0 || !math.IsInf(upper[n-1], +1) {
		return math.NaN()
	}
	ensureMonotonic(cumulative)
	if n < 2 {
		return math.NaN()
	}
	observations := cumulative[n-1]
	if observations == 0 {
		return math.NaN()
	}
	rank := q * observations
	b := sort.Search(n-1, func(i int) bool { return cumulative[i] >= rank })
	if b == n-1 {
		return upper[n-2]
	}
	if b == 0 && upper[0] <= 0 {
		return upper[0]
	}
	start, end, count := 0.0, upper[b], cumulative[b]
	if b > 0 {
		start = upper[b-1]
		count -= cumulative[b-1]
		rank -= cumulative[b-1]
	}
	return start + (end-start)*(rank/count)
}

// ensureMonotonic mirrors promql's ensureMonotonicAndIgnoreSmallDeltas:
// differences within float noise are flattened, and decreases are replaced
// by the previous count, without moving the reference point.
func ensureMonotonic(c []float64) {
	if len(c) == 0 {
		return
	}
	prev := c[0]
	for i := 1; i < len(c); i++ {
		curr := c[i]
		switch {
		case curr == prev:
		case almostEqual(prev, curr, smallDeltaTolerance):
			c[i] = prev
		case curr < prev:
			c[i] = prev
		default:
			prev = curr
		}
	}
}

// almostEqual is Prometheus' util/almost.Equal.
func almostEqual(a, b, epsilon float64) bool {
	const minNormal = 2.2250738585072014e-308 // 2^-1022
	if a == b {
		return true
	}
	absSum := math.Abs(a) + math.Abs(b)
	diff := math.Abs(a - b)
	if a == 0 || b == 0 || absSum < minNormal {
		return diff < epsilon*minNormal
	}
	return diff/math.Min(absSum, math.MaxFloat64) < epsilon
}
