package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/gputune/gputune/internal/restore"
)

// resetFlags are `gputune reset`'s flags.
type resetFlags struct {
	fs                       *flag.FlagSet
	configPath, gpus, runDir string
}

func newResetFlags() *resetFlags {
	f := &resetFlags{fs: flag.NewFlagSet("gputune reset", flag.ContinueOnError)}
	f.fs.StringVar(&f.configPath, "config", "", configFlagHelp)
	f.fs.StringVar(&f.gpus, "gpu", "all", "GPUs to reset: indices such as 0,1, or all")
	f.fs.StringVar(&f.runDir, "run-dir", "", "folder of the state files (default /run/gputune as root)")
	return f
}

func (f *resetFlags) help(w io.Writer) {
	commandHelp("gputune reset [--gpu N,M|all]", `Gives back the core and memory clocks a gputune locked (the GPU returns
to its default governor) and clears stale state files. Needs root on a
real GPU.`, f.fs)(w)
}

// runReset is `gputune reset [--gpu N,M|all]`: give back the core and memory
// clocks a gputune locked and clear stale state files.
func runReset(ctx context.Context, args []string, std IO) error {
	f := newResetFlags()
	pos, err := parseArgs(f.fs, args, std.Out, f.help)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("reset takes no arguments, got %q (see gputune reset --help)", pos[0])
	}
	cfg, path, err := loadConfig(f.configPath)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	gpus, runDir := &f.gpus, &f.runDir
	log := newLogger(cfg, std.Err, true)
	log.Info("configuration", "file", configSource(path))
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
