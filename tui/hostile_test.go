package tui

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/scrape"
)

// hostileBody retitles the terminal, clears the screen and moves the
// cursor when printed raw, as a hostile or broken server's 500 body might.
const hostileBody = "\x1b]0;owned\x07\x1b[2J\x1b[Hpwned \u009b31mred\x1b[0m \u202egnp.exe"

// hostileStrings fetches from a server that answers with hostileBody: its
// error body and, from a second endpoint, its model_name label, exactly as
// the loop receives them from the scrape package.
func hostileStrings(t *testing.T) (errText, model string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/error" {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(hostileBody))
			return
		}
		fmt.Fprintf(w, "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name=\"%s\"} 1\n", hostileBody)
	}))
	t.Cleanup(srv.Close)
	errSrc, err := scrape.NewHTTPSource(srv.URL + "/error")
	if err != nil {
		t.Fatal(err)
	}
	_, ferr := errSrc.Fetch(context.Background())
	if ferr == nil {
		t.Fatal("a 500 was not an error")
	}
	modelSrc, err := scrape.NewHTTPSource(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := modelSrc.Fetch(context.Background()) // no TTFT: only the model name matters
	// The URL is the test server's random port: keep the golden stable.
	return strings.ReplaceAll(ferr.Error(), srv.URL, "http://127.0.0.1:8000"), s.Model
}

// A hostile server's error body and model name render as plain text: no
// escape sequence reaches the terminal.
func TestHostileServerRendersAsPlainText(t *testing.T) {
	errText, model := hostileStrings(t)
	tests := []struct {
		name   string
		mutate func(s *control.Snapshot)
	}{
		{"hostile_error_120x40", func(s *control.Snapshot) { s.Err = "metrics: " + errText + " (retrying in 600ms)" }},
		{"hostile_model_120x40", func(s *control.Snapshot) { s.Message = "served model changed to " + model + ": learning afresh" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := testModel(t, 120, 40, 60, nil)
			snap := testSnapshot(61)
			tt.mutate(&snap)
			m = step(t, m, snapshotMsg{snap: snap})
			got := m.View()
			if strings.ContainsAny(got, "\x1b\x07\u009b\u202e") {
				t.Fatalf("control characters reached the screen:\n%q", got)
			}
			if !strings.Contains(got, "pwned") {
				t.Fatalf("the server's text is not shown at all:\n%s", got)
			}
			checkFits(t, got, 120, 40)
			requireGolden(t, tt.name, got)
		})
	}
}
