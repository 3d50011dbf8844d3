package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the report as a readable table.
func (r *Report) WriteTable(w io.Writer) error {
	s := r.Scenario
	var b bytes.Buffer
	fmt.Fprintf(&b, "scenario %s: %s", s.Name, s.Workload)
	if s.Trace != "" {
		fmt.Fprintf(&b, " (%s, %d requests)", filepath.Base(s.Trace), s.Requests)
	}
	fmt.Fprintf(&b, ", %.0f s, %s/%s, seed %d, rate x%g, SLO TTFT %gs TPOT %gs, objective %s, sim params %s\n",
		s.DurationS, s.GPUProfile, s.Params, s.Seed, s.RateScale, s.SLOTTFTS, s.SLOTPOTS, s.Objective, r.SimParamsHash)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tclock MHz\tpower W\tJ/tok\tEDP/tok\tTTFT p99\tTPOT p99\tSLO %\ttok/s\tE saving vs default\tsaving vs default\tgap vs static-best\theadroom captured\tgap@60s\tgap@120s\tgap@300s\tT1% s\tT2% s\t")
	for _, p := range r.Policies {
		if p.Sweep != "" {
			continue
		}
		name := p.Name
		switch p.Name {
		case NameStaticBest:
			name = fmt.Sprintf("static-best (%d)", p.MHz)
		case NamePowerCapBest:
			name = fmt.Sprintf("power-cap-best (%g W)", p.PowerLimitW)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.4f\t%.4g\t%s\t%s\t%.2f\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			name, p.MeanClockMHz, p.MeanPowerW, p.EnergyPerTokenJ, p.EDPPerToken,
			ms(p.TTFTP99S), ms(p.TPOTP99S), 100*p.SLOAttainment, p.ThroughputTokS,
			pct(p.EnergySavingVsDefault), pct(p.SavingVsDefault), pct(p.GapVsStaticBest), frac(p.HeadroomCaptured),
			pct(p.GapAt60s), pct(p.GapAt120s), pct(p.GapAt300s), secs(p.TWithin1pctS), secs(p.TWithin2pctS))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range r.Policies {
		if p.Sweep == "" && len(p.RecoveryS) > 0 {
			fmt.Fprintf(&b, "recovery after each load change, %s: %s\n", p.Name, secsList(p.RecoveryS))
		}
	}
	var sweep, caps []string
	for _, p := range r.Policies {
		switch {
		case p.Sweep != "" && p.MHz > 0:
			sweep = append(sweep, fmt.Sprintf("%d:%.3g/%.1f%%", p.MHz, p.Objective, 100*p.SLOAttainment))
		case p.Sweep != "":
			caps = append(caps, fmt.Sprintf("%g:%.3g/%.1f%%", p.PowerLimitW, p.Objective, 100*p.SLOAttainment))
		}
	}
	if len(sweep) > 0 {
		fmt.Fprintf(&b, "static sweep (MHz:objective/SLO%%): %s\n", strings.Join(sweep, " "))
	}
	if len(caps) > 0 {
		fmt.Fprintf(&b, "power-limit sweep (W:objective/SLO%%): %s\n", strings.Join(caps, " "))
	}
	fmt.Fprintf(&b, "note: %s\n", OracleNote)
	fmt.Fprintln(&b, "note: all numbers come from the simulator (sim params hash above), not from a real GPU")
	for _, t := range r.Targets {
		if !t.Applicable {
			continue
		}
		mark := "NOT MET"
		if t.Met {
			mark = "met"
		}
		fmt.Fprintf(&b, "target %-7s %s: %s\n", mark, t.Name, t.Detail)
	}
	fmt.Fprintf(&b, "wall time %.1f s\n", r.WallS)
	_, err := w.Write(b.Bytes())
	return err
}

func ms(s float64) string {
	if math.IsNaN(s) {
		return "-"
	}
	return fmt.Sprintf("%.1fms", 1000*s)
}

func pct(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "-"
	}
	return fmt.Sprintf("%+.1f%%", 100*f)
}

// frac prints a fraction as a percentage without a sign.
func frac(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*f)
}

func secs(s float64) string {
	if math.IsNaN(s) {
		return "never"
	}
	return fmt.Sprintf("%.0f", s)
}

func secsList(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = secs(x)
	}
	return strings.Join(parts, " ") + " s"
}

// WriteJSON writes results.json into dir.
func (r *Report) WriteJSON(dir string) error {
	b, err := MarshalJSON(r)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "results.json"), b, 0o644)
}

// MarshalJSON encodes v as indented JSON in field order, writing NaN and
// infinities as null (encoding/json refuses them, and a metric that could
// not be measured must read as missing, not as zero).
func MarshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := encode(&b, reflect.ValueOf(v), ""); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func encode(b *bytes.Buffer, v reflect.Value, indent string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("null")
			return nil
		}
		return encode(b, v.Elem(), indent)
	case reflect.Struct:
		t := v.Type()
		b.WriteString("{")
		first := true
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if !f.IsExported() || tag == "-" || tag == "" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			fv := v.Field(i)
			if opts == "omitempty" && fv.IsZero() {
				continue
			}
			if !first {
				b.WriteString(",")
			}
			first = false
			b.WriteString("\n" + indent + "  \"" + name + "\": ")
			if err := encode(b, fv, indent+"  "); err != nil {
				return err
			}
		}
		b.WriteString("\n" + indent + "}")
	case reflect.Slice:
		if v.IsNil() {
			b.WriteString("[]")
			return nil
		}
		b.WriteString("[")
		for i := range v.Len() {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n" + indent + "  ")
			if err := encode(b, v.Index(i), indent+"  "); err != nil {
				return err
			}
		}
		if v.Len() > 0 {
			b.WriteString("\n" + indent)
		}
		b.WriteString("]")
	case reflect.Float64, reflect.Float32:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			b.WriteString("null")
			return nil
		}
		b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	case reflect.Int, reflect.Int64, reflect.Int32:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		b.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Bool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.String:
		q, _ := json.Marshal(v.String())
		b.Write(q)
	default:
		return fmt.Errorf("bench: cannot encode %s", v.Type())
	}
	return nil
}
