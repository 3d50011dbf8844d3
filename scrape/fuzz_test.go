package scrape

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary bytes through the pre-filter and expfmt: no
// input may panic, and an accepted sample must hold well-formed histograms.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.prom"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 4096 {
			f.Add(b[:4096]) // a cut mid-line is a useful seed too
		}
		f.Add(b)
	}
	f.Add([]byte(histTmpl))
	f.Add([]byte("<!DOCTYPE html>"))
	f.Add([]byte("vllm:num_requests_running{} NaN\n"))
	f.Add([]byte("{\"vllm:num_requests_running\"} 1\n"))
	p := NewParser()
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := p.Parse(b, time.Unix(0, 0))
		if err != nil {
			return
		}
		if s.Flavor == FlavorUnknown {
			t.Fatal("accepted a sample of unknown flavour")
		}
		for _, sig := range []Signal{SigTTFT, SigITL, SigTPOT, SigE2E, SigIterTokens} {
			if !s.Present.Has(sig) {
				continue
			}
			h := histField(&s, sig)
			n := len(h.Upper)
			if n == 0 || n != len(h.Cumulative) || !math.IsInf(h.Upper[n-1], 1) {
				t.Fatalf("%v: malformed buckets %v %v", sig, h.Upper, h.Cumulative)
			}
			for i := 1; i < n; i++ {
				if !(h.Upper[i] > h.Upper[i-1]) {
					t.Fatalf("%v: bounds not ascending: %v", sig, h.Upper)
				}
			}
		}
		w, _ := NewWindower(WindowConfig{TailMinObs: 1})
		_, _ = w.Next(s)
		s.At = s.At.Add(time.Second)
		_, _ = w.Next(s)
	})
}
