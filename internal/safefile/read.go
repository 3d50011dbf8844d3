// Package safefile reads and writes the files a root daemon keeps in
// directories others might reach: it never follows a symlink, never blocks
// on a FIFO or device planted under a file's name, never reads more than a
// stated size, and never leaves a torn file behind.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ErrNotRegular: the name is a symlink, FIFO, device, socket or directory
// where a regular file belongs.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge: the file is larger than the caller's limit.
var ErrTooLarge = errors.New("file too large")

// Open opens path read-only without following a final symlink and without
// blocking on a FIFO, and checks that it is a regular file. A missing file
// gives an error matching fs.ErrNotExist.
func Open(path string) (*os.File, error) {
	return openRegular(path, os.O_RDONLY, 0)
}

// openRegular opens path with flag, never following a final symlink nor
// blocking on a FIFO, and keeps the file only if it is a regular one.
func openRegular(path string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, perm)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s: %w (a symbolic link; remove it)", path, ErrNotRegular)
	}
	if err != nil {
		return nil, err
	}
	if err := CheckRegular(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// CheckRegular fails unless f is a regular file.
func CheckRegular(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: %w (it is %s; remove it)", f.Name(), ErrNotRegular, kind(fi.Mode()))
	}
	return nil
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a directory"
	}
	return "not a regular file"
}

// Read returns the content of the regular file at path, refusing one larger
// than limit bytes before reading it whole.
func Read(path string, limit int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: %w (over %d bytes)", path, ErrTooLarge, limit)
	}
	return data, nil
}

// OpenAppend opens (creating with perm) a log file for appending, without
// following a final symlink, and checks that it is a regular file.
func OpenAppend(path string, perm os.FileMode) (*os.File, error) {
	return openRegular(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, perm)
}
