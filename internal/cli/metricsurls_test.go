package cli

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gputune/gputune/internal/config"
)

func TestCheckMetricsURLs(t *testing.T) {
	const a, b = "http://127.0.0.1:8000/metrics", "http://127.0.0.1:8001/metrics"
	tests := []struct {
		name    string
		urls    map[string]string
		units   [][]int
		wantErr []string
	}{
		{name: "none", units: [][]int{{0}, {1}}},
		{name: "one per GPU", urls: map[string]string{"0": a, "1": b}, units: [][]int{{0}, {1}}},
		{name: "group by its first member", urls: map[string]string{"2": b}, units: [][]int{{0}, {2, 3}}},
		{name: "group member with the same URL", urls: map[string]string{"2": b, "3": b}, units: [][]int{{2, 3}}},
		{name: "GPU not selected", urls: map[string]string{"0": a, "5": b}, units: [][]int{{0}, {1}},
			wantErr: []string{`scrape.metrics_urls["5"]`, "GPU 5 is not selected"}},
		{name: "group member with its own URL", urls: map[string]string{"3": b}, units: [][]int{{2, 3}},
			wantErr: []string{`scrape.metrics_urls["3"]`, "group [2 3]", `under "2"`}},
		{name: "bad key", urls: map[string]string{"x": a}, units: [][]int{{0}},
			wantErr: []string{`scrape.metrics_urls["x"]`, "not a GPU index"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := config.Default().Scrape
			sc.MetricsURLs = tt.urls
			err := checkMetricsURLs(sc, tt.units)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("want ErrInvalid, got %v", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestGPUMetricsURLFlag(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tuner.toml")
	toml := "[scrape]\nmetrics_urls = { \"0\" = \"http://file-0/metrics\", \"1\" = \"http://file-1/metrics\" }\n"
	if err := os.WriteFile(file, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		want    map[int]string
		wantErr string
	}{
		{name: "file alone", args: []string{"--config", file},
			want: map[int]string{0: "http://file-0/metrics", 1: "http://file-1/metrics", 2: "http://127.0.0.1:8000/metrics"}},
		{name: "flag overrides per GPU", args: []string{"--config", file, "--gpu-metrics-url", "1=http://flag-1/metrics",
			"--gpu-metrics-url", "2=http://flag-2/metrics"},
			want: map[int]string{0: "http://file-0/metrics", 1: "http://flag-1/metrics", 2: "http://flag-2/metrics"}},
		{name: "flag without a file", args: []string{"--gpu-metrics-url", "3=http://flag-3/metrics", "--metrics-url", "http://all/metrics"},
			want: map[int]string{0: "http://all/metrics", 3: "http://flag-3/metrics"}},
		{name: "no equals sign", args: []string{"--gpu-metrics-url", "http://x/metrics"}, wantErr: "want GPU=URL"},
		{name: "bad index", args: []string{"--gpu-metrics-url", "gpu1=http://x/metrics"}, wantErr: "not a GPU index"},
		{name: "bad url", args: []string{"--gpu-metrics-url", "1=localhost:8001"}, wantErr: `scrape.metrics_urls["1"] = "localhost:8001"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(dir) // no ./tuner.toml unless --config names it
			if tt.args[0] != "--config" {
				t.Chdir(t.TempDir())
			}
			f := newRunFlags("gputune")
			cfg, err := f.parse(tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for gpu, want := range tt.want {
				if got := cfg.Scrape.MetricsURLFor(gpu); got != want {
					t.Errorf("GPU %d reads %q, want %q", gpu, got, want)
				}
			}
		})
	}
}
