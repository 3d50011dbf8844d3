package bandit

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestInvertSPDMatchesTextbook: the blocked, row-reading invertSPD must give
// bit-for-bit the result of the plain column-reading loops it replaced, so
// that making it faster changed no decision.
func TestInvertSPDMatchesTextbook(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 9, 24, 32, 88, 96} {
		a := make([]float64, n*n)
		for r := 0; r < 2*n; r++ {
			v := make([]float64, n)
			for i := range v {
				v[i] = rng.NormFloat64()
			}
			for i := range v {
				for j := range v {
					a[i*n+j] += v[i] * v[j]
				}
			}
		}
		for i := 0; i < n; i++ {
			a[i*n+i] += 0.05
		}
		got, want := make([]float64, n*n), make([]float64, n*n)
		for i := range got {
			got[i] = rng.NormFloat64() // stale contents must not leak in
		}
		work := make([]float64, n*n)
		if !invertSPD(a, got, work, n) || !invertSPDTextbook(a, want, make([]float64, n*n), n) {
			t.Fatalf("n=%d: not inverted", n)
		}
		for i := range want {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Fatalf("n=%d: entry %d is %v, textbook loops give %v", n, i, got[i], want[i])
			}
		}
	}
}

func TestInvertSPDRefusesIndefinite(t *testing.T) {
	a := []float64{1, 2, 2, 1} // eigenvalues 3 and −1
	out := []float64{7, 7, 7, 7}
	if invertSPD(a, out, make([]float64, 4), 2) {
		t.Fatal("an indefinite matrix was inverted")
	}
	for _, v := range out {
		if v != 7 {
			t.Fatal("out was written although the inversion failed")
		}
	}
}

// invertSPDTextbook is the previous invertSPD, kept as the reference.
func invertSPDTextbook(a, out, work []float64, n int) bool {
	l := work[:n*n]
	for i := range l {
		l[i] = 0
	}
	for j := 0; j < n; j++ {
		s := a[j*n+j]
		for k := 0; k < j; k++ {
			s -= l[j*n+k] * l[j*n+k]
		}
		if !(s > 1e-300) || !finite(s) {
			return false
		}
		d := math.Sqrt(s)
		l[j*n+j] = d
		for i := j + 1; i < n; i++ {
			t := a[i*n+j]
			for k := 0; k < j; k++ {
				t -= l[i*n+k] * l[j*n+k]
			}
			l[i*n+j] = t / d
		}
	}
	// Invert L in place (lower triangular), then out = L⁻ᵀ L⁻¹.
	for j := 0; j < n; j++ {
		l[j*n+j] = 1 / l[j*n+j]
		for i := j + 1; i < n; i++ {
			var s float64
			for k := j; k < i; k++ {
				s -= l[i*n+k] * l[k*n+j]
			}
			l[i*n+j] = s / l[i*n+i]
		}
	}
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			var s float64
			for k := i; k < n; k++ {
				s += l[k*n+i] * l[k*n+j]
			}
			out[i*n+j] = s
			out[j*n+i] = s
		}
	}
	for _, v := range out[:n*n] {
		if !finite(v) {
			return false
		}
	}
	return true
}

func TestFinite(t *testing.T) {
	cases := []struct {
		v    float64
		want bool
	}{
		{0, true}, {math.Copysign(0, -1), true}, {1, true}, {-1e300, true},
		{math.MaxFloat64, true}, {-math.MaxFloat64, true}, {math.SmallestNonzeroFloat64, true},
		{math.Inf(1), false}, {math.Inf(-1), false}, {math.NaN(), false},
	}
	for _, c := range cases {
		if got := finite(c.v); got != c.want {
			t.Errorf("finite(%v) = %v, want %v", c.v, got, c.want)
		}
	}
}
