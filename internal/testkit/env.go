package testkit

import (
	"os"
	"strings"
)

// CleanEnv is this process's environment without any GPUTUNE_ variable (a
// stray GPUTUNE_WORKER, GPUTUNE_FAKE_GPU or GPUTUNE_RUN_DIR would change
// what a gputune process does), and without any variable that starts with
// one of drop, plus extra.
func CleanEnv(drop []string, extra ...string) []string {
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, p := range append([]string{"GPUTUNE_"}, drop...) {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}
