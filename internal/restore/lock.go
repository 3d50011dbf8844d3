package restore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/gputune/gputune/internal/safefile"
	"golang.org/x/sys/unix"
)

// errLockHeld: another open file description holds the flock.
var errLockHeld = errors.New("lock held by another process")

// fileLock is an exclusive flock on a GPU's lock file. The kernel drops it
// when the holder dies, whatever the cause: that is what tells a later start
// that a state file is stale.
type fileLock struct {
	f    *os.File
	path string
}

// tryLock takes the lock at path without blocking.
func tryLock(path string) (*fileLock, error) {
	for {
		f, err := openLockFile(path, os.O_CREATE|os.O_RDWR)
		if err != nil {
			return nil, err
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, errLockHeld
			}
			return nil, fmt.Errorf("restore: flock %s: %w", path, err)
		}
		// A releasing owner unlinks the file while holding the lock; if we
		// locked that unlinked inode, the lock guards nothing. Retry.
		same, err := sameFile(f, path)
		if err != nil {
			f.Close()
			return nil, err
		}
		if same {
			return &fileLock{f: f, path: path}, nil
		}
		f.Close()
	}
}

// openLockFile opens a lock file without following a symlink (a dangling
// one would otherwise make root create its target) and without blocking on
// a FIFO, and checks that it is a regular file.
func openLockFile(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("restore: lock file %s: %w (a symbolic link; remove it)", path, safefile.ErrNotRegular)
	}
	if err != nil {
		return nil, fmt.Errorf("restore: open lock file: %w", err)
	}
	if err := safefile.CheckRegular(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("restore: lock file: %w", err)
	}
	return f, nil
}

func sameFile(f *os.File, path string) (bool, error) {
	held, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("restore: stat lock file: %w", err)
	}
	now, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("restore: stat lock file: %w", err)
	}
	return os.SameFile(held, now), nil
}

// release drops the lock; with remove it first unlinks the lock file so an
// idle run directory is empty.
func (l *fileLock) release(remove bool) {
	if l == nil || l.f == nil {
		return
	}
	if remove {
		_ = os.Remove(l.path) // best effort: a leftover empty lock file is harmless
	}
	_ = l.f.Close() // closing the last descriptor drops the flock
	l.f = nil
}

// lockHeld reports whether someone holds the lock at path, by taking and
// dropping a shared lock. It changes nothing on disk.
func lockHeld(path string) (bool, error) {
	f, err := openLockFile(path, os.O_RDONLY)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return true, nil
		}
		return false, fmt.Errorf("restore: flock %s: %w", path, err)
	}
	return false, nil
}

// pidAlive reports whether a process with this pid exists and is not a
// zombie (a dead process its parent has not reaped yet, which an orphan's
// may be for a while in a container whose init reaps slowly).
func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no procfs: trust kill
	}
	// The state follows the parenthesised command name, which may itself
	// contain spaces or parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// pollInterval is how often a busy lock is retried while waiting for a
// holder that is on its way out.
const pollInterval = 20 * time.Millisecond

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
