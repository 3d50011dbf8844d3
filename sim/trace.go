package sim

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// Errors a trace can fail with; match them with errors.Is.
var (
	ErrEmptyTrace = errors.New("trace has no requests")
	ErrBadTrace   = errors.New("malformed trace")
)

// Trace is a parsed request trace in the Azure LLM inference format
// (TIMESTAMP,ContextTokens,GeneratedTokens). It is immutable once parsed, so
// simulations and their clones share one *Trace.
type Trace struct {
	Name string
	// At is each request's arrival relative to the first request.
	At []time.Duration
	// Prompt and Output are token counts; a zero in the file becomes 1,
	// because a server always reads and writes at least one token.
	Prompt, Output []int32
}

// Len is the number of requests.
func (t *Trace) Len() int { return len(t.At) }

// Span is the time from the first to the last arrival.
func (t *Trace) Span() time.Duration {
	if len(t.At) == 0 {
		return 0
	}
	return t.At[len(t.At)-1]
}

// LoadTrace reads a trace file.
func LoadTrace(path string) (*Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open trace: %w", err)
	}
	defer f.Close()
	return ParseTrace(f, path)
}

const traceTimeLayout = "2006-01-02 15:04:05.999999999"

// ParseTrace parses a trace; name (usually the file path) prefixes errors,
// which say the line and column to fix.
func ParseTrace(r io.Reader, name string) (*Trace, error) {
	t := &Trace{Name: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var first time.Time
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		if line == 1 && bytes.HasPrefix(bytes.ToUpper(text), []byte("TIMESTAMP")) {
			continue
		}
		at, prompt, output, err := parseTraceLine(text)
		if err != nil {
			return nil, fmt.Errorf("%w: %s:%d:%d: %s", ErrBadTrace, name, line, err.col, err.msg)
		}
		if len(t.At) == 0 {
			first = at
		}
		rel := at.Sub(first)
		if rel < 0 || (len(t.At) > 0 && rel < t.At[len(t.At)-1]) {
			return nil, fmt.Errorf("%w: %s:%d:1: timestamp %s is earlier than the line before; sort the trace by time",
				ErrBadTrace, name, line, at.Format(traceTimeLayout))
		}
		t.At = append(t.At, rel)
		t.Prompt = append(t.Prompt, max(prompt, 1))
		t.Output = append(t.Output, max(output, 1))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s:%d: %w", ErrBadTrace, name, line+1, err)
	}
	if len(t.At) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrEmptyTrace, name)
	}
	return t, nil
}

type lineError struct {
	col int
	msg string
}

func parseTraceLine(text []byte) (time.Time, int32, int32, *lineError) {
	c1 := bytes.IndexByte(text, ',')
	if c1 < 0 {
		return time.Time{}, 0, 0, &lineError{len(text) + 1, "expected 3 comma-separated fields TIMESTAMP,ContextTokens,GeneratedTokens, found 1"}
	}
	rest := text[c1+1:]
	c2 := bytes.IndexByte(rest, ',')
	if c2 < 0 {
		return time.Time{}, 0, 0, &lineError{len(text) + 1, "expected 3 comma-separated fields TIMESTAMP,ContextTokens,GeneratedTokens, found 2"}
	}
	c2 += c1 + 1
	if extra := bytes.IndexByte(text[c2+1:], ','); extra >= 0 {
		return time.Time{}, 0, 0, &lineError{c2 + 1 + extra + 1, "expected 3 comma-separated fields, found more"}
	}
	ts := string(bytes.TrimSpace(text[:c1]))
	at, err := time.Parse(traceTimeLayout, ts)
	if err != nil {
		return time.Time{}, 0, 0, &lineError{1, fmt.Sprintf("timestamp %q is not like 2023-11-16 18:15:46.6805900", ts)}
	}
	prompt, le := parseTokenCount(text[c1+1:c2], c1+2, "ContextTokens")
	if le != nil {
		return time.Time{}, 0, 0, le
	}
	output, le := parseTokenCount(text[c2+1:], c2+2, "GeneratedTokens")
	if le != nil {
		return time.Time{}, 0, 0, le
	}
	return at, prompt, output, nil
}

func parseTokenCount(field []byte, col int, what string) (int32, *lineError) {
	s := string(bytes.TrimSpace(field))
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, &lineError{col, fmt.Sprintf("%s %q is not a whole number", what, s)}
	}
	if n < 0 {
		return 0, &lineError{col, fmt.Sprintf("%s %d is negative", what, n)}
	}
	return int32(n), nil
}
