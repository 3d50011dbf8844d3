package bandit

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// The agft state is one flat JSON object: grouping its parts in Go must not
// move a key, or saved models stop loading.
func TestAGFTStateKeysStayFlat(t *testing.T) {
	p := newTestPolicy(t, PolicyAGFT, false)
	trainSome(p, 40)
	data, err := p.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"a", "act_n", "act_pos", "actions", "arm_edp", "arms", "b", "candidates", "config",
		"converged", "converged_round", "counts", "edp_hist", "exploit", "forced", "last_prune_check",
		"last_reward", "last_sm", "learning_done", "mode", "policy", "pruned_at", "reason", "refine_count", "reward_sum", "rng",
		"round", "slo_boundary_mhz", "slo_off", "sm_edp", "sweep", "sweep_frozen", "sweep_pos", "tpot_limit_s",
		"ttft_limit_s", "version"}
	if !slices.Equal(keys, want) {
		t.Errorf("agft state keys\n got %v\nwant %v", keys, want)
	}
}

// A malformed agft state is refused with an error that names the field.
func TestAGFTStateErrorNamesField(t *testing.T) {
	p := newTestPolicy(t, PolicyAGFT, false)
	trainSome(p, 120)
	good, _ := p.MarshalState()
	for _, tc := range []struct {
		field string
		spoil func(m map[string]any)
	}{
		{"counts", func(m map[string]any) { m["counts"] = m["counts"].([]any)[1:] }},
		{"act_pos", func(m map[string]any) { m["act_pos"] = 100 }},
		{"act_n", func(m map[string]any) { m["act_n"] = -1 }},
		{"last_sm", func(m map[string]any) { m["last_sm"] = 9999 }},
		{"sweep", func(m map[string]any) { m["sweep"] = []any{0, 100000} }},
		{"actions", func(m map[string]any) { m["actions"].([]any)[3] = -2 }},
		{"mode", func(m map[string]any) { m["mode"] = "fastest" }},
		{"round", func(m map[string]any) { m["round"] = -5 }},
		{"arm_edp", func(m map[string]any) { m["arm_edp"].([]any)[0] = map[string]any{"v": []any{}, "pos": 500} }},
	} {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		tc.spoil(m)
		data, _ := json.Marshal(m)
		q := newTestPolicy(t, PolicyAGFT, false)
		before, _ := q.MarshalState()
		err := q.UnmarshalState(data)
		if !errors.Is(err, ErrState) || !strings.Contains(err.Error(), `"`+tc.field+`"`) {
			t.Errorf("%s spoilt: err = %v, want ErrState naming %q", tc.field, err, tc.field)
		}
		if after, _ := q.MarshalState(); string(after) != string(before) {
			t.Errorf("%s spoilt: a refused state changed the policy", tc.field)
		}
	}
}
