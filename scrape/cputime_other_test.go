//go:build !unix

package scrape

import "time"

func processCPUTime() (time.Duration, bool) { return 0, false }
