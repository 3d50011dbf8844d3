package sim

import "math"

// rng is a xorshift64* generator held by value, so a cloned GPU carries its
// own copy of the stream and no state is shared.
type rng struct{ s uint64 }

func newRNG(seed uint64) rng {
	// splitmix64 scrambles the seed so that 0 and nearby seeds are fine.
	z := seed + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	if z == 0 {
		z = 1
	}
	return rng{s: z}
}

func (r *rng) next() uint64 {
	r.s ^= r.s >> 12
	r.s ^= r.s << 25
	r.s ^= r.s >> 27
	return r.s * 2685821657736338717
}

// uniform is in (0, 1).
func (r *rng) uniform() float64 {
	return (float64(r.next()>>11) + 0.5) / (1 << 53)
}

// normal is a standard normal draw (Box–Muller, one of the pair).
func (r *rng) normal() float64 {
	u1, u2 := r.uniform(), r.uniform()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}
