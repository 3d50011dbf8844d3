// Package fleettest holds the end-to-end tests of running gputune on a
// node of several GPUs under a real Prometheus: the real binary, built by
// the test, in demo mode with four simulated GPUs, scraped by the Debian
// prometheus package's server and queried through its HTTP API.
package fleettest
