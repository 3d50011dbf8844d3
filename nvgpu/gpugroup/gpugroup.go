// Package gpugroup makes the GPUs of one tensor-parallel server look like a
// single GPU to the control loop: every lock goes to every member, so they
// always run the same clock, and energy and power are summed, so the reward
// is the whole server's. A TP server runs at the pace of its slowest GPU, so
// the group's measured clock is the lowest member's.
package gpugroup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gputune/gputune/nvgpu"
)

// ErrMixedGroup: the members are not all the same GPU model.
var ErrMixedGroup = errors.New("a GPU group must be GPUs of one model")

// Group is a Reader and Controller over its members.
type Group struct {
	readers []nvgpu.Reader
	ctls    []nvgpu.Controller
	facts   nvgpu.Facts
}

var (
	_ nvgpu.Reader     = (*Group)(nil)
	_ nvgpu.Controller = (*Group)(nil)
)

// New groups readers; ctls is nil for a read-only group, else one
// controller per reader, in the same order.
func New(readers []nvgpu.Reader, ctls []nvgpu.Controller) (*Group, error) {
	if len(readers) == 0 {
		return nil, errors.New("gpugroup: a group needs at least one GPU")
	}
	if ctls != nil && len(ctls) != len(readers) {
		return nil, fmt.Errorf("gpugroup: %d controllers for %d GPUs", len(ctls), len(readers))
	}
	facts, err := groupFacts(readers)
	if err != nil {
		return nil, err
	}
	return &Group{readers: readers, ctls: ctls, facts: facts}, nil
}

// groupFacts is the first member's identity (its index labels the group;
// the UUIDs joined with "+" key its model), the clocks every member
// supports, and the members' power limits summed.
func groupFacts(readers []nvgpu.Reader) (nvgpu.Facts, error) {
	f := readers[0].Facts()
	uuids := []string{f.UUID}
	for _, r := range readers[1:] {
		m := r.Facts()
		if m.Name != f.Name {
			return f, fmt.Errorf("%w: GPU %d is %q, GPU %d is %q", ErrMixedGroup, f.Index, f.Name, m.Index, m.Name)
		}
		uuids = append(uuids, m.UUID)
		f.CoreClocksMHz = intersect(f.CoreClocksMHz, m.CoreClocksMHz)
		f.MemClocksMHz = intersect(f.MemClocksMHz, m.MemClocksMHz)
		f.MemLockSupported = f.MemLockSupported && m.MemLockSupported
		f.PowerLimitW += m.PowerLimitW
		f.PowerMinW += m.PowerMinW
		f.PowerMaxW += m.PowerMaxW
		f.EnergyCounter = f.EnergyCounter && m.EnergyCounter
		f.InstantPower = f.InstantPower && m.InstantPower
		f.Simulated = f.Simulated || m.Simulated
	}
	if len(f.CoreClocksMHz) == 0 && len(readers) > 1 {
		return f, fmt.Errorf("%w: the GPUs share no supported core clock", ErrMixedGroup)
	}
	f.UUID = strings.Join(uuids, "+")
	return f, nil
}

func intersect(a, b []int) []int {
	var out []int
	for _, v := range a {
		if slices.Contains(b, v) {
			out = append(out, v)
		}
	}
	return out
}

// Facts describes the group as one GPU.
func (g *Group) Facts() nvgpu.Facts {
	return g.facts.Clone()
}

// Sample reads every member: the lowest clocks, summed power, the hottest
// die, the mean utilisation and every member's event reasons.
func (g *Group) Sample(ctx context.Context) (nvgpu.Sample, error) {
	var out nvgpu.Sample
	for i, r := range g.readers {
		s, err := r.Sample(ctx)
		if err != nil {
			return nvgpu.Sample{}, fmt.Errorf("group member %d: %w", i, err)
		}
		if i == 0 || s.SMClockMHz < out.SMClockMHz {
			out.SMClockMHz = s.SMClockMHz
		}
		if i == 0 || s.MemClockMHz < out.MemClockMHz {
			out.MemClockMHz = s.MemClockMHz
		}
		out.PowerAvgW += s.PowerAvgW
		out.TempC = max(out.TempC, s.TempC)
		out.UtilGPU += s.UtilGPU / float64(len(g.readers))
		out.EventReason |= s.EventReason
	}
	return out, nil
}

// InstantPower is the members' sum, stamped with the oldest member read.
func (g *Group) InstantPower(ctx context.Context) (nvgpu.PowerReading, error) {
	var out nvgpu.PowerReading
	var at time.Time
	for i, r := range g.readers {
		p, err := r.InstantPower(ctx)
		if err != nil {
			return nvgpu.PowerReading{}, fmt.Errorf("group member %d: %w", i, err)
		}
		out.MilliWatts += p.MilliWatts
		if i == 0 || p.At.Before(at) {
			at = p.At
		}
	}
	out.At = at
	return out, nil
}

// EnergyCounter is the members' counters summed, in mJ.
func (g *Group) EnergyCounter(ctx context.Context) (uint64, error) {
	var sum uint64
	for i, r := range g.readers {
		mj, err := r.EnergyCounter(ctx)
		if err != nil {
			return 0, fmt.Errorf("group member %d: %w", i, err)
		}
		sum += mj
	}
	return sum, nil
}

// LockCoreClock locks every member. If one refuses, every member is reset,
// so the group never runs at two clocks, and the refusal is returned (so
// errors.Is(err, nvgpu.ErrNoPermission) still works).
func (g *Group) LockCoreClock(ctx context.Context, mhz int) error {
	return g.all(func(c nvgpu.Controller) error { return c.LockCoreClock(ctx, mhz) },
		func(c nvgpu.Controller) error { return c.ResetCoreClock(ctx) })
}

// ResetCoreClock resets every member, carrying on past failures.
func (g *Group) ResetCoreClock(ctx context.Context) error {
	return g.each(func(c nvgpu.Controller) error { return c.ResetCoreClock(ctx) })
}

// LockMemClock locks every member's memory clock, like LockCoreClock.
func (g *Group) LockMemClock(ctx context.Context, mhz int) error {
	return g.all(func(c nvgpu.Controller) error { return c.LockMemClock(ctx, mhz) },
		func(c nvgpu.Controller) error { return c.ResetMemClock(ctx) })
}

// ResetMemClock resets every member's memory clock.
func (g *Group) ResetMemClock(ctx context.Context) error {
	return g.each(func(c nvgpu.Controller) error { return c.ResetMemClock(ctx) })
}

var errReadOnly = errors.New("gpugroup: read-only group has no controllers")

func (g *Group) all(lock, reset func(nvgpu.Controller) error) error {
	if g.ctls == nil {
		return errReadOnly
	}
	for i, c := range g.ctls {
		if err := lock(c); err != nil {
			err = fmt.Errorf("group member %d: %w", i, err)
			if rerr := g.each(reset); rerr != nil {
				err = errors.Join(err, fmt.Errorf("resetting the group after a refused lock: %w", rerr))
			}
			return err
		}
	}
	return nil
}

func (g *Group) each(op func(nvgpu.Controller) error) error {
	if g.ctls == nil {
		return errReadOnly
	}
	var errs []error
	for i, c := range g.ctls {
		if err := op(c); err != nil {
			errs = append(errs, fmt.Errorf("group member %d: %w", i, err))
		}
	}
	return errors.Join(errs...)
}
