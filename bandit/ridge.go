package bandit

import (
	"errors"
	"fmt"
	"math"
)

// ridge is a discounted ridge regression y ≈ θᵀφ. With discount γ the
// precision is A = λI + G, G = Σ γ^(t−s) φ_s φ_sᵀ: the prior is refreshed
// rather than discounted, so A never falls below λI and old data fades.
//
// Updates are recursive least squares with forgetting on P ≈ A⁻¹ (rank-1
// Sherman–Morrison, O(p²)), where the λ(1−γ)I refresh is left out: P is
// then slightly too large and the confidence bounds err on the wide (safe)
// side. Every refactorEvery updates P and θ are recomputed exactly from A
// and b, which also stops round-off from accumulating. Scale factors keep
// the discounting O(1) instead of O(p²) per update.
type ridge struct {
	p             int
	lambda, gamma float64
	refactorEvery int

	// G = gScale·h; P = pScale·m. Only the lower triangle of h and the upper
	// triangle of m are kept current (see update); state writes both whole.
	h, m           []float64
	gScale, pScale float64
	b, theta       []float64
	// n is the discounted count, sumY the discounted sum of targets and
	// sumSq the discounted sum of squared one-step-ahead residuals.
	n, sumY, sumSq float64
	// standardised divides each squared one-step-ahead residual by
	// 1 + φᵀPφ, its variance in units of the noise's: sumSq/n then
	// estimates the noise alone, not the noise plus the error of
	// predicting where the fit had no data (see newSteadyModel).
	standardised bool
	since        int
	// denom is the last update's γ + φᵀPφ (see heldVar).
	denom float64

	u, work, a []float64
	phiW       []float64 // √w·φ for a weighted update
	nz         []int
}

func newRidge(p int, lambda, gamma float64, refactorEvery int) *ridge {
	r := &ridge{
		p: p, lambda: lambda, gamma: gamma, refactorEvery: refactorEvery,
		h: make([]float64, p*p), m: make([]float64, p*p),
		b: make([]float64, p), theta: make([]float64, p),
		u: make([]float64, p), work: make([]float64, p*p), a: make([]float64, p*p), phiW: make([]float64, p),
		nz: make([]int, 0, p),
	}
	r.reset()
	return r
}

func (r *ridge) reset() {
	clear(r.h)
	clear(r.m)
	clear(r.b)
	clear(r.theta)
	for i := 0; i < r.p; i++ {
		r.m[i*r.p+i] = 1 / r.lambda
	}
	r.gScale, r.pScale = 1, 1
	r.n, r.sumY, r.sumSq, r.since = 0, 0, 0, 0
}

