package control

import (
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/internal/buildinfo"
	"github.com/gputune/gputune/internal/printable"
	"github.com/gputune/gputune/internal/safefile"
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
	l.st.baseline.Target = l.cfg.WarmupWindows
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
	if err := safefile.Write(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("saving model: %w", err)
	}
	return nil
}

// MaxModelBytes bounds a model file read: a real one is under 1 MB (an
// H100's gputune model is about 0.5 MB), and a larger file is not loaded
// whole into a root process.
const MaxModelBytes = 16 << 20

// ErrNoModel: there is no saved model yet (a fresh start, not an error to
// report).
var ErrNoModel = errors.New("no saved model")

// LoadModel reads an envelope. A corrupt or foreign file is moved aside
// under a new name (never deleted: nothing is lost) and the error says where.
func LoadModel(path, gpuModel string, now time.Time) (bandit.Envelope, error) {
	data, err := safefile.Read(path, MaxModelBytes)
	if errors.Is(err, os.ErrNotExist) {
		return bandit.Envelope{}, ErrNoModel
	}
	if err != nil && !errors.Is(err, safefile.ErrTooLarge) {
		return bandit.Envelope{}, fmt.Errorf("reading model %s: %w", path, err)
	}
	var e bandit.Envelope
	if err == nil {
		e, err = bandit.UnmarshalEnvelope(data)
		// The file's names reach logs and the screen: printable only. A
		// GPU model name that changes here no longer matches, and is refused.
		e.GPUModel = printable.String(e.GPUModel, 256)
		e.ServedModel = printable.String(e.ServedModel, 256)
	}
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

// ServedModelPath is where the model learned for one served model is kept
// when the server switches to another: next to path, named by the served
// model, so a switch never overwrites what was learned for the previous
// one. The name is cut to a safe length; a hash of the full name keeps two
// long names apart.
func ServedModelPath(path, served string) string {
	name := safefile.Name(served)
	if len(name) > 48 {
		name = name[:48]
	}
	h := fnv.New32a()
	h.Write([]byte(served))
	return fmt.Sprintf("%s.served-%s-%08x.json", strings.TrimSuffix(path, ".json"), name, h.Sum32())
}

// maxServedModels bounds the per-served-model files kept next to one
// model: a server whose model name changes at every scrape must not fill
// the disk.
const maxServedModels = 8

// pruneServedModels deletes the oldest per-served-model files of path
// beyond maxServedModels.
func pruneServedModels(path string) error {
	matches, err := filepath.Glob(strings.TrimSuffix(path, ".json") + ".served-*.json")
	if err != nil || len(matches) <= maxServedModels {
		return err
	}
	type aged struct {
		name string
		mod  time.Time
	}
	files := make([]aged, 0, len(matches))
	for _, m := range matches {
		if fi, err := os.Lstat(m); err == nil && fi.Mode().IsRegular() {
			files = append(files, aged{m, fi.ModTime()})
		}
	}
	slices.SortFunc(files, func(a, b aged) int { return a.mod.Compare(b.mod) })
	var errs []error
	for _, f := range files[:max(len(files)-maxServedModels, 0)] {
		if err := os.Remove(f.name); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
