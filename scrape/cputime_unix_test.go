//go:build unix

package scrape

import (
	"syscall"
	"time"
)

// processCPUTime is user+system CPU time of this process: on a shared,
// overloaded machine it tracks the work done better than wall time.
func processCPUTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
