package bandit

// ConvergeWindow and ConvergeShare define convergence for the whole project.
const (
	ConvergeWindow = 100
	ConvergeShare  = 0.9
)

// ConvergeRound is the project's convergence definition: the first round r
// such that, of the next ConvergeWindow windows (r … r+99), at least 90 ran
// within ±1 step of bestMHz. chosenMHz holds the core clock in effect in
// each window of one stationary segment, from the segment's start. ok is
// false when no such r exists in the data (too short, or never converged).
func ConvergeRound(chosenMHz []int, bestMHz, stepMHz int) (round int, ok bool) {
	if stepMHz < 0 || len(chosenMHz) < ConvergeWindow {
		return 0, false
	}
	need := int(ConvergeShare * ConvergeWindow)
	near := func(f int) int {
		if abs(f-bestMHz) <= stepMHz {
			return 1
		}
		return 0
	}
	in := 0
	for _, f := range chosenMHz[:ConvergeWindow] {
		in += near(f)
	}
	for r := 0; ; r++ {
		if in >= need {
			return r, true
		}
		if r+ConvergeWindow >= len(chosenMHz) {
			return 0, false
		}
		in += near(chosenMHz[r+ConvergeWindow]) - near(chosenMHz[r])
	}
}
