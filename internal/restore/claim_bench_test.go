package restore

import (
	"context"
	"os"
	"testing"
)

// BenchmarkClaimLockCoreClock is the cost the control loop pays per clock
// change: one atomic, fsynced state-file rewrite plus the (spy) lock call.
// Set GPUTUNE_BENCH_DIR to measure a particular filesystem (e.g. /run).
func BenchmarkClaimLockCoreClock(b *testing.B) {
	dir := b.TempDir()
	if d := os.Getenv("GPUTUNE_BENCH_DIR"); d != "" {
		var err error
		if dir, err = os.MkdirTemp(d, "bench-"); err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
	}
	ctx := context.Background()
	c, err := Acquire(ctx, dir, testGPU, &spyController{}, AcquireOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Release(ctx)
	clocks := []int{1200, 1215}
	for i := 0; b.Loop(); i++ {
		if err := c.LockCoreClock(ctx, clocks[i%2]); err != nil {
			b.Fatal(err)
		}
	}
}
