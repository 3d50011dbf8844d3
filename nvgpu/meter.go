package nvgpu

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// Errors returned by Meter.Energy.
var (
	// ErrNoPowerData: the window is not covered by instant-power readings
	// (none yet, evicted from the ring, or the readings stopped).
	ErrNoPowerData = errors.New("no instant-power readings cover the window")
	// ErrBadWindow: end is not after start.
	ErrBadWindow = errors.New("energy window end must be after its start")
)

// MeterConfig tunes the window energy Meter. The zero value of every field
// means its default (see DefaultMeterConfig).
type MeterConfig struct {
	// Capacity is how many instant-power steps the ring keeps. H100 field
	// 186 steps every ~100 ms, so 4096 steps hold ~400 s of history.
	Capacity int
	// Lag is how long before it is first seen a new field-186 value began to
	// hold. The value is an average over the sensor period that just ended,
	// so it describes the past; 70 ms was fitted on samples2.csv and
	// confirmed on samples.csv (both best between 60 and 80 ms).
	Lag time.Duration
	// StepPeriod is the sensor's update period (~100 ms on H100); it sizes
	// the part of the error bound that comes from unseen power between steps.
	StepPeriod time.Duration
	// MaxGap is the longest gap between readings the meter bridges; a
	// window reaching further past the last reading is refused.
	MaxGap time.Duration
	// CalibrationSpan is how far back counter reads are used to compute the
	// gain between the integrated instant power and the energy counter.
	CalibrationSpan time.Duration
	// MinCalibrationSpan is the shortest counter span trusted for a gain:
	// each end of a span is uncertain by one counter step (~100 ms of
	// power), so a 10 s span bounds the gain error to ~2%.
	MinCalibrationSpan time.Duration
	// CounterLag is the mean age of the energy counter's value when read:
	// it steps every ~100 ms, so on average it is ~50 ms old.
	CounterLag time.Duration
}

// DefaultMeterConfig is tuned on the H100 probe traces.
func DefaultMeterConfig() MeterConfig {
	return MeterConfig{
		Capacity:           4096,
		Lag:                70 * time.Millisecond,
		StepPeriod:         100 * time.Millisecond,
		MaxGap:             500 * time.Millisecond,
		CalibrationSpan:    60 * time.Second,
		MinCalibrationSpan: 10 * time.Second,
		CounterLag:         50 * time.Millisecond,
	}
}

// Constants of the error bound, fitted on the probe traces (see
// docs/energy-window.md): a relative floor for sensor noise and gain error,
// a share of every power step near the window (its timing inside the
// sensor period is unknown), and a timing term for the window edges.
const (
	boundRelative   = 0.01
	boundStepShare  = 0.5
	boundEdgeTiming = 10 * time.Millisecond
	gainMin         = 0.8
	gainMax         = 1.25
)

// powerStep is one constant-power segment starting at startNs.
type powerStep struct {
	startNs int64
	watts   float64
	// cumJ is the raw (uncalibrated) integral from the first step to startNs.
	cumJ float64
}

// counterRead is one energy-counter read with the raw integral at the time
// the counter value most likely describes.
type counterRead struct {
	atNs int64
	mJ   uint64
	rawJ float64
}

// Meter turns cheap instant-power readings (NVML field 186) into the energy
// of short windows. It integrates the readings as a step function between
// their change times and scales the result by a gain calibrated against
// occasional energy-counter reads. It has no clock of its own: the caller
// feeds it readings with their times, so the simulator can drive it in
// virtual time. It keeps bounded memory, allocates nothing per reading, and
// is safe for concurrent use.
type Meter struct {
	mu  sync.Mutex
	cfg MeterConfig

	steps      []powerStep // ring
	head, size int         // head: index of the oldest step

	lastObsNs   int64
	lastMW      uint32
	haveReading bool

	counters           []counterRead // ring
	cHead, cSize       int
	gain               float64
	gainSpanNs         int64
	counterResets      int
	meanObsGapNs       float64
	observationsBehind int
}

