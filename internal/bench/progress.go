package bench

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Progress draws a progress bar on a terminal stream (stderr), at most five
// times a second.
type Progress struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	start time.Time
	last  time.Time
	frac  float64
}

// NewProgress draws onto w.
func NewProgress(w io.Writer, label string) *Progress {
	return &Progress{w: w, label: label, start: time.Now()}
}

// Set records the fraction done (0–1) and redraws when due.
func (p *Progress) Set(frac float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frac = max(p.frac, min(frac, 1))
	if now := time.Now(); now.Sub(p.last) >= 200*time.Millisecond {
		p.last = now
		p.draw()
	}
}

// Done draws the final state and ends the line.
func (p *Progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frac = 1
	p.draw()
	fmt.Fprintln(p.w)
}

func (p *Progress) draw() {
	const width = 30
	n := int(p.frac * width)
	fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%% %5.1fs", p.label, strings.Repeat("#", n), strings.Repeat(".", width-n),
		100*p.frac, time.Since(p.start).Seconds())
}
