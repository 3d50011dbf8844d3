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

// Every documented per-arm key is present; the held model's and the
// planner's keys are null where they do not value the arm and numbers where
// they do.
func TestJSONLineArmKeys(t *testing.T) {
	s := Snapshot{Arms: []bandit.ArmScore{
		{Arm: bandit.Arm{SMMHz: 990}, Held: 0, HeldSE: 0.01, HeldPowerW: 310, Plan: 0.02},
		{Arm: bandit.Arm{SMMHz: 1005}, Held: math.NaN(), Plan: math.NaN()},
	}}
	line, err := MarshalJSONLine(s)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Arms []map[string]any `json:"arms"`
	}
	if err := json.Unmarshal(line, &back); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"sm_mhz", "mem_mhz", "pred", "bonus", "ucb", "pulls", "last_reward", "state", "held", "held_se", "held_power_w", "plan"} {
		for i, a := range back.Arms {
			if _, ok := a[k]; !ok {
				t.Errorf("arm %d has no %q key", i, k)
			}
		}
	}
	if back.Arms[0]["held_se"] != 0.01 || back.Arms[0]["held_power_w"] != 310.0 {
		t.Errorf("valued arm: held_se %v, held_power_w %v; want 0.01 and 310", back.Arms[0]["held_se"], back.Arms[0]["held_power_w"])
	}
	if back.Arms[1]["held_se"] != nil || back.Arms[1]["held_power_w"] != nil {
		t.Errorf("unvalued arm: held_se %v, held_power_w %v; want null", back.Arms[1]["held_se"], back.Arms[1]["held_power_w"])
	}
	if back.Arms[0]["plan"] != 0.02 || back.Arms[1]["plan"] != nil {
		t.Errorf("plan: %v and %v, want 0.02 and null", back.Arms[0]["plan"], back.Arms[1]["plan"])
	}
}

// held_mhz is the policy's steady-state choice, null when it has none.
func TestJSONLineHeldMHz(t *testing.T) {
	for _, tt := range []struct {
		held int
		want string
	}{{1050, `"held_mhz":1050`}, {0, `"held_mhz":null`}} {
		line, err := MarshalJSONLine(Snapshot{Held: bandit.Arm{SMMHz: tt.held}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(line, []byte(tt.want)) {
			t.Errorf("held %d: want %s in %s", tt.held, tt.want, line)
		}
	}
}
