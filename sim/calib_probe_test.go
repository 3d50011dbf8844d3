package sim

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Loading the project's read-only H100 NVML probe
// (../shared/data/h100-nvml-probe, README there) into calibration rows.

// probeDir finds the probe data next to the repository (the layout of
// /work/main and /work/shared) or inside it; tests skip when neither exists.
func probeDir(t testing.TB) string {
	t.Helper()
	for _, d := range []string{
		filepath.Join("..", "..", "shared", "data", "h100-nvml-probe"),
		filepath.Join("..", "shared", "data", "h100-nvml-probe"),
	} {
		if _, err := os.Stat(filepath.Join(d, "phases.json")); err == nil {
			return d
		}
	}
	t.Skip("H100 probe data (shared/data/h100-nvml-probe) not found next to the repository")
	return ""
}

type probeSample struct {
	tNS              int64
	energyMJ         float64
	smMHz, tempC     float64
	util             float64
	avgGPUW, avgMemW float64 // run 4 only
}

type probePhase struct {
	Name      string  `json:"name"`
	StartNS   int64   `json:"start_ns"`
	EndNS     int64   `json:"end_ns"`
	M         int     `json:"M"`
	TFLOPs    float64 `json:"tflops"`
	WeightGBs float64 `json:"weight_GBps"`
}

// probeRun is one probe run: its samples and phases.
type probeRun struct {
	id      int
	samples []probeSample
	phases  []probePhase
}

func readCSV(t testing.TB, path string) []map[string]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]map[string]float64, 0, len(recs)-1)
	for _, r := range recs[1:] {
		m := make(map[string]float64, len(r))
		for i, h := range recs[0] {
			v, err := strconv.ParseFloat(r[i], 64)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			m[h] = v
		}
		ns, _ := strconv.ParseInt(r[0], 10, 64)
		m["tns_hi"] = float64(ns / 1e9)
		m["tns_lo"] = float64(ns % 1e9)
		out = append(out, m)
	}
	return out
}

func loadProbeRun(t testing.TB, id int) probeRun {
	t.Helper()
	dir := probeDir(t)
	files := map[int][2]string{1: {"samples.csv", "phases.json"}, 2: {"samples2.csv", "phases2.json"}, 4: {"scopes.csv", "phases3.json"}}
	fs := files[id]
	raw, err := os.ReadFile(filepath.Join(dir, fs[1]))
	if err != nil {
		t.Fatal(err)
	}
	var ph struct{ Phases []probePhase }
	if err := json.Unmarshal(raw, &ph); err != nil {
		t.Fatal(err)
	}
	run := probeRun{id: id, phases: ph.Phases}
	for _, m := range readCSV(t, filepath.Join(dir, fs[0])) {
		s := probeSample{
			tNS:   int64(m["tns_hi"])*1e9 + int64(m["tns_lo"]),
			smMHz: m["sm_MHz"], tempC: m["temp_C"], util: m["util_gpu"] / 100,
			energyMJ: m["energy_mJ"], avgGPUW: m["avg_gpu_mW"] / 1000, avgMemW: m["avg_mem_mW"] / 1000,
		}
		run.samples = append(run.samples, s)
	}
	return run
}

// The probe's decode-like load: 100 bf16 matrices of 4096×14336 (11.7 GB).
const (
	probeMatrices = 100
	probeK        = 4096
	probeN        = 14336
)

// probeWork is the Work of one step of a probe phase: for the GEMV/GEMM
// phases one pass of an M×4096 activation over all 100 weight matrices
// (FLOPs 2·M·K·N each; bytes = weights + activations read + outputs
// written); for the 8192³ GEMM one multiply. Idle phases are zero Work.
func probeWork(p probePhase) (Work, bool) {
	switch {
	case p.Name == "gemm_8192_bf16" || strings.HasPrefix(p.Name, "burst_on"):
		n := 8192.0
		return Work{FLOPs: 2 * n * n * n, Bytes: 3 * n * n * 2, Tokens: 8192}, true
	case strings.HasPrefix(p.Name, "decode_like_B"), strings.HasPrefix(p.Name, "prefill_chunk_M"):
		m := p.M
		if m == 0 { // run 1 phases carry the batch in the name only
			m, _ = strconv.Atoi(strings.TrimPrefix(p.Name, "decode_like_B"))
		}
		mf := float64(m)
		return Work{
			FLOPs:  probeMatrices * 2 * mf * probeK * probeN,
			Bytes:  probeMatrices * (probeK*probeN*2 + mf*(probeK+probeN)*2),
			Tokens: m,
		}, true
	}
	return Work{}, false
}

// probeRow is one steady phase as measured.
type probeRow struct {
	name         string
	work         Work
	loaded       bool
	noCtx        bool
	fromNS, toNS int64   // steady window
	powerW       float64 // energy-counter average (runs 1, 2) or 1 s average (run 4)
	memW         float64 // run 4 only
	clockMHz     float64 // median
	tempC        float64
	util         float64
	stepsPerS    float64
	capped       bool
	samples      []probeSample
}

// isCalibRow says which phases are steady rows: loaded phases and the long
// idle phases. Gaps (1–3 s transients after load) and bursts are replayed
// but not compared.
func isCalibRow(name string) bool {
	return !strings.HasPrefix(name, "gap") && !strings.HasPrefix(name, "burst")
}

