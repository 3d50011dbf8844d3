package scrape

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pathological builds a vLLM exposition of about size bytes whose TTFT
// histogram has one series per engine; with distinctLayouts each series has
// its own bucket bounds, the shape that made summing the series quadratic.
func pathological(size int, distinctLayouts bool) []byte {
	var b bytes.Buffer
	b.WriteString("# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{engine=\"0\",model_name=\"m\"} 3\n")
	b.WriteString("# TYPE vllm:time_to_first_token_seconds histogram\n")
	for s := 0; b.Len() < size; s++ {
		shift := 0.0
		if distinctLayouts {
			shift = float64(s) * 1e-5
		}
		cum := 0
		for i := range 20 {
			cum += i
			fmt.Fprintf(&b, "vllm:time_to_first_token_seconds_bucket{engine=\"%d\",le=\"%g\",model_name=\"m\"} %d\n", s, shift+float64(i)*0.05+1e-3, cum)
		}
		fmt.Fprintf(&b, "vllm:time_to_first_token_seconds_bucket{engine=\"%d\",le=\"+Inf\",model_name=\"m\"} %d\n", s, cum)
		fmt.Fprintf(&b, "vllm:time_to_first_token_seconds_sum{engine=\"%d\",model_name=\"m\"} 1.5\n", s)
		fmt.Fprintf(&b, "vllm:time_to_first_token_seconds_count{engine=\"%d\",model_name=\"m\"} %d\n", s, cum)
	}
	return b.Bytes()
}

// manySeries is a vLLM exposition of at least n gauge series and size
// bytes, each series padded by a label of pad bytes.
func manySeries(n, size, pad int) []byte {
	var b bytes.Buffer
	b.WriteString("# TYPE vllm:num_requests_running gauge\n")
	p := strings.Repeat("x", pad)
	for i := 0; i < n || b.Len() < size; i++ {
		fmt.Fprintf(&b, "vllm:num_requests_running{e=\"%d\",p=\"%s\"} 1\n", i, p)
	}
	return b.Bytes()
}

// The bounds accept every real server's exposition, and any of at least
// 8 MB and 100,000 series.
func TestBoundsAcceptRealExpositions(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.prom"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewParser().Parse(b, time.Unix(0, 0)); errors.Is(err, ErrOverBudget) {
			t.Errorf("%s: %v", name, err)
		}
	}
	big := manySeries(100_000, 8<<20, 40)
	s, err := NewParser().Parse(big, time.Unix(0, 0))
	if err != nil {
		t.Fatalf("%d bytes: %v", len(big), err)
	}
	if s.Running < 100_000 {
		t.Fatalf("running %v: not every series was read", s.Running)
	}
}

func TestBoundsRefuseWhatNoServerSends(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"a bucket layout per series", pathological(2<<20, true), "distinct bucket bounds"},
		{"too many series", manySeries(MaxSeries+1, 0, 0), "series"},
		{"too many bytes", make([]byte, MaxExpositionBytes+1), "bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewParser().Parse(tt.b, time.Unix(0, 0))
			if !errors.Is(err, ErrOverBudget) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse = %v, want ErrOverBudget about %q", err, tt.want)
			}
		})
	}
}

// The parse stops at the context's deadline: a cycle's fetch and parse
// share one deadline, so no exposition holds the loop past it. Asserted
// through the context (the parse returns its deadline error), with a
// generous bound on the time it took.
func TestParseStopsAtTheDeadline(t *testing.T) {
	b := pathological(15<<20, false) // passes every size bound: only time stops it
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewParser().ParseContext(ctx, b, time.Unix(0, 0)); !errors.Is(err, ErrOverBudget) || !errors.Is(err, context.Canceled) {
		t.Fatalf("ParseContext on a done context = %v, want ErrOverBudget wrapping context.Canceled", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := NewParser().ParseContext(ctx, b, time.Unix(0, 0))
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ParseContext of %d bytes with a 20ms deadline = %v after %s; want the deadline error", len(b), err, took)
	}
	if took > 2*time.Second {
		t.Errorf("parse returned %s after its 20ms deadline", took)
	}
}

// A 15 MB pathological exposition over HTTP: Fetch ends by the scrape's
// deadline with an error (the loop's nodata rule then applies), whatever
// the parse would have cost.
func TestFetchOfAPathologicalExpositionEndsByTheDeadline(t *testing.T) {
	for _, distinct := range []bool{true, false} {
		t.Run(fmt.Sprintf("distinct layouts %v", distinct), func(t *testing.T) {
			body := pathological(15<<20, distinct)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = w.Write(body)
			}))
			defer srv.Close()
			const timeout = 250 * time.Millisecond
			src, err := NewHTTPSource(srv.URL+"/metrics", WithTimeout(timeout))
			if err != nil {
				t.Fatal(err)
			}
			for range 2 { // the second over a warm connection
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				start := time.Now()
				_, err = src.Fetch(ctx)
				took := time.Since(start)
				cancel()
				if err == nil {
					// A fast machine may parse the uniform layout in time:
					// that is a good scrape, not a stall.
					if distinct {
						t.Fatal("a layout per series was accepted")
					}
				} else if !errors.Is(err, ErrOverBudget) && !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("Fetch = %v, want an over-budget or deadline error", err)
				}
				if took > timeout+time.Second {
					t.Fatalf("Fetch took %s with a %s scrape timeout", took, timeout)
				}
			}
		})
	}
}

// What a server says reaches the terminal and the logs only as printable
// text: its error body and its model_name.
func TestHostileServerStringsArePrintable(t *testing.T) {
	const hostile = "\x1b]0;owned\x07\x1b[2J\x1b[Hpwned\u009b31m"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/error" {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(hostile))
			return
		}
		fmt.Fprintf(w, "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name=\"%s\"} 1\n", hostile)
	}))
	defer srv.Close()
	for _, path := range []string{"/error", "/metrics"} {
		src, err := NewHTTPSource(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := src.Fetch(context.Background())
		text := s.Model
		if err != nil {
			text = err.Error()
		}
		if !strings.Contains(text, "pwned") {
			t.Fatalf("%s: %q lost the body's text", path, text)
		}
		if strings.ContainsAny(text, "\x1b\x07\u009b") {
			t.Fatalf("%s: control characters reached the text: %q", path, text)
		}
	}
}
