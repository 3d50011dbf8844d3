package restore

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadState: no state file content panics the reader; one it accepts
// round-trips through writeState unchanged.
func FuzzReadState(f *testing.F) {
	f.Add([]byte(`{"pid":12,"supervisor_pid":11,"gpu_index":0,"gpu_uuid":"GPU-x","core_locked_mhz":1200,"mem_locked_mhz":0,"started":"2026-12-07T00:00:00Z","updated":"2026-12-07T00:00:00Z","start_ticks":123,"boot_id":"b"}`))
	f.Add([]byte(`{"pid":12,"gpu_uuid":"GPU-x","core_locked_mhz":1200}`))
	f.Add([]byte(`{"pid":-1,"core_locked_mhz":1e99}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "GPU-x.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		st, ok, err := readState(path)
		if err != nil || !ok {
			return
		}
		_ = st.Locked()
		_ = verifyOwner(st) // never signals; must not panic on any pid
		if err := writeState(path, st); err != nil {
			t.Fatal(err)
		}
		again, ok, err := readState(path)
		if err != nil || !ok || again != st {
			t.Fatalf("round trip: %+v -> %+v (%v)", st, again, err)
		}
	})
}
