package bench

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"

	"github.com/gputune/gputune/control"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// plotBinS is the time bin of the time-series plots: 0.3 s windows are far
// too many to draw one by one.
const plotBinS = 30.0

// mainPolicies are the policies drawn over time, in panel order.
func (r *Report) mainPolicies() []string {
	var names []string
	for _, n := range mainRows() {
		if _, ok := r.Policy(n); ok {
			names = append(names, n)
		}
	}
	return names
}

func (r *Report) windowsOf(name string) []Window {
	switch name {
	case NameStaticBest:
		return r.runs[staticName(r.StaticBestMHz)].windows
	case NamePowerCapBest:
		return r.runs[capName(r.PowerCapBestW)].windows
	}
	return r.runs[name].windows
}

// PlotFiles are the files WritePlots writes.
var PlotFiles = []string{"clock.png", "power.png", "gap.png", "bars.png"}

// WritePlots writes clock.png (the clock over time per policy, under the
// request rate), power.png (power over time), gap.png (the cumulative gap to
// static-best over time per policy) and bars.png (objective and SLO
// attainment per policy) into dir.
func (r *Report) WritePlots(dir string) error {
	names := r.mainPolicies()
	if len(names) == 0 {
		return nil
	}
	if err := r.plotClock(filepath.Join(dir, "clock.png"), names); err != nil {
		return err
	}
	if err := r.plotSeries(filepath.Join(dir, "power.png"), names, "power (W)", func(w Window) float64 { return w.PowerW }); err != nil {
		return err
	}
	if err := r.plotGap(filepath.Join(dir, "gap.png"), names); err != nil {
		return err
	}
	return r.plotBars(filepath.Join(dir, "bars.png"))
}

// gapPlotFromS is where the gap plot starts: over the first seconds a
// handful of finished requests decide the ratio.
const gapPlotFromS = 30.0

// plotGap draws each policy's objective from the start to t over
// static-best's from the start to t, minus 1: how far behind the best
// locked clock a user is after t, cold start included.
func (r *Report) plotGap(path string, names []string) error {
	if r.StaticBestMHz == 0 {
		return nil
	}
	obj := control.Objective(r.Scenario.Objective)
	ref := newSeries(r.windowsOf(NameStaticBest))
	p := plot.New()
	p.Title.Text = "cumulative gap to static-best: objective from the start to t over static-best's, minus 1 (lower is better)"
	p.X.Label.Text = "minutes"
	p.Y.Label.Text = "gap (%)"
	for i, n := range names {
		if n == NameStaticBest {
			continue
		}
		ts, gaps := cumulativeGap(obj, newSeries(r.windowsOf(n)), ref, 10)
		var xy plotter.XYs
		for k := range ts {
			if ts[k] >= gapPlotFromS {
				xy = append(xy, plotter.XY{X: ts[k] / 60, Y: 100 * gaps[k]})
			}
		}
		if len(xy) == 0 {
			continue
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		l.Color = plotutil.Color(i)
		if n == PolicyOracle {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		}
		p.Add(l)
		p.Legend.Add(n, l)
	}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	return savePlots(path, [][]*plot.Plot{{p}}, 10*vg.Inch, 4*vg.Inch)
}

// binned averages f over plotBinS bins, weighted by window length.
func binned(ws []Window, f func(Window) float64) plotter.XYs {
	var out plotter.XYs
	var sum, dur, prev float64
	binEnd := plotBinS
	for _, w := range ws {
		dt := w.EndS - prev
		prev = w.EndS
		if v := f(w); !math.IsNaN(v) {
			sum += v * dt
			dur += dt
		}
		if w.EndS >= binEnd {
			if dur > 0 {
				out = append(out, plotter.XY{X: (binEnd - plotBinS/2) / 60, Y: sum / dur})
			}
			sum, dur = 0, 0
			binEnd += plotBinS
		}
	}
	return out
}

func (r *Report) plotClock(path string, names []string) error {
	rows := len(names) + 1
	plots := make([][]*plot.Plot, rows)
	rate := plot.New()
	rate.Title.Text = fmt.Sprintf("request rate (req/s, %.0f s bins) and SM clock in effect per policy (MHz, %.0f s means)", plotBinS, plotBinS)
	rate.Y.Label.Text = "req/s"
	var xy plotter.XYs
	for _, p := range r.rate {
		xy = append(xy, plotter.XY{X: p.T / 60, Y: p.ReqPerS})
	}
	if len(xy) > 0 {
		l, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		l.Color = color.Gray{Y: 80}
		rate.Add(l)
	}
	plots[0] = []*plot.Plot{rate}
	for i, n := range names {
		p := plot.New()
		p.Y.Label.Text = n
		p.Y.Min, p.Y.Max = 0, 2100
		if i == len(names)-1 {
			p.X.Label.Text = "minutes"
		}
		l, err := plotter.NewLine(binned(r.windowsOf(n), func(w Window) float64 { return w.ClockMHz }))
		if err != nil {
			return err
		}
		l.Color = plotutil.Color(i)
		p.Add(l)
		plots[i+1] = []*plot.Plot{p}
	}
	return savePlots(path, plots, 10*vg.Inch, vg.Length(rows)*1.6*vg.Inch)
}

func (r *Report) plotSeries(path string, names []string, ylabel string, f func(Window) float64) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("GPU power over time (%.0f s means, simulator ground truth)", plotBinS)
	p.X.Label.Text = "minutes"
	p.Y.Label.Text = ylabel
	for i, n := range names {
		l, err := plotter.NewLine(binned(r.windowsOf(n), f))
		if err != nil {
			return err
		}
		l.Color = plotutil.Color(i)
		p.Add(l)
		p.Legend.Add(n, l)
	}
	p.Legend.Top = true
	return savePlots(path, [][]*plot.Plot{{p}}, 10*vg.Inch, 4*vg.Inch)
}

