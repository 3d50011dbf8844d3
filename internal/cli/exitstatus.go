package cli

import (
	"context"
	"errors"

	"github.com/gputune/gputune/internal/restore"
)

// errClocksLocked marks a give-back that failed: clocks may still be locked
// (exit 3).
var errClocksLocked = errors.New("clocks may still be locked (run gputune reset)")

// workerUsage is how a worker reports bad usage or configuration to its
// supervisor. It cannot be 2: the Go runtime exits 2 after an unrecovered
// panic or a fatal error, which is an abnormal end (1), not bad usage.
const workerUsage = 64 // EX_USAGE

func usageStatus() int {
	if restore.IsWorker() {
		return workerUsage
	}
	return exitUsage
}

// supervisedStatus maps the status restore.Supervise returns (the worker's,
// 128+n for a worker killed by signal n, or 3 when the supervisor's own
// reset failed) to gputune's exit-status table.
func supervisedStatus(code int) int {
	switch code {
	case exitOK, exitFailure, exitClocksLocked:
		return code
	case workerUsage:
		return exitUsage
	default:
		// Killed by a signal (SIGKILL, the OOM killer), a runtime crash
		// (exit 2) or an os.Exit from a library: an abnormal end, after
		// which the supervisor gave the clocks back or it would have
		// returned exitClocksLocked.
		return exitFailure
	}
}

// stopReason says, for the last log line, what ended the run.
func stopReason(ctx context.Context, err error) string {
	var sig *restore.SignalError
	switch {
	case errors.As(context.Cause(ctx), &sig):
		return sig.Error()
	case err != nil:
		return "error: " + err.Error()
	default:
		return "the session ended (q, --duration, or a failure logged above)"
	}
}
