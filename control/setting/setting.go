// Package setting holds the loop's settings that are written as text (in
// tuner.toml, on the command line) and read as types: the policy and the
// TPOT source. It parses each once, here, for the configuration's
// validation and for the loop's assembly alike; it imports nothing of
// gputune, so both can use it.
package setting

import (
	"fmt"
	"strconv"
	"strings"
)

// PolicyKind names how clocks are chosen.
type PolicyKind string

// The policy kinds. GPUTune and AGFT learn (a bandit.Policy chooses the
// clock); Default leaves the clock to the driver's governor; Static locks
// one clock.
const (
	PolicyGPUTune PolicyKind = "gputune"
	PolicyAGFT    PolicyKind = "agft"
	PolicyDefault PolicyKind = "default"
	PolicyStatic  PolicyKind = "static"
)

// Learns reports whether the kind needs a learning policy.
func (k PolicyKind) Learns() bool { return k == PolicyGPUTune || k == PolicyAGFT }

// Policy is a parsed control.policy: its kind, and for Static the clock.
type Policy struct {
	Kind PolicyKind
	MHz  int // Static's core clock; 0 for the other kinds
}

// String writes the policy the way ParsePolicy reads it.
func (p Policy) String() string {
	if p.Kind == PolicyStatic {
		return "static:" + strconv.Itoa(p.MHz)
	}
	return string(p.Kind)
}

// StaticPolicy is the policy that locks mhz.
func StaticPolicy(mhz int) Policy { return Policy{Kind: PolicyStatic, MHz: mhz} }

// ParsePolicy reads "gputune", "agft", "default" or "static:MHZ".
func ParsePolicy(s string) (Policy, error) {
	switch k := PolicyKind(s); k {
	case PolicyGPUTune, PolicyAGFT, PolicyDefault:
		return Policy{Kind: k}, nil
	}
	if rest, ok := strings.CutPrefix(s, string(PolicyStatic)+":"); ok {
		n, err := strconv.Atoi(rest)
		if err != nil || n <= 0 {
			return Policy{}, fmt.Errorf("%q: static needs a clock in MHz, such as static:1500", s)
		}
		return StaticPolicy(n), nil
	}
	return Policy{}, fmt.Errorf("%q: must be gputune, agft, default or static:MHZ", s)
}

// TPOTSource says which latency the TPOT limit is checked against.
type TPOTSource string

// The TPOT sources: the gap between consecutive tokens, or each request's
// mean time per output token.
const (
	TPOTInterToken TPOTSource = "inter-token"
	TPOTPerRequest TPOTSource = "per-request"
)

// ParseTPOTSource reads "inter-token" or "per-request".
func ParseTPOTSource(s string) (TPOTSource, error) {
	switch t := TPOTSource(s); t {
	case TPOTInterToken, TPOTPerRequest:
		return t, nil
	}
	return "", fmt.Errorf("%q: must be inter-token or per-request", s)
}
