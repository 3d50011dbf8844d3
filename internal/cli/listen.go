package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/internal/exporter"
	"github.com/gputune/gputune/internal/restore"
)

// serveMetrics binds --listen now (a taken or malformed address, or a bad
// --web.config.file, fails before any loop runs) and serves every loop's
// snapshots as gputune's own Prometheus /metrics until the session ends.
func serveMetrics(cfg config.Config, f *runFlags, loops []tuned, group *restore.Group, log *slog.Logger) error {
	var opts exporter.Options
	if cfg.Demo.Enabled {
		opts.Speed = cfg.Demo.Speed // the demo's counters run on simulated time
	} else {
		dir := cfg.GPU.RunDir
		if dir == "" {
			dir = restore.DefaultDir()
		}
		opts.StaleStates = func() (int, error) { return countStale(dir) }
	}
	exp := exporter.New(opts)
	srv, err := exporter.Listen(f.listen, exp, log, exporter.ServerOptions{WebConfigFile: f.webConfig})
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	follow(exp, loops, group)
	group.Go("metrics-server", srv.Serve)
	return nil
}

// follow feeds every loop's snapshots to exp until the session ends.
func follow(exp *exporter.Exporter, loops []tuned, group *restore.Group) {
	for _, t := range loops {
		// A deep buffer: the saved-energy estimate wants every window.
		sub := t.loop.Subscribe(64)
		group.Go(fmt.Sprintf("exporter-gpu%d", t.facts.Index), func(ctx context.Context) error {
			exp.Follow(ctx, sub)
			return nil
		})
	}
}

// checkListen refuses a malformed --listen address before anything starts
// (exit 2); a well-formed one that cannot be bound fails later, at bind.
func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		var n int
		n, err = strconv.Atoi(port)
		if err == nil && (n < 0 || n > 65535) {
			err = fmt.Errorf("port %d is out of range", n)
		}
	}
	if err != nil {
		return usagef("--listen %q is not an address: give host:port, such as 127.0.0.1:10220 (%v)", addr, err)
	}
	return nil
}

// countStale counts the state files no live gputune holds, read-only.
func countStale(dir string) (int, error) {
	entries, err := restore.Inspect(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if e.Stale {
			n++
		}
	}
	return n, nil
}
