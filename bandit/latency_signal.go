package bandit

// LatencySignal says whether the inference server exports a latency signal
// (TTFT or TPOT) at all. A limit on a signal that has never been observed
// is the one place where the policy must guess, so the guess is explicit:
//
//   - SignalPresent: the server exports it, data will come once requests
//     finish. Until the first observation the latency is unknown, so every
//     arm is unsafe and the policy holds the highest clock, for as long as
//     it takes: an unknown latency is never assumed to be fine.
//   - SignalAbsent: the server cannot report it, so the policy cannot
//     enforce the limit; it is not applied (the control loop, which said
//     so, is the one to warn the user).
//   - SignalUnknown (the default, when the caller does not say): hold the
//     highest clock for the first latencyBlindRounds valid windows, then
//     conclude that the signal does not exist and stop enforcing that limit
//     until it is first observed. This keeps a server without the metric
//     from pinning the GPU at its highest clock for ever.
//
// Once a signal has been observed its model decides, whatever was declared.
type LatencySignal int

const (
	SignalUnknown LatencySignal = iota
	SignalPresent
	SignalAbsent
)

// LatencySignaller is implemented by policies that can be told which latency
// signals the server exports (gputune). It is separate from Policy so that
// existing Policy implementations stay valid; callers type-assert.
type LatencySignaller interface {
	SetLatencySignals(ttft, tpot LatencySignal)
}

// SetLatencySignals records which latency signals the server exports. It
// describes the server, not what was learned, so Reset keeps it.
func (t *gputune) SetLatencySignals(ttft, tpot LatencySignal) {
	if ttft >= SignalUnknown && ttft <= SignalAbsent {
		t.ttftSignal = ttft
	}
	if tpot >= SignalUnknown && tpot <= SignalAbsent {
		t.tpotSignal = tpot
	}
}

// blindBlocks reports whether a limit on a never-observed signal makes every
// arm unsafe now (see LatencySignal).
func blindBlocks(limit float64, observed bool, sig LatencySignal, round int) bool {
	if limit <= 0 || observed {
		return false
	}
	switch sig {
	case SignalPresent:
		return true
	case SignalAbsent:
		return false
	default:
		return round < latencyBlindRounds
	}
}
