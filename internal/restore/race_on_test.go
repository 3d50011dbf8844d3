//go:build race

package restore

const raceEnabled = true