// update trains on one finite (φ, y) with weight w > 0: weighted least
// squares, as if (√w·φ, √w·y) had been observed. The residual scale is that
// of a weight-1 observation.
func (r *ridge) update(phi []float64, y, w float64) {
	p, g := r.p, r.gamma
	phi = phi[:p]
	e := y - dot(r.theta, phi)
	if w != 1 {
		sw := math.Sqrt(w)
		for i, v := range phi {
			r.phiW[i] = v * sw
		}
		phi = r.phiW
		y *= sw
		e *= sw
	}
	r.nz = r.nz[:0]
	for i, v := range phi {
		if v != 0 {
			r.nz = append(r.nz, i)
		}
	}
	// G ← γG + φφᵀ, touching only the non-zero block of φφᵀ, and only its
	// lower triangle: the Cholesky factorisation reads no other part, and
	// state mirrors it.
	r.gScale *= g
	if r.gScale < 1e-100 {
		for i := range r.h {
			r.h[i] *= r.gScale
		}
		r.gScale = 1
	}
	inv := 1 / r.gScale
	for _, i := range r.nz {
		row := r.h[i*p : i*p+p]
		w := phi[i] * inv
		for _, j := range r.nz {
			if j > i {
				break
			}
			row[j] += w * phi[j]
		}
	}
	for i := range r.b {
		r.b[i] *= g
	}
	for _, i := range r.nz {
		r.b[i] += y * phi[i]
	}
	r.n = g*r.n + w
	r.sumY = g*r.sumY + math.Sqrt(w)*y

	// RLS: u = Pφ, P ← (P − uuᵀ/(γ + φᵀu))/γ, θ ← θ + P'φ·e.
	r.projectNZ(phi)
	q := dot(phi, r.u)
	e2 := e * e
	if r.standardised && q > 0 && finite(q) {
		e2 /= 1 + q
	}
	r.sumSq = g*r.sumSq + math.Min(e2, 1e12)
	denom := g + q
	r.denom = denom
	r.since++
	if !(denom > 1e-12) || !finite(denom) || r.since >= r.refactorEvery {
		r.refactor()
		return
	}
	c := 1 / (denom * r.pScale)
	// P is symmetric: only its upper triangle is kept up to date (readers
	// go through it), which halves the O(p²) work.
	u := r.u[:p]
	i := 0
	// Two rows per pass over u: row i from column i, row i+1 from i+1.
	for ; i+2 <= p; i += 2 {
		u0, u1 := u[i]*c, u[i+1]*c
		r.m[i*p+i] -= u0 * u[i]
		uu := u[i+1:]
		row0 := r.m[i*p+i+1 : i*p+p]
		row1 := r.m[(i+1)*p+i+1 : (i+1)*p+p]
		row0, row1 = row0[:len(uu)], row1[:len(uu)]
		for j, v := range uu {
			row0[j] -= u0 * v
			row1[j] -= u1 * v
		}
	}
	for ; i < p; i++ {
		ui := u[i] * c
		uu := u[i:]
		row := r.m[i*p+i : i*p+p]
		row = row[:len(uu)]
		for j, v := range uu {
			row[j] -= ui * v
		}
	}
	r.pScale /= g
	// P'φ = u·(γ/denom)/γ = u/denom.
	k := e / denom
	for i := range r.theta {
		r.theta[i] += k * r.u[i]
	}
	if !allFinite(r.theta) || !finite(r.pScale) || r.pScale > 1e100 {
		r.refactor()
	}
}

// projectNZ writes u = P·φ over φ's non-zero entries r.nz, reading only
// P's upper triangle (P[i][j] with j < i is P[j][i]). Four rows share each
// pass over r.nz so that their sums do not wait on each other.
func (r *ridge) projectNZ(phi []float64) {
	p, nz, m := r.p, r.nz, r.m
	// nz ascends: for rows i..i+3, the entries before lo lie below the
	// diagonal (read down column j from row j), those from hi on above it.
	lo, hi := 0, 0
	i := 0
	for ; i+4 <= p; i += 4 {
		for lo < len(nz) && nz[lo] < i {
			lo++
		}
		for hi < len(nz) && nz[hi] < i+3 {
			hi++
		}
		m0, m1, m2, m3 := m[i*p:i*p+p], m[(i+1)*p:(i+1)*p+p], m[(i+2)*p:(i+2)*p+p], m[(i+3)*p:(i+3)*p+p]
		var s0, s1, s2, s3 float64
		for _, j := range nz[:lo] {
			v := phi[j]
			col := m[j*p+i : j*p+i+4]
			s0 += col[0] * v
			s1 += col[1] * v
			s2 += col[2] * v
			s3 += col[3] * v
		}
		for _, j := range nz[lo:hi] {
			v := phi[j]
			s0 += m[symIndex(i, j, p)] * v
			s1 += m[symIndex(i+1, j, p)] * v
			s2 += m[symIndex(i+2, j, p)] * v
			s3 += m[symIndex(i+3, j, p)] * v
		}
		for _, j := range nz[hi:] {
			v := phi[j]
			s0 += m0[j] * v
			s1 += m1[j] * v
			s2 += m2[j] * v
			s3 += m3[j] * v
		}
		r.u[i], r.u[i+1], r.u[i+2], r.u[i+3] = r.pScale*s0, r.pScale*s1, r.pScale*s2, r.pScale*s3
	}
	for ; i < p; i++ {
		var s float64
		for _, j := range nz {
			s += m[symIndex(i, j, p)] * phi[j]
		}
		r.u[i] = r.pScale * s
	}
}

// symIndex is where entry (i, j) of a symmetric p×p matrix kept in its
// upper triangle lives.
func symIndex(i, j, p int) int {
	if j < i {
		return j*p + i
	}
	return i*p + j
}

