package scrape

import (
	"math"
	"testing"
)

// The expected values follow promql/quantile.go's BucketQuantile, worked by
// hand: rank = q·N, first bucket with cumulative ≥ rank, linear
// interpolation from the previous bound (0 below the first bucket).
func TestHistogramQuantileMatchesPrometheus(t *testing.T) {
	inf := math.Inf(1)
	nan := math.NaN()
	tests := []struct {
		name  string
		q     float64
		upper []float64
		cum   []float64
		want  float64
	}{
		{"median interpolates", 0.5, []float64{1, 2, inf}, []float64{2, 8, 10}, 1 + (2-1)*(5-2)/(8-2.0)},
		{"lowest bucket interpolates from zero", 0.1, []float64{1, 2, inf}, []float64{2, 8, 10}, 0.5},
		{"rank exactly at a bound", 0.2, []float64{1, 2, inf}, []float64{2, 8, 10}, 1},
		{"rank in +Inf returns highest finite bound", 0.95, []float64{1, 2, inf}, []float64{2, 8, 10}, 2},
		{"q=1 with all in finite buckets", 1, []float64{1, 2, inf}, []float64{2, 10, 10}, 2},
		{"q=1 with +Inf observations", 1, []float64{1, 2, inf}, []float64{2, 8, 10}, 2},
		{"q=0 with empty first bucket is NaN as in Prometheus", 0, []float64{1, 2, inf}, []float64{0, 8, 10}, nan},
		{"q=0 with filled first bucket", 0, []float64{1, 2, inf}, []float64{3, 8, 10}, 0},
		{"negative lowest bound is returned", 0.1, []float64{-1, 2, inf}, []float64{5, 8, 10}, -1},
		{"zero lowest bound is returned", 0.1, []float64{0, 2, inf}, []float64{5, 8, 10}, 0},
		{"no +Inf bucket", 0.5, []float64{1, 2}, []float64{2, 8}, nan},
		{"only +Inf bucket", 0.5, []float64{inf}, []float64{10}, nan},
		{"empty", 0.5, nil, nil, nan},
		{"no observations", 0.5, []float64{1, 2, inf}, []float64{0, 0, 0}, nan},
		{"q NaN", nan, []float64{1, inf}, []float64{1, 1}, nan},
		{"q below 0", -0.1, []float64{1, inf}, []float64{1, 1}, math.Inf(-1)},
		{"q above 1", 1.1, []float64{1, inf}, []float64{1, 1}, inf},
		{"unsorted input is sorted", 0.5, []float64{inf, 2, 1}, []float64{10, 8, 2}, 1.5},
		{"equal bounds are coalesced by adding", 0.5, []float64{1, 1, 2, inf}, []float64{1, 1, 8, 10}, 1 + (5-2)/(8-2.0)},
		// Prometheus keeps the last good count and ignores a dip: the 2-bucket
		// is forced to 6, so rank 5 lands in the first bucket.
		{"non-monotonic counts are forced up", 0.5, []float64{1, 2, 3, inf}, []float64{6, 4, 9, 10}, 5.0 / 6},
		{"float noise is flattened", 0.5, []float64{1, 2, inf}, []float64{10, 10 * (1 - 1e-15), 10}, 0.5},
		{"single finite bucket plus +Inf", 0.9, []float64{0.5, inf}, []float64{4, 4}, 0.45},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			upper := append([]float64(nil), tc.upper...)
			cum := append([]float64(nil), tc.cum...)
			got := HistogramQuantile(tc.q, upper, cum)
			if !near(got, tc.want) && !(math.IsInf(got, 0) && got == tc.want) {
				t.Fatalf("HistogramQuantile(%v, %v, %v) = %v, want %v", tc.q, tc.upper, tc.cum, got, tc.want)
			}
			for i := range upper {
				if upper[i] != tc.upper[i] || cum[i] != tc.cum[i] {
					t.Fatal("inputs modified")
				}
			}
		})
	}
}

func TestHistogramQuantileIsMonotoneInQ(t *testing.T) {
	upper := []float64{0.01, 0.025, 0.05, 0.1, 0.5, math.Inf(1)}
	cum := []float64{3, 40, 70, 90, 99, 100}
	prev := math.Inf(-1)
	for q := 0.01; q <= 1; q += 0.01 {
		v := HistogramQuantile(q, upper, cum)
		if v < prev {
			t.Fatalf("q=%v: %v below %v", q, v, prev)
		}
		prev = v
	}
}
