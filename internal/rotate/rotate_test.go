package rotate

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// clock returns times 1 ms apart from a fixed start, or the same time when
// step is 0 (two files in one millisecond must still get distinct names).
func clock(step time.Duration) func() time.Time {
	t := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(step); return t }
}

func series(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "decisions-*-gpu0.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

func TestRotatesKeepsAndNeverSplitsLines(t *testing.T) {
	for _, step := range []time.Duration{0, time.Second} {
		dir := t.TempDir()
		// Files of another GPU and other names are not the series'.
		for _, n := range []string{"decisions-20200101T000000.000Z-gpu1.jsonl", "gputune.log"} {
			if err := os.WriteFile(filepath.Join(dir, n), []byte("x\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		f, err := Open(Options{Dir: dir, Prefix: "decisions-", Suffix: "-gpu0.jsonl", MaxBytes: 100, Keep: 3, Now: clock(step)})
		if err != nil {
			t.Fatal(err)
		}
		line := []byte(strings.Repeat("a", 39) + "\n") // 40 bytes: two fit in 100
		var written [][]byte
		for i := 0; i < 9; i++ {
			l := append([]byte{byte('0' + i)}, line[1:]...)
			if _, err := f.Write(l); err != nil {
				t.Fatal(err)
			}
			written = append(written, l)
		}
		big := bytes.Repeat([]byte("b"), 250)
		if _, err := f.Write(append(big, '\n')); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		files := series(t, dir)
		if len(files) != 3 {
			t.Fatalf("step %v: %d files kept, want 3: %v", step, len(files), files)
		}
		// Nine 40-byte lines make five files of ≤ 2 lines, the big line a
		// sixth; the three newest hold lines 7–8, line 9 and the big one.
		var got []string
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(b))
		}
		want := []string{string(written[6]) + string(written[7]), string(written[8]), string(big) + "\n"}
		if !slices.Equal(got, want) {
			t.Errorf("step %v: kept files hold %q, want %q", step, got, want)
		}
		if _, err := os.Stat(filepath.Join(dir, "decisions-20200101T000000.000Z-gpu1.jsonl")); err != nil {
			t.Errorf("another GPU's file was touched: %v", err)
		}
	}
}

func TestNoLimitsKeepEverything(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 3; i++ {
		f, err := Open(Options{Dir: dir, Prefix: "decisions-", Suffix: "-gpu0.jsonl", Now: clock(0)})
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 50; j++ {
			if _, err := f.Write([]byte("line\n")); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
	}
	if n := len(series(t, dir)); n != 3 {
		t.Errorf("%d files, want one per Open (3)", n)
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{{Dir: t.TempDir(), MaxBytes: -1}, {Dir: t.TempDir(), Keep: -2}} {
		if _, err := Open(o); err == nil {
			t.Errorf("Open(%+v) accepted negative limits", o)
		}
	}
}

// A full disk (ENOSPC, injected after part of a line was written) leaves no
// torn line, and writing resumes once space returns.
func TestFullDiskLeavesNoTornLineAndRecovers(t *testing.T) {
	dir := t.TempDir()
	f, err := Open(Options{Dir: dir, Prefix: "decisions-", Suffix: "-gpu0.jsonl", Now: clock(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	full := false
	f.write = func(file *os.File, p []byte) (int, error) {
		if !full {
			return file.Write(p)
		}
		n, _ := file.Write(p[:len(p)/2]) // the disk fills mid-line
		return n, syscall.ENOSPC
	}
	write := func(line string) error { _, err := f.Write([]byte(line + "\n")); return err }
	if err := write(`{"round":1}`); err != nil {
		t.Fatal(err)
	}
	full = true
	for range 3 {
		if err := write(`{"round":2,"lost":true}`); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("write on a full disk = %v, want ENOSPC", err)
		}
	}
	full = false
	if err := write(`{"round":3}`); err != nil {
		t.Fatalf("write after space returned = %v", err)
	}
	files := series(t, dir)
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	got, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\"round\":1}\n{\"round\":3}\n"; string(got) != want {
		t.Fatalf("file holds %q, want %q: whole lines only", got, want)
	}
	fi, err := os.Stat(files[0])
	if err != nil || fi.Mode().Perm() != Perm {
		t.Fatalf("mode %v, %v; want %v", fi.Mode().Perm(), err, os.FileMode(Perm))
	}
}