// refactor recomputes P = A⁻¹ and θ = A⁻¹b exactly. A is λI plus a Gram
// matrix, so failure means the numbers went bad; the model then restarts
// from its prior.
func (r *ridge) refactor() {
	r.since = 0
	p := r.p
	for i := range r.a {
		r.a[i] = r.gScale * r.h[i]
	}
	for i := 0; i < p; i++ {
		r.a[i*p+i] += r.lambda
	}
	if !invertSPD(r.a, r.m, r.work, p) {
		r.reset()
		return
	}
	r.pScale = 1
	matVec(r.m, r.b, r.theta, p)
	if !allFinite(r.theta) {
		r.reset()
	}
}

// sigma is the residual standard deviation, shrunk towards prior over n0
// pseudo-observations so that the first bounds are neither zero nor wild.
func (r *ridge) sigma(prior, n0 float64) float64 {
	s := math.Sqrt((r.sumSq + n0*prior*prior) / (r.n + n0))
	if !finite(s) || s < 1e-9 {
		return 1e-9
	}
	return s
}

func (r *ridge) meanY() float64 {
	if r.n <= 0 {
		return 0
	}
	return r.sumY / r.n
}

func allFinite(v []float64) bool {
	for _, x := range v {
		if !finite(x) {
			return false
		}
	}
	return true
}

// ridgeState is the persisted part of a ridge model; A⁻¹ and θ are rebuilt.
type ridgeState struct {
	G     []float64 `json:"g"` // discounted Gram matrix; A = λI + G
	B     []float64 `json:"b"`
	N     float64   `json:"n"`
	SumY  float64   `json:"sum_y"`
	SumSq float64   `json:"sum_sq"`
	// P, Theta and Since carry the recursive estimate exactly, so a
	// restored model decides as the saved one would have.
	P     []float64 `json:"p"`
	Theta []float64 `json:"theta"`
	Since int       `json:"since"`
}

// state stores G (not A) so that λ may be read back unchanged.
func (r *ridge) state() ridgeState {
	g := make([]float64, len(r.h))
	for i := 0; i < r.p; i++ {
		for j := 0; j <= i; j++ {
			v := r.gScale * r.h[i*r.p+j]
			g[i*r.p+j], g[j*r.p+i] = v, v
		}
	}
	pm := make([]float64, len(r.m))
	for i := 0; i < r.p; i++ {
		for j := i; j < r.p; j++ {
			v := r.pScale * r.m[i*r.p+j]
			pm[i*r.p+j], pm[j*r.p+i] = v, v
		}
	}
	return ridgeState{G: g, B: append([]float64(nil), r.b...), N: r.n, SumY: r.sumY, SumSq: r.sumSq,
		P: pm, Theta: append([]float64(nil), r.theta...), Since: r.since}
}

func (r *ridge) restore(s ridgeState) error {
	switch {
	case len(s.G) != r.p*r.p || len(s.B) != r.p:
		// A build whose model has another number of parameters wrote it
		// (an early build of 2026-11-26, before 846b237, had 80, without
		// the constant column).
		return fmt.Errorf("it has %d parameters, this build's model has %d", len(s.B), r.p)
	case !allFinite(s.G) || !allFinite(s.B) || !finite(s.N) || !finite(s.SumY) || !finite(s.SumSq) ||
		s.N < 0 || s.SumSq < 0:
		return errors.New("it holds a non-finite or negative value")
	}
	copy(r.h, s.G)
	copy(r.b, s.B)
	r.gScale = 1
	r.n, r.sumY, r.sumSq = s.N, s.SumY, s.SumSq
	for i := range r.a {
		r.a[i] = r.h[i]
	}
	for i := 0; i < r.p; i++ {
		r.a[i*r.p+i] += r.lambda
	}
	if !invertSPD(r.a, r.m, r.work, r.p) {
		r.reset()
		return errors.New("its matrix is not positive definite")
	}
	r.pScale = 1
	matVec(r.m, r.b, r.theta, r.p)
	if len(s.P) == r.p*r.p && len(s.Theta) == r.p && allFinite(s.P) && allFinite(s.Theta) &&
		s.Since >= 0 && s.Since < r.refactorEvery {
		copy(r.m, s.P)
		copy(r.theta, s.Theta)
		r.since = s.Since
	}
	if !allFinite(r.theta) {
		return errors.New("its estimate is not finite")
	}
	return nil
}

