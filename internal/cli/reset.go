package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/gputune/gputune/internal/restore"
)

// runReset is `gputune reset [--gpu N,M|all]`: give back the core and memory
// clocks a gputune locked and clear stale state files.
func runReset(ctx context.Context, args []string, std IO) error {
	fs := flag.NewFlagSet("gputune reset", flag.ContinueOnError)
	fs.SetOutput(std.Err)
	gpus := fs.String("gpu", "all", "GPUs to reset: indices such as 0,1, or all")
	runDir := fs.String("run-dir", "", "folder of the state files (default /run/gputune as root)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	log := newLogger(loadQuiet(), std.Err, true)
	be := newBackend(log)
	indices, err := be.indices(*gpus)
	if err != nil {
		return err
	}
	var ids []restore.GPUID
	for _, idx := range indices {
		d, err := be.open(ctx, idx)
		if err != nil {
			return err
		}
		ids = append(ids, restore.GPUID{Index: idx, UUID: d.dev.Facts().UUID})
		_ = d.close()
	}
	dir := *runDir
	if dir == "" {
		dir = restore.DefaultDir()
	}
	results, err := restore.ResetAll(ctx, dir, ids, be.opener(), log)
	failed := false
	for _, r := range results {
		switch {
		case r.Err != nil:
			fmt.Fprintf(std.Out, "GPU %d (%s): reset failed: %v\n", r.GPU.Index, r.GPU.UUID, r.Err)
			failed = true
		case r.Found:
			fmt.Fprintf(std.Out, "GPU %d (%s): clocks reset; stale state from pid %d cleared\n", r.GPU.Index, r.GPU.UUID, r.Previous.PID)
		default:
			fmt.Fprintf(std.Out, "GPU %d (%s): clocks reset\n", r.GPU.Index, r.GPU.UUID)
		}
	}
	if failed {
		err = errors.Join(err, errClocksLocked) // exit 3
	}
	return err
}
