package sim

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseTraceGood(t *testing.T) {
	in := "TIMESTAMP,ContextTokens,GeneratedTokens\r\n" +
		"2023-11-16 18:15:46.6805900,374,44\r\n" +
		"2023-11-16 18:15:50.9951690,396,0\r\n" +
		"\n" +
		"2023-11-16 18:15:50.9951690,7,9\n"
	tr, err := ParseTrace(strings.NewReader(in), "t.csv")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 3 {
		t.Fatalf("%d rows, want 3", tr.Len())
	}
	if want := 4314579 * time.Microsecond; tr.At[1] != want || tr.At[2] != want {
		t.Errorf("offsets %v, want 0, %v, %v", tr.At, want, want)
	}
	if tr.Prompt[0] != 374 || tr.Output[0] != 44 || tr.Output[1] != 1 {
		t.Errorf("tokens %v %v (a zero output becomes 1)", tr.Prompt, tr.Output)
	}
}

func TestParseTraceErrors(t *testing.T) {
	const head = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
	tests := []struct {
		name, in string
		is       error
		want     string // substring: file, line and column
	}{
		{"empty file", "", ErrEmptyTrace, "t.csv"},
		{"header only", head, ErrEmptyTrace, "t.csv"},
		{"two fields", head + "2023-11-16 18:15:46.6805900,374\n", ErrBadTrace, "t.csv:2:32:"},
		{"four fields", head + "2023-11-16 18:15:46.6805900,374,4,5\n", ErrBadTrace, "t.csv:2:34:"},
		{"bad timestamp", head + "yesterday,374,44\n", ErrBadTrace, "t.csv:2:1: timestamp"},
		{"bad context", head + "2023-11-16 18:15:46.6805900,3x4,44\n", ErrBadTrace, "t.csv:2:29: ContextTokens"},
		{"negative context", head + "2023-11-16 18:15:46.6805900,-3,44\n", ErrBadTrace, "t.csv:2:29: ContextTokens -3 is negative"},
		{"negative output", head + "2023-11-16 18:15:46.6805900,3,-44\n", ErrBadTrace, "t.csv:2:31: GeneratedTokens -44 is negative"},
		{"huge count", head + "2023-11-16 18:15:46.6805900,99999999999,4\n", ErrBadTrace, "t.csv:2:29:"},
		{"unsorted", head + "2023-11-16 18:15:46.6805900,3,4\n2023-11-16 18:15:45.0000000,3,4\n", ErrBadTrace, "t.csv:3:1: timestamp"},
		{"error on line 3", head + "2023-11-16 18:15:46.6805900,3,4\n2023-11-16 18:15:47.0,3,four\n", ErrBadTrace, "t.csv:3:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTrace(strings.NewReader(tc.in), "t.csv")
			if !errors.Is(err, tc.is) {
				t.Fatalf("error %v, want %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadTraceMissingFile(t *testing.T) {
	_, err := LoadTrace(filepath.Join(t.TempDir(), "absent.csv"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v, want one matching os.ErrNotExist", err)
	}
}

func TestLoadConvTrace(t *testing.T) {
	tr := loadConvTrace(t)
	if tr.Len() != 19366 {
		t.Errorf("%d rows, want 19366 (the README's count)", tr.Len())
	}
	if span := tr.Span(); span < 58*time.Minute || span > 59*time.Minute {
		t.Errorf("span %v, want about 58 minutes", span)
	}
}
