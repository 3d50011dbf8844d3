// Package e2e holds out-of-process tests of the real gputune binary: it is
// built once per test run and driven as a user would, with the recordgpu fake
// GPU (GPUTUNE_FAKE_GPU) standing in for NVML, so every lock and reset lands
// in a call log the tests read after the processes are gone. There is no
// non-test code here.
package e2e
