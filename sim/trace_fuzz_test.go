package sim

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseTrace: no input panics the trace reader, every error is one of
// its own, and an accepted trace is consistent (arrivals in order from 0,
// token counts at least 1).
func FuzzParseTrace(f *testing.F) {
	f.Add([]byte("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,0\n"))
	f.Add([]byte("2023-11-16 18:15:46,1,1\r\n\r\n2023-11-16 18:15:45,1,1\n"))
	f.Add([]byte("TIMESTAMP,ContextTokens,GeneratedTokens\n"))
	f.Add([]byte("2023-11-16 18:15:46.6805900,-1,99999999999999\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := ParseTrace(bytes.NewReader(b), "fuzz.csv")
		if err != nil {
			if !errors.Is(err, ErrBadTrace) && !errors.Is(err, ErrEmptyTrace) {
				t.Fatalf("error %v is neither ErrBadTrace nor ErrEmptyTrace", err)
			}
			return
		}
		if tr.Len() == 0 || len(tr.Prompt) != tr.Len() || len(tr.Output) != tr.Len() {
			t.Fatalf("inconsistent trace: %d arrivals, %d prompts, %d outputs", tr.Len(), len(tr.Prompt), len(tr.Output))
		}
		for i := range tr.At {
			if tr.At[i] < 0 || i > 0 && tr.At[i] < tr.At[i-1] {
				t.Fatalf("arrival %d at %v out of order (%v)", i, tr.At[i], tr.At)
			}
			if tr.Prompt[i] < 1 || tr.Output[i] < 1 {
				t.Fatalf("row %d: tokens %d/%d, want at least 1", i, tr.Prompt[i], tr.Output[i])
			}
		}
	})
}
