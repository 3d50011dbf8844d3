package sim

import "fmt"

// SetPowerLimitW sets the board power limit, as `nvidia-smi -pl` does: the
// governor then holds the clock down to keep board power under it, exactly
// as it does under the profile's default limit. The limit must lie in the
// profile's allowed range [PowerMinW, PowerMaxW].
func (g *GPU) SetPowerLimitW(w float64) error {
	p := g.phys.prof
	if !(w >= p.PowerMinW && w <= p.PowerMaxW) {
		return fmt.Errorf("power limit %g W outside %s's allowed %g–%g W", w, p.Name, p.PowerMinW, p.PowerMaxW)
	}
	g.limitW = w
	// A capped clock in the cache was solved for the old limit.
	g.last.valid = false
	return nil
}

// PowerLimitW is the board power limit in effect.
func (g *GPU) PowerLimitW() float64 { return g.limitW }
