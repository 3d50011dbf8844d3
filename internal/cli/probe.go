package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/gputune/gputune/internal/buildinfo"
	"github.com/gputune/gputune/internal/probe"
	"github.com/gputune/gputune/internal/restore"
	"github.com/gputune/gputune/nvgpu"
)

// probeFlags are `gputune probe`'s flags.
type probeFlags struct {
	fs                      *flag.FlagSet
	configPath, url, runDir string
	gpu                     int
	asJSON                  bool
}

func newProbeFlags() *probeFlags {
	f := &probeFlags{fs: flag.NewFlagSet("gputune probe", flag.ContinueOnError)}
	f.fs.StringVar(&f.configPath, "config", "", configFlagHelp)
	f.fs.StringVar(&f.url, "metrics-url", "", "the inference server's Prometheus endpoint (default: the config's scrape.metrics_url)")
	f.fs.IntVar(&f.gpu, "gpu", 0, "GPU index")
	f.fs.BoolVar(&f.asJSON, "json", false, `print one JSON object with keys "version", "revision", "gpu" and "metrics"`)
	f.fs.StringVar(&f.runDir, "run-dir", "", "folder of gputune's state files (default /run/gputune as root)")
	return f
}

func (f *probeFlags) help(w io.Writer) {
	commandHelp("gputune probe [flags]", `Reports what gputune sees on this machine: the GPU (model, clocks, power,
whether clocks can be set) and the inference server's metrics. Read-only:
it changes nothing. Exit 0 when every part works, 1 when one does not.`, f.fs)(w)
}

// runProbe is `gputune probe`: what gputune sees on this machine. It is
// read-only: it gets no controller and changes nothing to find out.
func runProbe(ctx context.Context, args []string, std IO) error {
	f := newProbeFlags()
	pos, err := parseArgs(f.fs, args, std.Out, f.help)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("probe takes no arguments, got %q (see gputune probe --help)", pos[0])
	}
	if f.gpu < 0 {
		return usagef("--gpu %d: must be a GPU index (0, 1, ...)", f.gpu)
	}
	cfg, path, err := loadConfig(f.configPath)
	if err != nil {
		return err
	}
	if f.url != "" {
		cfg.Scrape.MetricsURL = f.url
	}
	if err := cfg.Validate(); err != nil {
		if f.url != "" && !isHTTPURL(f.url) {
			return usagef("--metrics-url %q: must be an http(s) URL such as http://127.0.0.1:8000/metrics", f.url)
		}
		return err
	}
	log := newLogger(cfg, std.Err, true)
	log.Info("configuration", "file", configSource(path))
	be := newBackend(log)
	opts := probe.Options{MetricsURL: cfg.Scrape.MetricsURL}
	gpu, runDir, asJSON := &f.gpu, &f.runDir, &f.asJSON
	d, err := be.open(ctx, *gpu)
	if err != nil {
		opts.ReaderErr = err
	} else {
		defer d.close()
		var reader nvgpu.Reader = d.dev // the reader side only
		opts.Reader = reader
		dir := *runDir
		if dir == "" {
			dir = restore.DefaultDir()
		}
		opts.LockStatus = lockStatus(dir, reader.Facts().UUID)
	}
	rep := probe.Run(ctx, opts)
	bi := buildinfo.Read()
	rep.Version, rep.Revision = bi.Version, bi.Revision
	if *asJSON {
		err = rep.WriteJSON(std.Out)
	} else {
		err = rep.WriteText(std.Out)
	}
	if err != nil {
		return err
	}
	if !rep.OK() {
		return exitStatus(exitFailure)
	}
	return nil
}

// lockStatus says, without touching anything, whether a gputune holds the
// GPU or left a stale lock.
func lockStatus(dir, uuid string) string {
	entries, err := restore.Inspect(dir)
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	for _, e := range entries {
		if !strings.EqualFold(e.UUID, uuid) {
			continue
		}
		switch {
		case e.Held:
			return fmt.Sprintf("held by gputune pid %d (core %d MHz, memory %d MHz locked)", e.State.PID, e.State.CoreLockedMHz, e.State.MemLockedMHz)
		case e.Stale:
			return fmt.Sprintf("stale lock from pid %d: run gputune reset --gpu %d", e.State.PID, e.State.GPUIndex)
		}
	}
	return "none"
}

// isHTTPURL reports whether s is an absolute http(s) URL with a host.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
