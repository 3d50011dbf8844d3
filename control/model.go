package control

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/internal/buildinfo"
)

// Envelope packs what the loop has learned: the policy, the feature
// normaliser and the reward baseline. Policies that learn nothing (default,
// static) have none.
func (l *Loop) Envelope() (bandit.Envelope, bool, error) {
	if l.d.Policy == nil {
		return bandit.Envelope{}, false, nil
	}
	e, err := bandit.NewEnvelope(l.facts.Name, l.servedModel, l.d.Policy, l.norm, l.st.baseline, string(l.st.mode))
	return e, true, err
}

// Restore loads a saved envelope: a restart keeps learning where it stopped,
// reward baseline included. A model for another GPU model is refused.
func (l *Loop) Restore(e bandit.Envelope) error {
	if l.d.Policy == nil {
		return fmt.Errorf("policy %s has no model to restore", l.policy)
	}
	if e.GPUModel != l.facts.Name {
		return e.Check(l.facts.Name, e.ServedModel)
	}
	if len(e.Normaliser.Stats) != NumFeatures-1 {
		return fmt.Errorf("%w: model has %d features, this build uses %d", bandit.ErrState, len(e.Normaliser.Stats), NumFeatures-1)
	}
	if err := e.Restore(l.d.Policy); err != nil {
		return err
	}
	norm := e.Normaliser
	norm.Stats = append([]bandit.Welford(nil), e.Normaliser.Stats...)
	l.norm = &norm
	l.st.baseline = e.RewardBaseline
	l.st.baseline.Target = l.cfg.Control.WarmupWindows
	l.st.round = l.d.Policy.Round()
	if l.st.baseline.Ready() {
		l.st.mode = ModeExploit // not warm-up: the baseline came with the model
	}
	l.servedModel = e.ServedModel
	return nil
}

// SaveModel writes an envelope atomically (temp file, fsync, rename) with
// mode 0600, so a crash leaves either the old model or the new one.
func SaveModel(path string, e bandit.Envelope) error {
	e.GputuneVersion = buildinfo.Read().String()
	data, err := bandit.MarshalEnvelope(e)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("saving model: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("saving model: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("saving model: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("saving model: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("saving model: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving model: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("saving model: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// ErrNoModel: there is no saved model yet (a fresh start, not an error to
// report).
var ErrNoModel = errors.New("no saved model")

// LoadModel reads an envelope. A corrupt or foreign file is moved aside
// under a new name (never deleted: nothing is lost) and the error says where.
func LoadModel(path, gpuModel string, now time.Time) (bandit.Envelope, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return bandit.Envelope{}, ErrNoModel
	}
	if err != nil {
		return bandit.Envelope{}, fmt.Errorf("reading model %s: %w", path, err)
	}
	e, err := bandit.UnmarshalEnvelope(data)
	if err == nil && e.GPUModel != gpuModel {
		err = e.Check(gpuModel, e.ServedModel)
	}
	if err != nil {
		aside := fmt.Sprintf("%s.bad-%s", path, now.UTC().Format("20060102T150405Z"))
		if rerr := os.Rename(path, aside); rerr != nil {
			return bandit.Envelope{}, fmt.Errorf("model %s is unusable (%w) and could not be moved aside: %w", path, err, rerr)
		}
		return bandit.Envelope{}, fmt.Errorf("model %s is unusable, kept as %s, starting fresh: %w", path, aside, err)
	}
	return e, nil
}

// ModelPath is where a GPU's model lives under the data folder.
func ModelPath(dataDir, gpuModelDir, gpuUUID, policy string) string {
	return filepath.Join(dataDir, "models", gpuModelDir, gpuUUID+"."+policy+".json")
}
