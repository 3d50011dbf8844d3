package bandit

import "math"

// Small dense helpers on row-major n×n slices. They are hand-rolled rather
// than gonum calls because they run on every decision and must not allocate.

// invertSPD writes the inverse of the symmetric positive definite a into
// out through a Cholesky factorisation held in work (n×n). It reports false
// when a is not numerically positive definite; out is then untouched.
//
// Every inner loop reads rows (never columns, which stride n through a
// matrix larger than L1), and four independent sums run side by side so that
// the adds do not wait on each other. Each sum still adds the same products
// in the same order as the textbook loops, so the result is bit-for-bit the
// same as theirs.
func invertSPD(a, out, work []float64, n int) bool {
	l := work[:n*n]
	if !cholesky(a, l, n) {
		return false
	}
	// W = L⁻¹ (lower), held transposed in out's upper triangle: row j of
	// out is column j of W, so both solves and the product read rows.
	for j := 0; j < n; j++ {
		invertColumn(l, out[j*n:j*n+n], j, n)
	}
	// out = Wᵀ W: out[i][c] = Σ_{k≥i} W[k][i]·W[k][c] for c ≤ i. The lower
	// triangle of row i is not part of W's transpose, and a block's sums
	// are all taken before it writes out[c][i], so this runs in place.
	for i := 0; i < n; i++ {
		wi := out[i*n+i : i*n+n]
		c := 0
		for ; c+4 <= i+1; c += 4 {
			w0, w1, w2, w3 := out[c*n+i:c*n+n], out[(c+1)*n+i:(c+1)*n+n], out[(c+2)*n+i:(c+2)*n+n], out[(c+3)*n+i:(c+3)*n+n]
			w0, w1, w2, w3 = w0[:len(wi)], w1[:len(wi)], w2[:len(wi)], w3[:len(wi)]
			var s0, s1, s2, s3 float64
			for k, v := range wi {
				s0 += v * w0[k]
				s1 += v * w1[k]
				s2 += v * w2[k]
				s3 += v * w3[k]
			}
			out[i*n+c], out[i*n+c+1], out[i*n+c+2], out[i*n+c+3] = s0, s1, s2, s3
			out[c*n+i], out[(c+1)*n+i], out[(c+2)*n+i], out[(c+3)*n+i] = s0, s1, s2, s3
		}
		for ; c <= i; c++ {
			wc := out[c*n+i : c*n+n]
			wc = wc[:len(wi)]
			var s float64
			for k, v := range wi {
				s += v * wc[k]
			}
			out[i*n+c] = s
			out[c*n+i] = s
		}
	}
	for _, v := range out[:n*n] {
		if !finite(v) {
			return false
		}
	}
	return true
}

// cholesky writes the lower factor L of a = LLᵀ into l (row-major, upper
// part zero) and reports whether a is numerically positive definite.
func cholesky(a, l []float64, n int) bool {
	clear(l)
	for j := 0; j < n; j++ {
		lj := l[j*n : j*n+j]
		s := a[j*n+j]
		for _, v := range lj {
			s -= v * v
		}
		if !(s > 1e-300) || !finite(s) {
			return false
		}
		d := math.Sqrt(s)
		l[j*n+j] = d
		i := j + 1
		for ; i+4 <= n; i += 4 {
			l0, l1, l2, l3 := l[i*n:i*n+j], l[(i+1)*n:(i+1)*n+j], l[(i+2)*n:(i+2)*n+j], l[(i+3)*n:(i+3)*n+j]
			t0, t1, t2, t3 := a[i*n+j], a[(i+1)*n+j], a[(i+2)*n+j], a[(i+3)*n+j]
			for k, v := range lj {
				t0 -= l0[k] * v
				t1 -= l1[k] * v
				t2 -= l2[k] * v
				t3 -= l3[k] * v
			}
			l[i*n+j], l[(i+1)*n+j], l[(i+2)*n+j], l[(i+3)*n+j] = t0/d, t1/d, t2/d, t3/d
		}
		for ; i < n; i++ {
			li := l[i*n : i*n+j]
			t := a[i*n+j]
			for k, v := range lj {
				t -= li[k] * v
			}
			l[i*n+j] = t / d
		}
	}
	return true
}

// invertColumn writes column j of W = L⁻¹ into w (w[i] = W[i][j], i ≥ j):
// W[j][j] = 1/L[j][j] and W[i][j] = −Σ_{k=j}^{i−1} L[i][k]·W[k][j] / L[i][i].
// Four rows are solved together: their sums over k < i share the loop, and
// the few terms inside the block are added after it, still in k order.
func invertColumn(l, w []float64, j, n int) {
	w[j] = 1 / l[j*n+j]
	i := j + 1
	for ; i+4 <= n; i += 4 {
		wj := w[j:i]
		l0, l1, l2, l3 := l[i*n+j:i*n+i], l[(i+1)*n+j:(i+1)*n+i], l[(i+2)*n+j:(i+2)*n+i], l[(i+3)*n+j:(i+3)*n+i]
		l0, l1, l2, l3 = l0[:len(wj)], l1[:len(wj)], l2[:len(wj)], l3[:len(wj)]
		var s0, s1, s2, s3 float64
		for k, v := range wj {
			s0 -= l0[k] * v
			s1 -= l1[k] * v
			s2 -= l2[k] * v
			s3 -= l3[k] * v
		}
		w0 := s0 / l[i*n+i]
		s1 -= l[(i+1)*n+i] * w0
		w1 := s1 / l[(i+1)*n+i+1]
		s2 -= l[(i+2)*n+i] * w0
		s2 -= l[(i+2)*n+i+1] * w1
		w2 := s2 / l[(i+2)*n+i+2]
		s3 -= l[(i+3)*n+i] * w0
		s3 -= l[(i+3)*n+i+1] * w1
		s3 -= l[(i+3)*n+i+2] * w2
		w[i], w[i+1], w[i+2], w[i+3] = w0, w1, w2, s3/l[(i+3)*n+i+3]
	}
	for ; i < n; i++ {
		li := l[i*n+j : i*n+i]
		var s float64
		for k, v := range w[j:i] {
			s -= li[k] * v
		}
		w[i] = s / l[i*n+i]
	}
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
