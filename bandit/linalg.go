package bandit

import "math"

// Small dense helpers on row-major n×n slices. They are hand-rolled rather
// than gonum calls because they run on every decision and must not allocate.

// invertSPD writes the inverse of the symmetric positive definite a into
// out through a Cholesky factorisation held in work (n×n). It reports false
// when a is not numerically positive definite; out is then untouched.
func invertSPD(a, out, work []float64, n int) bool {
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

// matVec writes m·v into dst.
func matVec(m, v, dst []float64, n int) {
	for i := 0; i < n; i++ {
		row := m[i*n : i*n+n]
		var s float64
		for j, vj := range v[:n] {
			s += row[j] * vj
		}
		dst[i] = s
	}
}

// shermanMorrison applies (M + φφᵀ)⁻¹ = M⁻¹ − M⁻¹φφᵀM⁻¹/(1+φᵀM⁻¹φ) to the
// symmetric inverse ainv in place, using u (n) as scratch.
func shermanMorrison(ainv, phi, u []float64, n int) bool {
	matVec(ainv, phi, u, n)
	denom := 1.0
	for i := 0; i < n; i++ {
		denom += phi[i] * u[i]
	}
	if !(denom > 1e-12) || !finite(denom) {
		return false
	}
	inv := 1 / denom
	for i := 0; i < n; i++ {
		ui := u[i] * inv
		row := ainv[i*n : i*n+n]
		for j := 0; j < n; j++ {
			row[j] -= ui * u[j]
		}
	}
	return true
}

// quadForm returns vᵀ M v.
func quadForm(m, v []float64, n int) float64 {
	var s float64
	for i := 0; i < n; i++ {
		row := m[i*n : i*n+n]
		var t float64
		for j := 0; j < n; j++ {
			t += row[j] * v[j]
		}
		s += v[i] * t
	}
	return s
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
