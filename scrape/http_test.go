package scrape

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock advances 300 ms per reading so both paths stamp alike.
func fakeClock() func() time.Time {
	var n atomic.Int64
	return func() time.Time { return t0.Add(time.Duration(n.Add(1)) * 300 * time.Millisecond) }
}

func TestHTTPAndInProcessGiveIdenticalWindows(t *testing.T) {
	bodies := [][]byte{
		readFixture(t, "vllm_v1.prom"),
		readFixture(t, "vllm_v1_later.prom"),
		readFixture(t, "vllm_v1.prom"), // a restart
		readFixture(t, "vllm_v1_later.prom"),
	}
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// What prometheus_client >= 0.23 sends: expfmt calls it unknown.
		w.Header().Set("Content-Type", "text/plain; version=1.0.0; charset=utf-8")
		_, _ = w.Write(bodies[int(served.Add(1)-1)%len(bodies)])
	}))
	defer srv.Close()

	httpSrc, err := NewHTTPSource(srv.URL+"/metrics", WithClock(fakeClock()), WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var produced int
	inproc := NewExpositionSource(func(context.Context) ([]byte, error) {
		b := bodies[produced%len(bodies)]
		produced++
		return b, nil
	}, fakeClock())

	windows := func(src Source) []Window {
		w := newWindower(t, WindowConfig{TailMinObs: 1})
		var out []Window
		for range bodies {
			s, err := src.Fetch(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			win, err := w.Next(s)
			if errors.Is(err, ErrNoBaseline) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, win)
		}
		return out
	}
	a, b := windows(httpSrc), windows(inproc)
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("%d and %d windows", len(a), len(b))
	}
	for i := range a {
		if !sameWindow(a[i], b[i]) {
			t.Errorf("window %d differs:\nhttp    %+v\nprocess %+v", i, a[i], b[i])
		}
	}
	if !a[1].Reset || a[0].Reset {
		t.Errorf("reset flags %v %v", a[0].Reset, a[1].Reset)
	}
}

// sameWindow compares field by field with NaN equal to NaN.
func sameWindow(a, b Window) bool {
	fa := []float64{a.Running, a.Waiting, a.KVUsage, a.PromptTokens, a.GenTokens, a.PromptTokPerS, a.GenTokPerS,
		a.Finished, a.Preemptions, a.PrefixHitRate, a.MeanIterTokens, a.TTFTMean, a.ITLMean, a.TPOTMean, a.E2EMean,
		a.TTFTObs, a.ITLObs, a.TPOTObs, a.E2EObs, a.TTFTTail, a.ITLTail, a.TPOTTail, a.TTFTTailObs, a.ITLTailObs,
		a.TPOTTailObs, a.MaxTTFTUpper, a.Swapped}
	fb := []float64{b.Running, b.Waiting, b.KVUsage, b.PromptTokens, b.GenTokens, b.PromptTokPerS, b.GenTokPerS,
		b.Finished, b.Preemptions, b.PrefixHitRate, b.MeanIterTokens, b.TTFTMean, b.ITLMean, b.TPOTMean, b.E2EMean,
		b.TTFTObs, b.ITLObs, b.TPOTObs, b.E2EObs, b.TTFTTail, b.ITLTail, b.TPOTTail, b.TTFTTailObs, b.ITLTailObs,
		b.TPOTTailObs, b.MaxTTFTUpper, b.Swapped}
	for i := range fa {
		if fa[i] != fb[i] && !(math.IsNaN(fa[i]) && math.IsNaN(fb[i])) {
			return false
		}
	}
	return a.Start.Equal(b.Start) && a.End.Equal(b.End) && a.Dur == b.Dur && a.Flavor == b.Flavor &&
		a.Present == b.Present && a.Reset == b.Reset
}

func TestHTTPSourceErrorsNameTheURL(t *testing.T) {
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<!DOCTYPE html><html></html>\n"))
	}))
	defer html.Close()
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(strings.Repeat("# padding comment line\n", 100)))
	}))
	defer big.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	defer slow.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	tests := []struct {
		name    string
		url     string
		opts    []HTTPOption
		want    error
		wantMsg string
	}{
		{"404", notFound.URL + "/metrics", nil, nil, "404"},
		{"html page", html.URL, nil, ErrMalformed, "malformed"},
		{"body over the cap", big.URL, []HTTPOption{WithMaxBodyBytes(100)}, nil, "larger than 100 bytes"},
		{"timeout", slow.URL, []HTTPOption{WithTimeout(50 * time.Millisecond)}, nil, "Timeout"},
		{"unreachable", closedURL + "/metrics", nil, nil, "connect"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := NewHTTPSource(tc.url, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Fetch(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.url) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q lacks the URL or %q", err, tc.wantMsg)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v is not %v", err, tc.want)
			}
		})
	}
}

func TestHTTPSourceHonoursContext(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer slow.Close()
	src, err := NewHTTPSource(slow.URL, WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := src.Fetch(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func TestNewHTTPSourceRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"localhost:8000/metrics", "ftp://host/metrics", "http://", "://x", ""} {
		if _, err := NewHTTPSource(u); !errors.Is(err, ErrBadURL) {
			t.Errorf("%q: err = %v, want ErrBadURL", u, err)
		}
	}
}

func TestSourceFunc(t *testing.T) {
	want := Sample{Flavor: FlavorTGI, Running: 3}
	var src Source = SourceFunc(func(context.Context) (Sample, error) { return want, nil })
	got, err := src.Fetch(context.Background())
	if err != nil || got.Running != 3 || got.Flavor != FlavorTGI {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestHTTPSourceLogsMappingOnChange(t *testing.T) {
	bodies := [][]byte{readFixture(t, "vllm_v1.prom"), readFixture(t, "vllm_v1_later.prom"), readFixture(t, "vllm_v1_early.prom")}
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(bodies[int(n.Add(1)-1)%len(bodies)])
	}))
	defer srv.Close()
	var logs strings.Builder
	src, err := NewHTTPSource(srv.URL, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for range bodies {
		if _, err := src.Fetch(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// The same mapping twice logs once; the early-V1 names log again.
	if got := strings.Count(logs.String(), "metrics mapping"); got != 2 {
		t.Fatalf("%d mapping lines:\n%s", got, logs.String())
	}
	if !strings.Contains(logs.String(), "kv_usage=vllm:gpu_cache_usage_perc") {
		t.Errorf("log lacks the fallback series:\n%s", logs.String())
	}
}
