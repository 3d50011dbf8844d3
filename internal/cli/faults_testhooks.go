//go:build gputune_testhooks

package cli

import (
	"os"

	"github.com/gputune/gputune/nvgpu/recordgpu"
)

// faultWanted returns the injected fault (GPUTUNE_TEST_PANIC) when the fake
// GPU is in use, "" otherwise.
func faultWanted() string {
	if _, fake := recordgpu.FromEnv(); !fake {
		return ""
	}
	return os.Getenv(faultEnv)
}
