package cli

import (
	"context"
	"fmt"
)

// runBench is `gputune bench`.
func runBench(ctx context.Context, args []string, std IO) error {
	return fmt.Errorf("bench: not built yet (issue 7)")
}
