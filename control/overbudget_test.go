package control

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gputune/gputune/scrape"
)

// A server that answers with a 15 MB exposition whose histogram has a bucket
// layout per series never holds a cycle past the scrape timeout (the fetch
// and the parse share it): each cycle reports the scrape error, and once
// stale_after has passed the loop is in nodata with the clock given back.
func TestPathologicalExpositionNeverStretchesACycle(t *testing.T) {
	var body bytes.Buffer
	body.WriteString("# TYPE vllm:time_to_first_token_seconds histogram\n")
	for s := 0; body.Len() < 15<<20; s++ {
		for i := range 20 {
			fmt.Fprintf(&body, "vllm:time_to_first_token_seconds_bucket{engine=\"%d\",le=\"%g\"} %d\n", s, float64(s)*1e-5+float64(i)*0.05, i)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body.Bytes()) }))
	defer srv.Close()

	r := newRig(t, nil, false)
	r.cycles(6) // healthy: locked at 1200
	if r.gpu.lockedMHz() != 1200 {
		t.Fatalf("locked %d before the server turned, want 1200", r.gpu.lockedMHz())
	}
	src, err := scrape.NewHTTPSource(srv.URL+"/metrics", scrape.WithTimeout(r.loop.cfg.ScrapeTimeout))
	if err != nil {
		t.Fatal(err)
	}
	r.loop.d.Source = src
	limit := r.loop.cfg.Period + r.loop.cfg.ScrapeTimeout
	var s Snapshot
	// 300 ms of virtual time per cycle: 12 cycles pass stale_after (3 s).
	for i := range 12 {
		start := time.Now()
		s = r.cycle()
		// Wall time: what a cycle costs. The bound is the period plus the
		// scrape timeout, with a second of slack for a loaded machine.
		if took := time.Since(start); took > limit+time.Second {
			t.Fatalf("cycle %d took %s, over period + scrape timeout (%s)", i, took, limit)
		}
		if s.Err == "" {
			t.Fatalf("cycle %d reported no scrape error", i)
		}
	}
	if s.Mode != ModeNoData || r.gpu.lockedMHz() != 0 {
		t.Fatalf("after stale_after: mode %s locked %d, want nodata with the clock given back", s.Mode, r.gpu.lockedMHz())
	}
}