func (r probeRun) window(from, to int64) []probeSample {
	i := sort.Search(len(r.samples), func(i int) bool { return r.samples[i].tNS >= from })
	j := sort.Search(len(r.samples), func(i int) bool { return r.samples[i].tNS > to })
	return r.samples[i:j]
}

// rows extracts the steady rows of a run, plus the no-context idle before
// the load script opened its CUDA context (runs 1 and 2).
func (r probeRun) rows() []probeRow {
	var out []probeRow
	first := r.phases[0].StartNS
	if r.id != 4 {
		// The clock settles at 345 MHz ~2 s into run 1; use the last 4 s.
		out = append(out, r.measure(probeRow{name: "idle_no_context", noCtx: true, fromNS: first - 4.5e9, toNS: first - 0.3e9}))
	}
	for _, p := range r.phases {
		if !isCalibRow(p.Name) {
			continue
		}
		w, loaded := probeWork(p)
		from := p.StartNS
		if p.EndNS-p.StartNS > 3e9 {
			from += 1.5e9 // skip the ramp and the 1 s average's lag
		}
		row := probeRow{name: p.Name, work: w, loaded: loaded, fromNS: from, toNS: p.EndNS}
		if loaded && p.TFLOPs > 0 {
			row.stepsPerS = p.TFLOPs * 1e12 / w.FLOPs
		}
		out = append(out, r.measure(row))
	}
	return out
}

func (r probeRun) measure(row probeRow) probeRow {
	s := r.window(row.fromNS, row.toNS)
	row.samples = s
	clocks := make([]float64, len(s))
	var util, pw, mem float64
	for i, x := range s {
		clocks[i] = x.smMHz
		util += x.util
		row.tempC += x.tempC / float64(len(s))
		pw += x.avgGPUW
		mem += x.avgMemW
	}
	n := float64(len(s))
	sort.Float64s(clocks)
	row.clockMHz = clocks[len(clocks)/2]
	row.util = util / n
	if r.id == 4 {
		row.powerW, row.memW = pw/n, mem/n
	} else {
		dt := float64(s[len(s)-1].tNS-s[0].tNS) / 1e9
		row.powerW = (s[len(s)-1].energyMJ - s[0].energyMJ) / 1000 / dt
	}
	row.capped = row.loaded && row.clockMHz < 1960
	return row
}

// simRow is what the simulator did over a row's window.
type simRow struct {
	powerW, memW, clockMHz, stepsPerS, cappedFrac, tempC float64
}

// replay drives g through a run's whole phase schedule, as the probe's
// load script did, and returns the simulated steady rows. Host idle time
// between steps follows each phase's measured NVML utilisation (the
// simulator models the GPU, not the Python host that fed it).
func replay(g GPU, r probeRun, rows []probeRow) []simRow {
	out := make([]simRow, len(rows))
	byName := make(map[string]int, len(rows))
	for i, row := range rows {
		byName[row.name] = i
	}
	t0 := r.samples[0].tNS
	if r.id != 4 {
		t0 = r.phases[0].StartNS - 6e9
	}
	g.SetContextHeld(r.id == 4) // run 4's first sample already has a context
	cur := t0
	type acc struct {
		e0, mem, clk, capped, temp, dur float64
		steps                           int
	}
	var a acc
	active := -1
	advance := func(d time.Duration, w Work) {
		g.Advance(d, w)
		if active >= 0 {
			s := d.Seconds()
			a.mem += g.MemPowerW() * s
			a.clk += g.SMClockMHz() * s
			a.temp += g.TempC() * s
			a.dur += s
			if g.EventReasons()&0x4 != 0 {
				a.capped += s
			}
		}
		cur += int64(d)
	}
	runUntil := func(end int64, w Work, loaded bool, util float64, rowIdx int, from int64) {
		for cur < end {
			if active < 0 && rowIdx >= 0 && cur >= from {
				active = rowIdx
				a = acc{e0: g.EnergyJ()}
			}
			if !loaded {
				step := min(time.Duration(end-cur), 20*time.Millisecond)
				if active < 0 && rowIdx >= 0 && from > cur {
					step = min(step, time.Duration(from-cur))
				}
				advance(step, Work{})
				continue
			}
			d := g.StepTime(w)
			advance(d, w)
			if active >= 0 {
				a.steps++
			}
			if util > 0 && util < 1 {
				advance(time.Duration(float64(d)*(1/util-1)), Work{})
			}
		}
		if active >= 0 {
			out[active] = simRow{
				powerW:     (g.EnergyJ() - a.e0) / a.dur,
				memW:       a.mem / a.dur,
				clockMHz:   a.clk / a.dur,
				stepsPerS:  float64(a.steps) / a.dur,
				cappedFrac: a.capped / a.dur,
				tempC:      a.temp / a.dur,
			}
			active = -1
		}
	}
	if r.id != 4 {
		i := byName["idle_no_context"]
		runUntil(r.phases[0].StartNS, Work{}, false, 0, i, rows[i].fromNS)
		g.SetContextHeld(true)
	}
	for _, p := range r.phases {
		if p.StartNS > cur {
			runUntil(p.StartNS, Work{}, false, 0, -1, 0)
		}
		w, loaded := probeWork(p)
		idx, from, util := -1, int64(0), 1.0
		if i, ok := byName[p.Name]; ok {
			idx, from, util = i, rows[i].fromNS, rows[i].util
		}
		runUntil(p.EndNS, w, loaded, util, idx, from)
	}
	return out
}