// contextQuad writes K for this model's P (see contextQuad).
func (r *ridge) contextQuad(x []float64, k int, tmp, kOut []float64) {
	contextQuad(r.m, x, k, tmp, kOut)
	for i := range kOut[:k*k] {
		kOut[i] *= r.pScale
	}
}

// kron writes x ⊗ g (index i·k+l) into dst.
func kron(x, g, dst []float64) {
	k := len(g)
	for i, xi := range x {
		row := dst[i*k : i*k+k]
		for l, gl := range g {
			row[l] = xi * gl
		}
	}
}

// contextMean writes u = Θᵀx where θ is laid out as x ⊗ g, so that the
// prediction at basis vector g is u·g.
func contextMean(theta, x, u []float64) {
	k := len(u)
	clear(u)
	for i, xi := range x {
		row := theta[i*k : i*k+k]
		for l := range u {
			u[l] += xi * row[l]
		}
	}
}

// contextQuad writes K = (x⊗I)ᵀ M (x⊗I) (k×k), so that the variance at basis
// vector g is gᵀKg. It costs O(p²/2) once per decision instead of O(p²) per
// arm: M is symmetric, so K = Σᵢ xᵢ² Mᵢᵢ + S + Sᵀ with S = Σ_{i<j} xᵢxⱼ Mᵢⱼ
// (Mᵢⱼ the k×k block), and only the upper triangle of M is read (the ridge
// keeps no other). tmp needs k·k.
func contextQuad(m, x []float64, k int, tmp, kOut []float64) {
	d := len(x)
	p := d * k
	sum := tmp[:k*k]
	clear(kOut[:k*k])
	clear(sum)
	// Loop order i, l, j, c: each entry still sums its blocks in (i, j)
	// order, but a row of M is read as one run.
	for i, xi := range x {
		if xi == 0 {
			continue
		}
		wii := xi * xi
		for l := 0; l < k; l++ {
			mrow := m[(i*k+l)*p : (i*k+l)*p+p]
			if wii != 0 {
				// The diagonal block from its upper triangle only.
				out := kOut[l*k+l : l*k+k]
				src := mrow[i*k+l : i*k+k]
				src = src[:len(out)]
				for c, v := range src {
					out[c] += wii * v
				}
			}
			// Blocks right of the diagonal, four per pass over out so that
			// it is loaded and stored a quarter as often.
			out := sum[l*k : l*k+k]
			j := i + 1
			for ; j+4 <= d; j += 4 {
				wa, wb, wc, wd := xi*x[j], xi*x[j+1], xi*x[j+2], xi*x[j+3]
				sa, sb, sc, sd := mrow[j*k:j*k+k], mrow[(j+1)*k:(j+1)*k+k], mrow[(j+2)*k:(j+2)*k+k], mrow[(j+3)*k:(j+3)*k+k]
				sa, sb, sc, sd = sa[:len(out)], sb[:len(out)], sc[:len(out)], sd[:len(out)]
				for c := range out {
					out[c] += wa*sa[c] + wb*sb[c] + wc*sc[c] + wd*sd[c]
				}
			}
			for ; j < d; j++ {
				w := xi * x[j]
				src := mrow[j*k : j*k+k]
				src = src[:len(out)]
				for c, v := range src {
					out[c] += w * v
				}
			}
		}
	}
	for l := 0; l < k; l++ {
		for c := 0; c < l; c++ {
			kOut[l*k+c] = kOut[c*k+l]
		}
	}
	for l := 0; l < k; l++ {
		for c := 0; c < k; c++ {
			kOut[l*k+c] += sum[l*k+c] + sum[c*k+l]
		}
	}
}

// variance is φᵀPφ, the variance of the prediction at φ in units of σ²,
// for a dense φ; it reads only P's upper triangle.
func (r *ridge) variance(phi []float64) float64 {
	p, m := r.p, r.m
	var s float64
	for i := 0; i < p; i++ {
		vi := phi[i]
		if vi == 0 {
			continue
		}
		row := m[i*p : i*p+p]
		t := row[i] * vi
		for j := i + 1; j < p; j++ {
			t += 2 * row[j] * phi[j]
		}
		s += vi * t
	}
	return r.pScale * s
}