// NewMeter builds a Meter; zero fields of cfg take their defaults.
func NewMeter(cfg MeterConfig) (*Meter, error) {
	def := DefaultMeterConfig()
	if cfg.Capacity == 0 {
		cfg.Capacity = def.Capacity
	}
	if cfg.Lag == 0 {
		cfg.Lag = def.Lag
	}
	if cfg.StepPeriod == 0 {
		cfg.StepPeriod = def.StepPeriod
	}
	if cfg.MaxGap == 0 {
		cfg.MaxGap = def.MaxGap
	}
	if cfg.CalibrationSpan == 0 {
		cfg.CalibrationSpan = def.CalibrationSpan
	}
	if cfg.MinCalibrationSpan == 0 {
		cfg.MinCalibrationSpan = def.MinCalibrationSpan
	}
	if cfg.CounterLag == 0 {
		cfg.CounterLag = def.CounterLag
	}
	switch {
	case cfg.Capacity < 16:
		return nil, fmt.Errorf("meter capacity %d too small: keep at least 16 power steps", cfg.Capacity)
	case cfg.Lag < 0 || cfg.StepPeriod < 0 || cfg.MaxGap < 0 || cfg.CounterLag < 0:
		return nil, fmt.Errorf("meter durations must not be negative: %+v", cfg)
	case cfg.MinCalibrationSpan > cfg.CalibrationSpan:
		return nil, fmt.Errorf("meter MinCalibrationSpan %v is longer than CalibrationSpan %v", cfg.MinCalibrationSpan, cfg.CalibrationSpan)
	}
	// Counter reads every ~2 s over the span, with head-room for faster reads.
	nCounters := int(cfg.CalibrationSpan/(250*time.Millisecond)) + 2
	return &Meter{
		cfg:      cfg,
		steps:    make([]powerStep, cfg.Capacity),
		counters: make([]counterRead, nCounters),
		gain:     1,
	}, nil
}

// Observe records one instant-power reading. Readings must come in time
// order; one older than the last is ignored (it cannot be placed).
func (m *Meter) Observe(r PowerReading) {
	t := r.At.UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.haveReading {
		m.pushStep(t-int64(m.cfg.Lag), float64(r.MilliWatts)/1000)
		m.lastObsNs, m.lastMW, m.haveReading = t, r.MilliWatts, true
		return
	}
	if t < m.lastObsNs {
		m.observationsBehind++
		return
	}
	gap := float64(t - m.lastObsNs)
	if m.meanObsGapNs == 0 {
		m.meanObsGapNs = gap
	} else {
		m.meanObsGapNs += (gap - m.meanObsGapNs) / 64
	}
	if r.MilliWatts != m.lastMW {
		// The change happened between the two readings; the midpoint is the
		// unbiased guess, and the value describes the period before it.
		start := m.lastObsNs + (t-m.lastObsNs)/2 - int64(m.cfg.Lag)
		last := m.newest()
		if start < last.startNs {
			start = last.startNs
		}
		m.pushStep(start, float64(r.MilliWatts)/1000)
		m.lastMW = r.MilliWatts
	}
	m.lastObsNs = t
}

// ObserveCounter records one energy-counter read (mJ since driver load) and
// updates the gain. A decrease means the driver reloaded: calibration
// restarts.
func (m *Meter) ObserveCounter(t time.Time, mJ uint64) {
	at := t.UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.haveReading {
		return // nothing to calibrate against yet
	}
	if m.cSize > 0 {
		prev := m.counters[(m.cHead+m.cSize-1)%len(m.counters)]
		if mJ < prev.mJ || at <= prev.atNs {
			m.cHead, m.cSize = 0, 0
			m.counterResets++
		}
	}
	describes := at - int64(m.cfg.CounterLag)
	raw, ok := m.rawAt(describes)
	if !ok {
		return
	}
	if m.cSize == len(m.counters) {
		m.cHead = (m.cHead + 1) % len(m.counters)
		m.cSize--
	}
	m.counters[(m.cHead+m.cSize)%len(m.counters)] = counterRead{atNs: at, mJ: mJ, rawJ: raw}
	m.cSize++
	// Drop reads older than the span, keeping one at or past its edge.
	for m.cSize > 2 && at-m.counters[(m.cHead+1)%len(m.counters)].atNs >= int64(m.cfg.CalibrationSpan) {
		m.cHead = (m.cHead + 1) % len(m.counters)
		m.cSize--
	}
	first := m.counters[m.cHead]
	span := at - first.atNs
	if span < int64(m.cfg.MinCalibrationSpan) {
		return
	}
	dRaw := raw - first.rawJ
	if dRaw <= 0 {
		return
	}
	g := float64(mJ-first.mJ) / 1000 / dRaw
	m.gain = math.Min(gainMax, math.Max(gainMin, g))
	m.gainSpanNs = span
}

