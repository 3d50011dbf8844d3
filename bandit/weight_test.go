package bandit

import (
	"math"
	"testing"
)

func TestObservationWeight(t *testing.T) {
	for _, tc := range []struct {
		in, want float64
	}{
		{0, 1}, {-3, 1}, {math.NaN(), 1}, {math.Inf(1), 1},
		{0.5, 0.5}, {1e-9, minWeight}, {50, maxWeight},
	} {
		if got := observationWeight(tc.in); got != tc.want {
			t.Errorf("observationWeight(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// A weight-2 observation is two identical weight-1 observations (without
// forgetting), for the estimate and for the residual bookkeeping.
func TestRidgeWeightIsRepetition(t *testing.T) {
	phis := [][]float64{{1, 0.5, 0}, {0, 1, 2}, {1, 1, 1}, {0.3, 0, 1}}
	ys := []float64{1, -2, 0.5, 3}
	weighted := newRidge(3, 0.1, 1, 1000)
	repeated := newRidge(3, 0.1, 1, 1000)
	for i, phi := range phis {
		weighted.update(append([]float64(nil), phi...), ys[i], 2)
		repeated.update(append([]float64(nil), phi...), ys[i], 1)
		repeated.update(append([]float64(nil), phi...), ys[i], 1)
	}
	for i := range weighted.theta {
		if math.Abs(weighted.theta[i]-repeated.theta[i]) > 1e-9 {
			t.Fatalf("theta %v, repeated %v", weighted.theta, repeated.theta)
		}
	}
	if weighted.n != repeated.n || math.Abs(weighted.meanY()-repeated.meanY()) > 1e-12 {
		t.Errorf("n %v mean %v, repeated n %v mean %v", weighted.n, weighted.meanY(), repeated.n, repeated.meanY())
	}
	// The caller's φ must not be scaled in place.
	phi := []float64{1, 2, 3}
	weighted.update(phi, 1, 4)
	if phi[0] != 1 || phi[1] != 2 || phi[2] != 3 {
		t.Errorf("update changed its input to %v", phi)
	}
}
