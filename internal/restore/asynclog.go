package restore

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// asyncLog hands the supervisor's records to a goroutine that writes them,
// dropping what does not fit its queue. Whatever happens to the log's
// destination (a pipe whose reader left, a full pipe nobody drains, a
// terminal stopped with ^S), the supervisor's reset never waits on it.
type asyncLog struct {
	queue   chan asyncRecord
	pending sync.WaitGroup
}

type asyncRecord struct {
	h slog.Handler
	r slog.Record
}

func newAsyncLog(size int) *asyncLog {
	a := &asyncLog{queue: make(chan asyncRecord, size)}
	go func() {
		for rec := range a.queue {
			_ = rec.h.Handle(context.Background(), rec.r)
			a.pending.Done()
		}
	}()
	return a
}

// wrap returns a logger whose records go through the queue to log's handler.
func (a *asyncLog) wrap(log *slog.Logger) *slog.Logger {
	return slog.New(asyncHandler{a: a, h: log.Handler()})
}

// flush waits at most d for the queued records to be written. The writer
// goroutine stays: the process is about to exit.
func (a *asyncLog) flush(d time.Duration) {
	done := make(chan struct{})
	go func() {
		a.pending.Wait()
		close(done)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

type asyncHandler struct {
	a *asyncLog
	h slog.Handler
}

func (h asyncHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.h.Enabled(ctx, l) }

func (h asyncHandler) Handle(_ context.Context, r slog.Record) error {
	h.a.pending.Add(1)
	select {
	case h.a.queue <- asyncRecord{h: h.h, r: r.Clone()}:
	default: // the writer is stuck: drop rather than wait
		h.a.pending.Done()
	}
	return nil
}

func (h asyncHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return asyncHandler{a: h.a, h: h.h.WithAttrs(attrs)}
}

func (h asyncHandler) WithGroup(name string) slog.Handler {
	return asyncHandler{a: h.a, h: h.h.WithGroup(name)}
}
