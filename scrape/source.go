package scrape

import (
	"context"
	"fmt"
	"time"
)

// SourceFunc adapts a function to Source: the simulator and the benchmark
// hand samples over in-process.
type SourceFunc func(ctx context.Context) (Sample, error)

// Fetch calls f.
func (f SourceFunc) Fetch(ctx context.Context) (Sample, error) { return f(ctx) }

// ExpositionSource is a Source over exposition bytes produced in-process
// (the simulator's /metrics text), parsed exactly as the HTTP path does.
type ExpositionSource struct {
	produce func(ctx context.Context) ([]byte, error)
	now     func() time.Time
	parser  *Parser
}

// NewExpositionSource returns a Source that calls produce for each fetch
// and stamps the sample with now() (time.Now when nil). Fetch must not be
// called concurrently.
func NewExpositionSource(produce func(ctx context.Context) ([]byte, error), now func() time.Time) *ExpositionSource {
	if now == nil {
		now = time.Now
	}
	return &ExpositionSource{produce: produce, now: now, parser: NewParser()}
}

// Fetch produces one exposition and parses it.
func (e *ExpositionSource) Fetch(ctx context.Context) (Sample, error) {
	if err := ctx.Err(); err != nil {
		return Sample{}, err
	}
	b, err := e.produce(ctx)
	if err != nil {
		return Sample{}, fmt.Errorf("produce exposition: %w", err)
	}
	return e.parser.ParseContext(ctx, b, e.now())
}
