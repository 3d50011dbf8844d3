package cli

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/gputune/gputune/internal/exporter"
	"github.com/gputune/gputune/internal/restore"
)

// serveMetrics binds --listen now (a taken or malformed address fails
// before any loop runs) and serves every loop's snapshots as gputune's own
// Prometheus /metrics until the session ends.
func serveMetrics(addr string, loops []tuned, group *restore.Group, log *slog.Logger) error {
	exp := exporter.New()
	srv, err := exporter.Listen(addr, exp, log)
	if err != nil {
		return err
	}
	for _, t := range loops {
		// A deep buffer: the saved-energy estimate wants every window.
		sub := t.loop.Subscribe(64)
		group.Go(fmt.Sprintf("exporter-gpu%d", t.facts.Index), func(ctx context.Context) error {
			exp.Follow(ctx, sub)
			return nil
		})
	}
	group.Go("metrics-server", srv.Serve)
	return nil
}
