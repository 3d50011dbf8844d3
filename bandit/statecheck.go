package bandit

import "fmt"

// stateCheck validates a restored state field by field and keeps the first
// failure, so that the error names the field that is wrong rather than
// saying only that something is.
type stateCheck struct {
	policy string
	err    error
}

func (c *stateCheck) fail(field, format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: %s state field %q %s", ErrState, c.policy, field, fmt.Sprintf(format, args...))
	}
}

// length requires a table of exactly want entries.
func (c *stateCheck) length(field string, got, want int) {
	if got != want {
		c.fail(field, "has %d entries, want %d", got, want)
	}
}

// allFinite requires every value to be a finite number.
func (c *stateCheck) allFinite(field string, v []float64) {
	for i, x := range v {
		if !finite(x) {
			c.fail(field, "has a non-finite value (%v) at index %d", x, i)
			return
		}
	}
}

// finite requires one finite number.
func (c *stateCheck) finite(field string, v float64) {
	if !finite(v) {
		c.fail(field, "is %v, want a finite number", v)
	}
}

// within requires lo ≤ v ≤ hi.
func (c *stateCheck) within(field string, v, lo, hi int) {
	if v < lo || v > hi {
		c.fail(field, "is %d, want %d to %d", v, lo, hi)
	}
}

// atLeast requires v ≥ lo.
func (c *stateCheck) atLeast(field string, v, lo int) {
	if v < lo {
		c.fail(field, "is %d, want at least %d", v, lo)
	}
}

// indices requires every entry to index one of n arms.
func (c *stateCheck) indices(field string, v []int, n int) {
	for k, i := range v {
		if i < 0 || i >= n {
			c.fail(field, "entry %d is arm %d, want 0 to %d", k, i, n-1)
			return
		}
	}
}
