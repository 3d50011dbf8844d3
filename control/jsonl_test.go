package control

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/gputune/gputune/bandit"
)

// The line written to stdout and the decision log is encoded once; it must
// be exactly what a json.Encoder writes (one object, one newline), with
// unmeasured numbers as null.
func TestMarshalJSONLine(t *testing.T) {
	s := Snapshot{
		Time: time.Date(2026, 11, 27, 1, 2, 3, 0, time.UTC), Round: 7, Mode: ModeExploit, Actuation: ActAuto,
		FreqMHz: 990, SMClockMHz: 990, PowerW: math.NaN(), EnergyJ: 92.5, Tokens: 310,
		Features: []Feature{{Name: "bias", Raw: 1}},
		Arms:     []bandit.ArmScore{{Arm: bandit.Arm{SMMHz: 990}, Pred: 0.1, UCB: math.Inf(1)}},
	}
	line, err := MarshalJSONLine(s)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := json.NewEncoder(&want).Encode(ToJSONLine(s)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(line, want.Bytes()) {
		t.Fatalf("line differs from the encoder's:\n got %s\nwant %s", line, want.Bytes())
	}
	if bytes.Count(line, []byte("\n")) != 1 || line[len(line)-1] != '\n' {
		t.Fatalf("want exactly one trailing newline: %q", line)
	}
	var back map[string]any
	if err := json.Unmarshal(line, &back); err != nil {
		t.Fatalf("not one JSON object: %v", err)
	}
	if back["power_w"] != nil {
		t.Errorf("an unmeasured power is %v, want null", back["power_w"])
	}
}

// A clock not measured yet (the first line, a cut-short last one) is null,
// never 0 MHz.
func TestJSONLineUnmeasuredClocksAreNull(t *testing.T) {
	for _, tt := range []struct {
		sm, mem int
		want    string
	}{
		{0, 0, `"sm_clock_mhz":null,"mem_clock_mhz":null`},
		{1410, 0, `"sm_clock_mhz":1410,"mem_clock_mhz":null`},
		{1410, 2619, `"sm_clock_mhz":1410,"mem_clock_mhz":2619`},
	} {
		line, err := MarshalJSONLine(Snapshot{SMClockMHz: tt.sm, MemClockMHz: tt.mem})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(line, []byte(tt.want)) {
			t.Errorf("sm %d, mem %d: want %s in %s", tt.sm, tt.mem, tt.want, line)
		}
	}
}
