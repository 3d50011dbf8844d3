package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/internal/restore"
	"github.com/gputune/gputune/nvgpu"
	"github.com/gputune/gputune/nvgpu/recordgpu"
)

// device is one opened GPU: a reader, and the controller the loop may lock
// through (never handed to read-only code).
type device struct {
	dev interface {
		nvgpu.Reader
		nvgpu.Controller
	}
	close func() error
}

// backend opens GPUs: NVML, or, when GPUTUNE_FAKE_GPU names a call log, the
// recording fake that the out-of-process restore tests use.
type backend struct {
	log      *slog.Logger
	fakePath string
}

func newBackend(log *slog.Logger) backend {
	path, _ := recordgpu.FromEnv()
	return backend{log: log, fakePath: path}
}

// indices resolves gpu.devices ("all" or a list).
func (b backend) indices(spec string) ([]int, error) {
	d, err := config.ParseDevices(spec)
	if err != nil {
		return nil, fmt.Errorf("%w: --gpu: %v", errUsage, err)
	}
	if !d.All {
		return d.Indices, nil
	}
	n := recordgpu.Count
	if b.fakePath == "" {
		if n, err = nvgpu.CountNVML(nvgpu.NewNVMLLib()); err != nil {
			return nil, err
		}
	}
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out, nil
}

func (b backend) open(ctx context.Context, index int) (device, error) {
	if b.fakePath != "" {
		d, err := recordgpu.Open(b.fakePath, index)
		if err != nil {
			return device{}, err
		}
		return device{dev: d, close: func() error { return nil }}, nil
	}
	d, err := nvgpu.OpenNVML(ctx, nvgpu.NewNVMLLib(), index, b.log)
	if err != nil {
		// nvgpu's init error already carries the hint; its other no-driver
		// errors do not.
		if errors.Is(err, nvgpu.ErrNoDriver) && !strings.Contains(err.Error(), "gputune --demo") {
			return device{}, fmt.Errorf("%w\n  gputune needs an NVIDIA driver to tune a GPU; to try it without one, run: gputune --demo", err)
		}
		return device{}, err
	}
	return device{dev: d, close: d.Close}, nil
}

// opener gives the supervisor and `gputune reset` a controller for a GPU
// named in a state file.
func (b backend) opener() restore.Opener {
	return func(ctx context.Context, gpu restore.GPUID) (nvgpu.Controller, error) {
		if b.fakePath != "" {
			return recordgpu.OpenUUID(b.fakePath, gpu.UUID)
		}
		d, err := b.open(ctx, gpu.Index)
		if err != nil {
			return nil, err
		}
		if d.dev.Facts().UUID != gpu.UUID {
			_ = d.close()
			return nil, fmt.Errorf("GPU %d is now %s, not %s (indices changed?): reset it by index with gputune reset --gpu N",
				gpu.Index, d.dev.Facts().UUID, gpu.UUID)
		}
		return d.dev, nil
	}
}
