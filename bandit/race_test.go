//go:build race

package bandit

const raceEnabled = true
