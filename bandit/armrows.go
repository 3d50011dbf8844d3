package bandit

import "math"

// Per-arm rows of the score table. They run for every arm at every
// decision, so each is reduced, once per decision, to a handful of
// multiplications per arm.

// nzPattern is one set of non-zero reward-basis positions. A cubic
// B-spline has the same 4 non-zero functions over a whole knot interval,
// so the 110–220 arms share about a dozen patterns; per decision each
// pattern's sub-block of K and u is gathered once, and an arm's quadratic
// form then reads it with no index indirection.
type nzPattern struct {
	n   int
	idx [maxNZ]int
	k   [maxNZ][maxNZ]float64 // K at idx × idx, this decision
	u   [maxNZ]float64        // u at idx, this decision
}

// patternOf returns the index in t.pats of the pattern nz, adding it.
func (t *gputune) patternOf(nz []int) int {
	for j := range t.pats {
		p := &t.pats[j]
		if p.n == len(nz) && p.idx == padPattern(nz) {
			return j
		}
	}
	t.pats = append(t.pats, nzPattern{n: len(nz), idx: padPattern(nz)})
	return len(t.pats) - 1
}

func padPattern(nz []int) [maxNZ]int {
	var a [maxNZ]int
	for i := range a {
		a[i] = -1
	}
	copy(a[:], nz)
	return a
}

// gatherPatterns copies this decision's u and K into every pattern.
func (t *gputune) gatherPatterns() {
	k := t.k
	for j := range t.pats {
		p := &t.pats[j]
		for a, ia := range p.idx[:p.n] {
			p.u[a] = t.u[ia]
			row := t.kq[ia*k : ia*k+k]
			for b, ib := range p.idx[:p.n] {
				p.k[a][b] = row[ib]
			}
		}
	}
}

// rewardRow is u·g and gᵀKg for arm i over its non-zero basis entries.
// K is symmetric, so each off-diagonal pair is read once and doubled.
func (t *gputune) rewardRow(i int) (pred, q float64) {
	p := &t.pats[t.pat[i]]
	v := (*[maxNZ]float64)(t.nzV[i*maxNZ : i*maxNZ+maxNZ])
	if p.n == 5 {
		// The usual case (constant + 4 B-splines), written out.
		v0, v1, v2, v3, v4 := v[0], v[1], v[2], v[3], v[4]
		k := &p.k
		pred = p.u[0]*v0 + p.u[1]*v1 + p.u[2]*v2 + p.u[3]*v3 + p.u[4]*v4
		q = v0*(v0*k[0][0]+2*(k[0][1]*v1+k[0][2]*v2+k[0][3]*v3+k[0][4]*v4)) +
			v1*(v1*k[1][1]+2*(k[1][2]*v2+k[1][3]*v3+k[1][4]*v4)) +
			v2*(v2*k[2][2]+2*(k[2][3]*v3+k[2][4]*v4)) +
			v3*(v3*k[3][3]+2*(k[3][4]*v4)) +
			v4*(v4*k[4][4])
		return pred, q
	}
	n := min(p.n, maxNZ)
	for a := 0; a < n; a++ {
		va := v[a]
		pred += p.u[a] * va
		row := &p.k[a]
		var s float64
		for b := a + 1; b < n; b++ {
			s += row[b] * v[b]
		}
		q += va * (va*row[a] + 2*s)
	}
	return pred, q
}

// latencyPoly is one latency model at one context as polynomials in s:
// with g = [1, s, s²] the prediction u·g is p₀ + p₁s + p₂s² and the
// variance factor gᵀKg is q₀ + … + q₄s⁴, so an arm costs a few
// multiplications instead of a k×k quadratic form. A memory indicator j
// (g_j = 1) adds u_j and 2·(K_j0 + K_j1·s + K_j2·s²) + K_jj.
type latencyPoly struct {
	u, kq              []float64 // K is symmetric (contextQuad)
	p0, p1, p2         float64
	q0, q1, q2, q3, q4 float64
	sigma, beta        float64
}

func newLatencyPoly(u, kq []float64, sigma, beta float64) latencyPoly {
	n := len(u)
	return latencyPoly{u: u, kq: kq, p0: u[0], p1: u[1], p2: u[2],
		q0: kq[0], q1: 2 * kq[1], q2: 2*kq[2] + kq[n+1], q3: 2 * kq[n+2], q4: kq[2*n+2],
		sigma: sigma, beta: beta}
}

// row returns the prediction and upper bound at s with memory indicator
// j (-1: none), NaN when they are not finite.
func (l *latencyPoly) row(s float64, j int) (pred, upper float64) {
	pred = l.p0 + s*(l.p1+s*l.p2)
	q := l.q0 + s*(l.q1+s*(l.q2+s*(l.q3+s*l.q4)))
	if j >= 0 {
		n := len(l.u)
		kj := l.kq[j*n : j*n+n]
		pred += l.u[j]
		q += 2*(kj[0]+s*(kj[1]+s*kj[2])) + kj[j]
	}
	upper = pred + l.beta*l.sigma*math.Sqrt(max(q, 0))
	if !finite(pred) || !finite(upper) {
		return math.NaN(), math.NaN()
	}
	return pred, upper
}
