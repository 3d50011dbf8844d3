package restore

import (
	"encoding/json"
	"testing"
)

// FuzzParseState: no state file content panics the decoder or the owner
// check (which reads /proc for whatever pid the file names and never
// signals); an accepted state round-trips through its encoding.
func FuzzParseState(f *testing.F) {
	f.Add([]byte(`{"pid":12,"supervisor_pid":11,"gpu_index":0,"gpu_uuid":"GPU-x","core_locked_mhz":1200,"mem_locked_mhz":0,"started":"2026-12-07T00:00:00Z","updated":"2026-12-07T00:00:00Z","start_ticks":123,"boot_id":"b"}`))
	f.Add([]byte(`{"pid":12,"gpu_uuid":"GPU-x","core_locked_mhz":1200}`))
	f.Add([]byte(`{"pid":-1,"core_locked_mhz":1e99}`))
	f.Add([]byte(`{"pid":1,"start_ticks":1}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseState(data)
		if err != nil {
			return
		}
		_ = st.Locked()
		_ = validUUID(st.GPUUUID)
		_ = verifyOwner(st)
		enc, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseState(enc)
		if err != nil || !again.Started.Equal(st.Started) || !again.Updated.Equal(st.Updated) {
			t.Fatalf("round trip: %+v -> %+v (%v)", st, again, err)
		}
		again.Started, again.Updated = st.Started, st.Updated
		if again != st {
			t.Fatalf("round trip: %+v -> %+v", st, again)
		}
	})
}
