//go:build !gputune_testhooks

package cli

// faultWanted is "" in a release build: no environment variable can make it
// panic.
func faultWanted() string { return "" }
