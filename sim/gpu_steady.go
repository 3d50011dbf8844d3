package sim

import (
	"fmt"
	"time"
)

// SteadyPoint is the simulated GPU running one Work over and over at a
// clock lock until the temperature settles: what a long static-clock sweep
// would measure.
type SteadyPoint struct {
	ClockMHz float64       // SM clock in effect (below the lock when capped)
	PowerW   float64       // board power
	MemW     float64       // memory-domain power
	Step     time.Duration // time per Work
	TempC    float64
	Capped   bool // the power cap held the clock below the lock
}

// SteadyState evaluates w at lockMHz (0: the default governor, max boost)
// for a profile and parameter set. It is for sweeps and tables, not the
// per-step path.
func SteadyState(profile, params string, w Work, lockMHz int) (SteadyPoint, error) {
	prof, err := LookupProfile(profile)
	if err != nil {
		return SteadyPoint{}, err
	}
	set, err := LookupParams(params)
	if err != nil {
		return SteadyPoint{}, err
	}
	if lockMHz == 0 {
		lockMHz = prof.MaxCoreMHz
	}
	if !prof.SupportsCoreClock(lockMHz) {
		return SteadyPoint{}, fmt.Errorf("sim %s: SM clock %d MHz is not one of %d–%d MHz in %d MHz steps",
			prof.Name, lockMHz, prof.MinCoreMHz, prof.MaxCoreMHz, prof.CoreStepMHz)
	}
	m := newPhysics(prof, set)
	th := prof.Thermal
	mem := prof.DefaultMemMHz()
	var pt SteadyPoint
	t := th.AmbientC
	for range 40 { // leakage and temperature settle together
		f, capped := m.capClock(w, float64(lockMHz), mem, t, prof.PowerLimitW)
		p, mw := m.powerFor(w, f, mem, t)
		pt = SteadyPoint{ClockMHz: f, PowerW: p, MemW: mw, TempC: t, Capped: capped,
			Step: time.Duration(m.stepSeconds(w, f, mem) * float64(time.Second))}
		t = th.AmbientC + (th.RSinkAmbient+th.RDieSink)*p
	}
	return pt, nil
}

// PowerAt is the board power running w at a clock with the die at tempC:
// what a GPU draws before its temperature has settled (leakage follows the
// die temperature, and the heat sink takes about a minute to follow a
// change of load).
func PowerAt(profile, params string, w Work, mhz int, tempC float64) (float64, error) {
	prof, err := LookupProfile(profile)
	if err != nil {
		return 0, err
	}
	set, err := LookupParams(params)
	if err != nil {
		return 0, err
	}
	m := newPhysics(prof, set)
	p, _ := m.powerFor(w, float64(mhz), prof.DefaultMemMHz(), tempC)
	return p, nil
}
