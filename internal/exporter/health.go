package exporter

import (
	"fmt"
	"net/http"
	"sort"
	"time"
)

// DefaultStallAfter is how long a GPU's loop may go without publishing a
// snapshot before /-/healthy fails. A loop publishes every cycle (0.3 s by
// default) even without metrics, so a minute of silence is a stuck loop.
const DefaultStallAfter = time.Minute

// healthy answers /-/healthy, the liveness probe: 503 when a GPU's loop
// has published nothing for longer than stallAfter. Restarting gputune
// then gives its clocks back (the supervisor resets) and starts afresh.
func (e *Exporter) healthy(stallAfter time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if stalled := e.stalled(stallAfter); len(stalled) > 0 {
			http.Error(w, "gputune: no control cycle for over "+stallAfter.String()+" on GPU "+fmt.Sprint(stalled), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "gputune is healthy")
	}
}

// ready answers /-/ready, the readiness probe: 200 once a loop has
// published its first snapshot (the GPUs are open and claimed).
func (e *Exporter) ready(w http.ResponseWriter, _ *http.Request) {
	e.mu.Lock()
	n := len(e.gpus)
	e.mu.Unlock()
	if n == 0 {
		http.Error(w, "gputune: no control cycle yet", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "gputune is ready")
}

// stalled lists the GPUs whose last snapshot is older than limit.
func (e *Exporter) stalled(limit time.Duration) []int {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []int
	for _, g := range e.gpus {
		if now.Sub(g.observedAt) > limit {
			out = append(out, g.last.GPU)
		}
	}
	sort.Ints(out)
	return out
}
