package probe

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/gputune/gputune/scrape"
)

// WriteText writes the report for a person: the GPU part, the metrics part,
// and a closing verdict.
func (r Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(format string, a ...any) { fmt.Fprintf(tw, format+"\n", a...) }

	g := r.GPU
	line("GPU")
	if !g.Available {
		line("  status\t%s", g.Error)
	} else {
		sim := ""
		if g.Simulated {
			sim = "  [simulated]"
		}
		line("  device\t%d  %s  %s%s", g.Index, g.Name, g.UUID, sim)
		line("  driver\t%s", g.Driver)
		line("  core clocks\t%s", g.CoreClocks)
		mem := g.MemClocks.String()
		if !g.MemLockSupported {
			mem += " (memory-clock locking not supported)"
		}
		line("  memory clocks\t%s", mem)
		line("  power limit\t%s W (range %s–%s W)", num(g.PowerLimitW), num(g.PowerMinW), num(g.PowerMaxW))
		line("  energy counter\t%s", g.EnergyCounter)
		line("  instant power\t%s", g.InstantPower)
		if g.Error != "" {
			line("  state\t%s", g.Error)
		} else {
			line("  current\tSM %d MHz, memory %d MHz, %s W, %s °C", g.SMClockMHz, g.MemClockMHz, num(g.PowerAvgW), num(g.TempC))
			line("  clock events\t%s", strings.Join(g.EventReasons, ", "))
		}
	}
	line("  gputune lock\t%s", g.Lock)
	line("  can set clocks\t%s (%s)", g.CanSetClocks, g.CanSetClocksWhy)

	m := r.Metrics
	line("")
	line("Metrics\t%s", m.URL)
	line("  reachable\t%s", yesNo(m.Reachable))
	if m.Error != "" {
		line("  error\t%s", m.Error)
	}
	line("  flavor\t%s", m.Flavor)
	if m.Error == "" {
		line("  found")
		for sig := scrape.Signal(0); int(sig) < scrape.AllSignals; sig++ {
			name := sig.String()
			v, ok := m.Signals[name]
			if !ok {
				continue
			}
			if obs, isHist := m.Observations[name]; isHist {
				line("    %s\tmean %s over %s observations\t%s", name, num(v), num(obs), m.Series[name])
			} else {
				line("    %s\t%s\t%s", name, num(v), m.Series[name])
			}
		}
		if len(m.Missing) > 0 {
			line("  missing")
			for _, ms := range m.Missing {
				line("    %s\tdisables: %s", ms.Signal, ms.Disables)
			}
		}
	}
	line("")
	verdict := "OK: gputune can run here"
	if !r.OK() {
		var why []string
		if !g.OK() {
			why = append(why, "the GPU part failed")
		}
		if !m.OK() {
			why = append(why, "the metrics part failed")
		}
		verdict = "NOT OK: " + strings.Join(why, " and ")
	}
	line("%s", verdict)
	return tw.Flush()
}

func (c ClockRange) String() string {
	switch c.Count {
	case 0:
		return "none reported"
	case 1:
		return fmt.Sprintf("%d MHz (1 clock)", c.MinMHz)
	}
	step := fmt.Sprintf("step %d MHz", c.StepMHz)
	if !c.Uniform {
		step = fmt.Sprintf("mostly step %d MHz", c.StepMHz)
	}
	return fmt.Sprintf("%d–%d MHz, %s, %d clocks", c.MinMHz, c.MaxMHz, step, c.Count)
}

func (c Check) String() string {
	if !c.Works {
		return "does not work: " + c.Error
	}
	return fmt.Sprintf("works (%s %s)", num(c.Value), c.Unit)
}

func num(v Value) string {
	f := float64(v)
	switch {
	case math.IsNaN(f):
		return "n/a"
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		return fmt.Sprintf("%.0f", f)
	}
	return fmt.Sprintf("%.4g", f)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