// Energy returns the energy in joules used in [start, end], and a bound on
// its error (see docs/energy-window.md for how often it holds). The part of
// the window in the last Lag before the newest reading is extrapolated from
// the newest value; asking for a window that ends Lag in the past avoids it.
func (m *Meter) Energy(start, end time.Time) (joules, errBoundJ float64, err error) {
	s, e := start.UnixNano(), end.UnixNano()
	if e <= s {
		return 0, 0, fmt.Errorf("%w: start %v, end %v", ErrBadWindow, start, end)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.haveReading {
		return 0, 0, fmt.Errorf("%w: no readings yet", ErrNoPowerData)
	}
	if e > m.lastObsNs+int64(m.cfg.MaxGap) {
		return 0, 0, fmt.Errorf("%w: window ends %v after the last reading", ErrNoPowerData, time.Duration(e-m.lastObsNs))
	}
	rs, ok1 := m.rawAt(s)
	re, ok2 := m.rawAt(e)
	if !ok1 || !ok2 {
		return 0, 0, fmt.Errorf("%w: window starts before the oldest kept reading", ErrNoPowerData)
	}
	joules = m.gain * (re - rs)
	sec := float64(e-s) / 1e9
	meanW := joules / sec
	stepSum := m.stepSumIn(s-int64(m.cfg.StepPeriod), e+int64(m.cfg.StepPeriod))
	edge := boundEdgeTiming.Seconds()
	if half := m.meanObsGapNs / 2 / 1e9; half > edge {
		edge = half
	}
	errBoundJ = boundRelative*math.Abs(joules) +
		boundStepShare*m.gain*stepSum*m.cfg.StepPeriod.Seconds() +
		2*edge*math.Abs(meanW)
	return joules, errBoundJ, nil
}

// Gain is the current counter/instant calibration factor (1 until the
// counter has been read over MinCalibrationSpan).
func (m *Meter) Gain() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gain
}

// MeterStats is a snapshot of the meter's health for logs and the TUI.
type MeterStats struct {
	Gain          float64       `json:"gain"`
	GainSpan      time.Duration `json:"gain_span_ns"`
	Steps         int           `json:"steps"`
	CounterReads  int           `json:"counter_reads"`
	CounterResets int           `json:"counter_resets"`
	OutOfOrder    int           `json:"out_of_order"`
	MeanObsGap    time.Duration `json:"mean_obs_gap_ns"`
}

// Stats reports the meter's state.
func (m *Meter) Stats() MeterStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return MeterStats{
		Gain: m.gain, GainSpan: time.Duration(m.gainSpanNs), Steps: m.size,
		CounterReads: m.cSize, CounterResets: m.counterResets,
		OutOfOrder: m.observationsBehind, MeanObsGap: time.Duration(m.meanObsGapNs),
	}
}

func (m *Meter) at(i int) *powerStep { return &m.steps[(m.head+i)%len(m.steps)] }

func (m *Meter) newest() *powerStep { return m.at(m.size - 1) }

func (m *Meter) pushStep(startNs int64, watts float64) {
	var cum float64
	if m.size > 0 {
		last := m.newest()
		cum = last.cumJ + last.watts*float64(startNs-last.startNs)/1e9
	}
	if m.size == len(m.steps) {
		m.head = (m.head + 1) % len(m.steps)
		m.size--
	}
	m.steps[(m.head+m.size)%len(m.steps)] = powerStep{startNs: startNs, watts: watts, cumJ: cum}
	m.size++
}

// find returns the index (0 = oldest) of the last step starting at or
// before t, or -1 when t is before the oldest step.
func (m *Meter) find(t int64) int {
	lo, hi := 0, m.size // invariant: steps[<lo] start <= t, steps[>=hi] start > t
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if m.at(mid).startNs <= t {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1
}

// rawAt is the uncalibrated integral from the first step to t.
func (m *Meter) rawAt(t int64) (float64, bool) {
	i := m.find(t)
	if i < 0 {
		return 0, false
	}
	st := m.at(i)
	return st.cumJ + st.watts*float64(t-st.startNs)/1e9, true
}

// stepSumIn adds the size of every power step starting in [from, to].
func (m *Meter) stepSumIn(from, to int64) float64 {
	i := m.find(from) + 1
	if i < 1 {
		i = 1
	}
	var sum float64
	for ; i < m.size; i++ {
		st := m.at(i)
		if st.startNs > to {
			break
		}
		sum += math.Abs(st.watts - m.at(i-1).watts)
	}
	return sum
}
