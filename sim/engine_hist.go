package sim

import (
	"math"
	"time"
)

// maxBuckets bounds the finite buckets of an exposed histogram, so that a
// histogram is a fixed-size value and the state clones by copy.
const maxBuckets = 24

// hist is a Prometheus histogram with fixed buckets: plain data.
type hist struct {
	n     int                     // finite buckets in use
	upper [maxBuckets]float64     // finite upper bounds, ascending
	count [maxBuckets + 1]float64 // per-bucket counts; [n] is +Inf
	sum   float64
	total float64
}

func newHist(bounds ...float64) hist {
	var h hist
	h.n = copy(h.upper[:], bounds)
	return h
}

// observe adds k observations of v.
func (h *hist) observe(v float64, k float64) {
	i := 0
	for i < h.n && v > h.upper[i] {
		i++
	}
	h.count[i] += k
	h.sum += v * k
	h.total += k
}

// cumulative returns the cumulative counts for the first n finite buckets
// and +Inf, the way an exposition with a truncated bucket list reports them.
func (h *hist) cumulative(n int) (upper, cum []float64) {
	n = min(n, h.n)
	upper = make([]float64, n+1)
	cum = make([]float64, n+1)
	acc := 0.0
	for i := 0; i < n; i++ {
		acc += h.count[i]
		upper[i] = h.upper[i]
		cum[i] = acc
	}
	upper[n] = math.Inf(1)
	cum[n] = h.total
	return upper, cum
}

// Bucket sets, exactly as the servers define them.
func ttftBucketsV1() []float64 {
	return []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
		40.0, 80.0, 160.0, 640.0, 2560.0}
}

func itlBucketsV1() []float64 {
	return []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0}
}

func requestLatencyBucketsV1() []float64 {
	return []float64{0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0,
		480.0, 960.0, 1920.0, 7680.0}
}

func iterationTokenBucketsV1() []float64 {
	return []float64{1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384}
}

// buckets125 is vLLM's build_1_2_5_buckets(maxModelLen).
func buckets125(maxModelLen int) []float64 {
	var b []float64
	for exp := 1.0; ; exp *= 10 {
		for _, m := range []float64{1, 2, 5} {
			v := m * exp
			if v > float64(maxModelLen) {
				return b
			}
			b = append(b, v)
		}
	}
}

// V0 cut the V1 lists short: these are how many V1 edges it kept.
const (
	v0TTFTBuckets    = 16 // up to 10.0
	v0TPOTBuckets    = 13 // up to 2.5
	v0LatencyBuckets = 15 // up to 60.0
)

func ttftBucketsSGLang() []float64 {
	return []float64{0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400}
}

func itlBucketsSGLang() []float64 {
	return []float64{0.002, 0.004, 0.006, 0.008, 0.010, 0.015, 0.020, 0.025, 0.030, 0.035, 0.040, 0.060, 0.080,
		0.100, 0.200, 0.400, 0.600, 0.800, 1, 2, 4, 6, 8}
}

func e2eBucketsSGLang() []float64 {
	return []float64{0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400, 600, 1200, 1800, 2400}
}

// Fine latency histograms for ground truth: logarithmic buckets 2% wide
// from 100 µs to about 1 h, enough for p99 and SLO attainment.
const (
	fineLow     = 1e-4
	fineRatio   = 1.02
	fineBuckets = 880
)

// LatencyDist is a ground-truth latency distribution: plain data.
type LatencyDist struct {
	counts [fineBuckets + 1]uint32 // [fineBuckets] holds everything above the top
	n      uint64
	sum    float64
	max    float64
}

func fineIndex(v float64) int {
	if v <= fineLow {
		return 0
	}
	i := int(math.Log(v/fineLow)/math.Log(fineRatio)) + 1
	return min(i, fineBuckets)
}

// fineUpper is bucket i's upper bound: bucket 0 holds (−∞, fineLow].
func fineUpper(i int) float64 {
	if i >= fineBuckets {
		return math.Inf(1)
	}
	return fineLow * math.Pow(fineRatio, float64(i))
}

func (d *LatencyDist) observe(v time.Duration) {
	s := v.Seconds()
	d.counts[fineIndex(s)]++
	d.n++
	d.sum += s
	d.max = max(d.max, s)
}

// Count is the number of observations.
func (d *LatencyDist) Count() uint64 { return d.n }

// Mean is the mean in seconds (NaN when empty).
func (d *LatencyDist) Mean() float64 {
	if d.n == 0 {
		return math.NaN()
	}
	return d.sum / float64(d.n)
}

// Max is the largest observation in seconds.
func (d *LatencyDist) Max() float64 { return d.max }

// Quantile returns an upper bound (at most 2% high) on the q-quantile in
// seconds; NaN when empty or q is outside [0, 1].
func (d *LatencyDist) Quantile(q float64) float64 {
	if d.n == 0 || !(q >= 0 && q <= 1) {
		return math.NaN()
	}
	rank := uint64(math.Ceil(q * float64(d.n)))
	rank = max(rank, 1)
	var acc uint64
	for i, c := range d.counts {
		acc += uint64(c)
		if acc >= rank {
			return min(fineUpper(i), d.max)
		}
	}
	return d.max
}

// FractionWithin returns the fraction of observations at or below limit
// seconds, a lower bound exact to one 2% bucket (NaN when empty).
func (d *LatencyDist) FractionWithin(limit float64) float64 {
	if d.n == 0 {
		return math.NaN()
	}
	if limit >= d.max {
		return 1
	}
	var acc uint64
	for i, c := range d.counts {
		if fineUpper(i) > limit {
			break
		}
		acc += uint64(c)
	}
	return float64(acc) / float64(d.n)
}
