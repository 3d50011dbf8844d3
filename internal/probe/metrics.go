package probe

import (
	"context"
	"math"
	"time"

	"github.com/gputune/gputune/scrape"
)

// Missing is a signal the server lacks and what that costs.
type Missing struct {
	Signal   string `json:"signal"`
	Disables string `json:"disables"`
}

// MetricsReport is the metrics part of the probe.
type MetricsReport struct {
	URL       string `json:"url"`
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
	Flavor    string `json:"flavor"`
	// Signals maps each found signal to its current value: gauges as read,
	// counters as their running total, histograms as their lifetime mean
	// (null before the first observation).
	Signals map[string]Value `json:"signals"`
	// Series names the exposition series each signal came from.
	Series map[string]string `json:"series"`
	// Observations counts each histogram signal's observations so far.
	Observations map[string]Value `json:"observations"`
	Missing      []Missing        `json:"missing"`
}

// OK is true when the server answered with a known flavour.
func (m MetricsReport) OK() bool { return m.Reachable && m.Error == "" }

func probeMetrics(ctx context.Context, url string, timeout time.Duration) MetricsReport {
	rep := MetricsReport{URL: url, Flavor: string(scrape.FlavorUnknown),
		Signals: map[string]Value{}, Series: map[string]string{}, Observations: map[string]Value{}}
	if url == "" {
		rep.Error = errNoURL.Error()
		return rep
	}
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	src, err := scrape.NewHTTPSource(url, scrape.WithTimeout(timeout))
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	s, err := src.Fetch(ctx)
	rep.Reachable = metricsReachable(err)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	fillSignals(&rep, s)
	return rep
}

func fillSignals(rep *MetricsReport, s scrape.Sample) {
	rep.Flavor = string(s.Flavor)
	for sig := scrape.Signal(0); int(sig) < scrape.AllSignals; sig++ {
		name := sig.String()
		if !s.Present.Has(sig) {
			rep.Missing = append(rep.Missing, Missing{Signal: name, Disables: sig.Disables()})
			continue
		}
		rep.Series[name] = s.Series[sig]
		if h, ok := s.HistogramOf(sig); ok {
			mean := math.NaN()
			if h.Count > 0 {
				mean = h.Sum / h.Count
			}
			rep.Signals[name] = Value(mean)
			rep.Observations[name] = Value(h.Count)
			continue
		}
		v, _ := s.Value(sig)
		rep.Signals[name] = Value(v)
	}
}
