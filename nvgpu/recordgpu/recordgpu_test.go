package recordgpu

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gputune/gputune/nvgpu"
)

func TestOpenRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		path  string
		index int
	}{
		{"empty path", "", 0},
		{"negative index", filepath.Join(dir, "c.log"), -1},
		{"index past count", filepath.Join(dir, "c.log"), Count},
		{"missing directory", filepath.Join(dir, "nope", "c.log"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Open(tt.path, tt.index); err == nil {
				t.Fatalf("Open(%q, %d) succeeded, want an error", tt.path, tt.index)
			}
		})
	}
}

func TestCallsAreRecordedAndSampleReadsBackLockedClock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "calls.log")
	d0, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A second handle stands in for another process sharing the log.
	d0b, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	d1, err := Open(path, 1)
	if err != nil {
		t.Fatal(err)
	}

	if err := d0.LockCoreClock(ctx, 1200); err != nil {
		t.Fatal(err)
	}
	if err := d0.LockMemClock(ctx, 1593); err != nil {
		t.Fatal(err)
	}
	if err := d1.LockCoreClock(ctx, 1000); err == nil || !errors.Is(err, nvgpu.ErrUnsupportedClock) {
		t.Fatalf("lock 1000 MHz (not a 15 MHz step): got %v, want ErrUnsupportedClock", err)
	}

	s, err := d0b.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.SMClockMHz != 1200 || s.MemClockMHz != 1593 {
		t.Fatalf("sample after lock: core %d mem %d, want 1200 1593", s.SMClockMHz, s.MemClockMHz)
	}
	s1, err := d1.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s1.SMClockMHz != DefaultCoreMHz {
		t.Fatalf("GPU 1 after a refused lock: core %d, want default %d", s1.SMClockMHz, DefaultCoreMHz)
	}

	if err := d0b.ResetCoreClock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d0b.ResetMemClock(ctx); err != nil {
		t.Fatal(err)
	}
	s, err = d0.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.SMClockMHz != DefaultCoreMHz || s.MemClockMHz != DefaultMemMHz {
		t.Fatalf("sample after reset: core %d mem %d, want defaults", s.SMClockMHz, s.MemClockMHz)
	}

	calls, err := ReadCalls(path)
	if err != nil {
		t.Fatal(err)
	}
	wantOps := []string{OpLockCore, OpLockMem, OpLockCore, OpResetCore, OpResetMem}
	if len(calls) != len(wantOps) {
		t.Fatalf("got %d calls %+v, want %d", len(calls), calls, len(wantOps))
	}
	for i, c := range calls {
		if c.Op != wantOps[i] || c.PID != os.Getpid() {
			t.Errorf("call %d = %+v, want op %s from pid %d", i, c, wantOps[i], os.Getpid())
		}
	}
	if calls[2].Err == "" || calls[2].UUID != UUID(1) {
		t.Errorf("refused call not recorded as refused for GPU 1: %+v", calls[2])
	}
	if st := Replay(calls); st[UUID(0)].Locked() || st[UUID(1)].Locked() {
		t.Errorf("replay after resets: %+v, want nothing locked", st)
	}
}

func TestOpenUUIDAndFromEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calls.log")
	d, err := OpenUUID(path, UUID(1))
	if err != nil {
		t.Fatal(err)
	}
	if d.Facts().Index != 1 {
		t.Fatalf("OpenUUID gave index %d, want 1", d.Facts().Index)
	}
	if _, err := OpenUUID(path, "GPU-unknown"); err == nil {
		t.Fatal("OpenUUID of an unknown UUID succeeded")
	}
	t.Setenv(EnvVar, path)
	if got, ok := FromEnv(); !ok || got != path {
		t.Fatalf("FromEnv = %q, %v; want %q, true", got, ok, path)
	}
	t.Setenv(EnvVar, "")
	if _, ok := FromEnv(); ok {
		t.Fatal("FromEnv reported a path while the variable is empty")
	}
}

func TestReadCallsReportsCorruptLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calls.log")
	if err := os.WriteFile(path, []byte("{\"op\":\"lock_core\"}\nnot json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCalls(path); err == nil {
		t.Fatal("corrupt call log read without error")
	}
	if calls, err := ReadCalls(filepath.Join(t.TempDir(), "missing")); err != nil || calls != nil {
		t.Fatalf("missing log: %v, %v; want empty, nil", calls, err)
	}
}
