package bandit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// EnvelopeVersion is the current model-file format.
const EnvelopeVersion = 1

// ErrWrongModel is returned by Envelope.Check for a model saved for
// another GPU model or served model.
var ErrWrongModel = errors.New("bandit: model was learned for another GPU or served model")

// Meta is the summary the control loop and the TUI read without decoding
// the policy state.
type Meta struct {
	Phase          string `json:"phase"`
	Converged      bool   `json:"converged"`
	ConvergedRound int    `json:"converged_round"`
	Rounds         int    `json:"rounds"`
}

// Envelope is the whole persisted model: what the control loop writes to
// disk. The package does no file I/O itself.
type Envelope struct {
	FormatVersion int `json:"format_version"`
	// GputuneVersion is the gputune that wrote the file ("v0.2.0 (commit
	// …)"): informative only, never checked on load.
	GputuneVersion string          `json:"gputune_version,omitempty"`
	GPUModel       string          `json:"gpu_model"`
	ServedModel    string          `json:"served_model"`
	Policy         string          `json:"policy"`
	PolicyState    json.RawMessage `json:"policy_state"`
	Normaliser     Normaliser      `json:"normaliser"`
	RewardBaseline RewardBaseline  `json:"reward_baseline"`
	Meta           Meta            `json:"meta"`
}

// NewEnvelope packs a policy with its normaliser and baseline.
func NewEnvelope(gpuModel, servedModel string, p Policy, n *Normaliser, b RewardBaseline, phase string) (Envelope, error) {
	state, err := p.MarshalState()
	if err != nil {
		return Envelope{}, err
	}
	conv, round := p.Converged()
	e := Envelope{
		FormatVersion: EnvelopeVersion, GPUModel: gpuModel, ServedModel: servedModel,
		Policy: p.Name(), PolicyState: state, RewardBaseline: b,
		Meta: Meta{Phase: phase, Converged: conv, ConvergedRound: round, Rounds: p.Round()},
	}
	if n != nil {
		e.Normaliser = Normaliser{Clip: n.Clip, Stats: append([]Welford(nil), n.Stats...)}
	}
	return e, e.Validate()
}

// Check refuses a model learned for another GPU model or served model.
func (e Envelope) Check(gpuModel, servedModel string) error {
	if e.GPUModel != gpuModel {
		return fmt.Errorf("%w: saved for GPU %q, this GPU is %q; delete the model file or use --reset-model", ErrWrongModel, e.GPUModel, gpuModel)
	}
	if e.ServedModel != servedModel {
		return fmt.Errorf("%w: saved for served model %q, the server runs %q; delete the model file or use --reset-model", ErrWrongModel, e.ServedModel, servedModel)
	}
	return nil
}

// Validate checks the envelope's own fields (not the policy state, which
// the policy's UnmarshalState checks).
func (e Envelope) Validate() error {
	switch {
	case e.FormatVersion != EnvelopeVersion:
		return fmt.Errorf("%w: model format version %d, this build reads %d", ErrState, e.FormatVersion, EnvelopeVersion)
	case e.GPUModel == "":
		return fmt.Errorf("%w: model has no gpu_model", ErrState)
	case e.Policy != PolicyGPUTune && e.Policy != PolicyAGFT:
		return fmt.Errorf("%w: model policy %q, want %q or %q", ErrState, e.Policy, PolicyGPUTune, PolicyAGFT)
	case len(e.PolicyState) == 0:
		return fmt.Errorf("%w: model has no policy_state", ErrState)
	case e.Meta.Rounds < 0 || e.Meta.ConvergedRound < 0:
		return fmt.Errorf("%w: negative round counts in meta", ErrState)
	}
	if err := e.Normaliser.validate(); err != nil {
		return err
	}
	return e.RewardBaseline.validate()
}

// MarshalEnvelope validates and encodes an envelope as indented JSON.
func MarshalEnvelope(e Envelope) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("bandit: marshal model: %w", err)
	}
	return b, nil
}

// UnmarshalEnvelope decodes and validates an envelope. Unknown fields are
// refused so a file from a newer build fails loudly rather than silently.
func UnmarshalEnvelope(data []byte) (Envelope, error) {
	var e Envelope
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Envelope{}, fmt.Errorf("%w: model file is not valid JSON (%w); it may be truncated", ErrState, err)
	}
	if err := e.Validate(); err != nil {
		return Envelope{}, err
	}
	return e, nil
}

// Restore loads the envelope's policy state into p after checking that
// it is the same policy.
func (e Envelope) Restore(p Policy) error {
	if p.Name() != e.Policy {
		return fmt.Errorf("%w: model holds policy %q, the loop runs %q", ErrState, e.Policy, p.Name())
	}
	return p.UnmarshalState(e.PolicyState)
}
