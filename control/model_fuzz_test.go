package control

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzRestoreModel: no model file content panics loading it or restoring it
// into the real gputune policy; a file that fails either is refused with an
// error, never half-applied silently.
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
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "m.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		e, err := LoadModel(path, r.gpu.Facts().Name, time.Unix(1_700_000_000, 0))
		if err != nil {
			return
		}
		fresh := newLearningLoop(t, newRig(t, nil, false), "")
		_ = fresh.Restore(e)
	})
}