func (r *Report) plotBars(path string) error {
	var names []string
	var objs, slos plotter.Values
	def, hasDef := r.Policy(PolicyDefault)
	for _, n := range r.mainPolicies() {
		p, _ := r.Policy(n)
		names = append(names, n)
		v := p.Objective
		if hasDef && def.Objective > 0 {
			v /= def.Objective
		}
		objs = append(objs, finiteOr(v))
		slos = append(slos, finiteOr(100*p.SLOAttainment))
	}
	left := plot.New()
	left.Title.Text = "objective (relative to default; lower is better)"
	right := plot.New()
	right.Title.Text = "SLO attainment (%)"
	for _, pp := range []struct {
		p *plot.Plot
		v plotter.Values
	}{{left, objs}, {right, slos}} {
		b, err := plotter.NewBarChart(pp.v, vg.Points(28))
		if err != nil {
			return err
		}
		b.Color = plotutil.Color(0)
		pp.p.Add(b)
		pp.p.NominalX(names...)
		pp.p.X.Tick.Label.Rotation = math.Pi / 8
	}
	slo := slos[0]
	for _, v := range slos {
		slo = math.Min(slo, v)
	}
	right.Y.Min = math.Max(0, slo-5)
	right.Y.Max = 100
	return savePlots(path, [][]*plot.Plot{{left, right}}, 10*vg.Inch, 4*vg.Inch)
}

func finiteOr(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

func savePlots(path string, plots [][]*plot.Plot, w, h vg.Length) error {
	img := vgimg.New(w, h)
	dc := draw.New(img)
	t := draw.Tiles{Rows: len(plots), Cols: len(plots[0]), PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 2,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(plots, t, dc)
	for i := range plots {
		for j := range plots[i] {
			if plots[i][j] != nil {
				plots[i][j].Draw(canvases[i][j])
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	png := vgimg.PngCanvas{Canvas: img}
	if _, err := png.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return f.Close()
}
