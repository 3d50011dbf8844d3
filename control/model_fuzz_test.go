package control

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gputune/gputune/bandit"
)

// FuzzRestoreModel: no model file content panics decoding it or restoring it
// into the real gputune policy.
func FuzzRestoreModel(f *testing.F) {
	r := newRig(f, nil, false)
	seedPath := filepath.Join(f.TempDir(), "seed.json")
	l := newLearningLoop(f, r, seedPath)
	for range 20 {
		r.clock.advance(300 * time.Millisecond)
		l.Cycle(f.Context())
	}
	l.saveModel(r.clock.Now())
	if b, err := os.ReadFile(seedPath); err == nil {
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte(`{"format":1}`))
	f.Add([]byte(`{"gpu_model":"Test H100","policy":"gputune","policy_state":"garbage"}`))
	fresh := newLearningLoop(f, newRig(f, nil, false), "")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > MaxModelBytes {
			return
		}
		e, err := bandit.UnmarshalEnvelope(data)
		if err != nil {
			return
		}
		fresh.d.Policy.Reset()
		_ = fresh.Restore(e)
	})
}
