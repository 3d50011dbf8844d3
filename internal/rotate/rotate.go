// Package rotate writes a size-capped series of log files. When a write
// would take the current file past its limit, the file is closed and a new
// one started; files of the series beyond a count are deleted, oldest
// first. A daemon that logs every 0.3 s decision must not fill its disk:
// one H100's decision lines come to about 5 GB a day.
package rotate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// stampLayout sorts as time does, so name order is age order.
const stampLayout = "20060102T150405.000Z"

// Options describe a series: its files are Dir/Prefix<UTC time>Suffix.
type Options struct {
	Dir, Prefix, Suffix string
	// MaxBytes starts a new file before one would grow past it; 0 never
	// does. A single write larger than MaxBytes still goes whole into a
	// file of its own: lines are never split.
	MaxBytes int64
	// Keep is how many files of the series are kept, the current one
	// included; 0 keeps them all.
	Keep int
	// Now is the clock that names files (time.Now when nil).
	Now func() time.Time
	// PruneFailed, when set, hears of old files that could not be
	// deleted; writing goes on regardless.
	PruneFailed func(error)
}

// File is the open series. It is not safe for concurrent use.
//
// A failed write (a full disk) leaves no torn line: what part of the line
// reached the file is cut off again. The File stays usable, and writing
// resumes by itself once space returns.
type File struct {
	o    Options
	f    *os.File
	size int64
	last time.Time
	// write writes to the current file; tests inject a full disk here.
	write func(f *os.File, p []byte) (int, error)
}

// Perm is the mode of the series' files: decisions are the operator's,
// not the world's.
const Perm = 0o640

// Open starts a new file of the series (it never appends to an old one)
// and deletes what Keep leaves out.
func Open(o Options) (*File, error) {
	if o.MaxBytes < 0 || o.Keep < 0 {
		return nil, fmt.Errorf("rotate: max bytes %d and keep %d must not be negative", o.MaxBytes, o.Keep)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("rotate: %w", err)
	}
	r := &File{o: o, write: (*os.File).Write}
	if err := r.start(); err != nil {
		return nil, err
	}
	return r, nil
}

// start opens the next file of the series; the current one, if any, is
// closed only once the new one is open.
func (r *File) start() error {
	t := r.o.Now().UTC().Truncate(time.Millisecond)
	if !t.After(r.last) {
		t = r.last.Add(time.Millisecond)
	}
	for {
		path := filepath.Join(r.o.Dir, r.o.Prefix+t.Format(stampLayout)+r.o.Suffix)
		// O_EXCL: an existing name, a planted symlink included, is never
		// opened. O_APPEND: after a torn write is cut off, the next line
		// goes to the new end.
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW, Perm)
		if errors.Is(err, fs.ErrExist) {
			t = t.Add(time.Millisecond)
			continue
		}
		if err != nil {
			return fmt.Errorf("rotate: %w", err)
		}
		if r.f != nil {
			_ = r.f.Close() // its lines are written; a close error loses nothing
		}
		r.f, r.size, r.last = f, 0, t
		if err := r.prune(); err != nil && r.o.PruneFailed != nil {
			r.o.PruneFailed(err)
		}
		return nil
	}
}

// prune deletes the oldest files of the series beyond Keep.
func (r *File) prune() error {
	if r.o.Keep == 0 {
		return nil
	}
	entries, err := os.ReadDir(r.o.Dir)
	if err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(n, r.o.Prefix) && strings.HasSuffix(n, r.o.Suffix) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	current := filepath.Base(r.f.Name())
	var errs []error
	for _, n := range names[:max(len(names)-r.o.Keep, 0)] {
		if n == current {
			continue
		}
		if err := os.Remove(filepath.Join(r.o.Dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("rotate: %w", errors.Join(errs...))
	}
	return nil
}

// Write writes p whole to the current file, first starting a new one if p
// would take it past MaxBytes. On an error nothing of p stays in the file:
// a partial write is cut off, so every line in the file is whole.
func (r *File) Write(p []byte) (int, error) {
	if r.o.MaxBytes > 0 && r.size > 0 && r.size+int64(len(p)) > r.o.MaxBytes {
		if err := r.start(); err != nil {
			return 0, err // the current file stays; the next write tries again
		}
	}
	n, err := r.write(r.f, p)
	if err == nil {
		r.size += int64(n)
		return n, nil
	}
	if n > 0 {
		if terr := r.f.Truncate(r.size); terr != nil {
			// The fragment stays: end it, so the next line starts whole.
			r.size += int64(n)
			if m, _ := r.write(r.f, []byte("\n")); m == 1 {
				r.size++
			}
		}
	}
	return 0, fmt.Errorf("rotate: %w", err)
}

// Close closes the current file.
func (r *File) Close() error { return r.f.Close() }
