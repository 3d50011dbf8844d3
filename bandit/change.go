package bandit

import "math"

// Change detection. The steady-state model's demand and prefill means
// remember ~1,000 windows (5 min) so that a Poisson load's fluctuations do
// not move the chosen clock; after a real shift in load that memory is what
// kept the exploit clock at the old level for minutes (on the conversation
// trace, minutes 35–48 at 1,125–1,215 MHz against a best of 900–1,020). A
// two-sided CUSUM on the served rate's log, averaged over blocks of
// changeBlock windows (windows are correlated: a batch lasts many of them,
// and a per-window CUSUM raised ~20 alarms per 3,000 stationary windows) and
// standardised by the blocks' own spread, tells a shift from noise; on an alarm the means keep only
// changeKeepWindows windows' worth of their past, so they follow the new
// level within seconds, and the model re-decides from there. The fitted
// relations are not touched: a load shift moves their inputs, not them.
//
// Windows with requests waiting for admission are not observed: they served
// what the clock allowed, not the demand, and a clock set too low would
// otherwise read as a fall in load, shorten the means, lower the demand the
// model solves for and lower the clock further (on the phases workload,
// seeds 4–8, the policy then ran at 500–800 MHz against a best of 930).

const (
	// changeBlock is how many windows one CUSUM step averages (3 s).
	changeBlock = 10
	// changeSlack (k) and changeAlarm (h) are the CUSUM's allowance and
	// threshold in standard deviations of a block's mean log rate.
	changeSlack = 0.5
	changeAlarm = 10
	// changeVarMemory is the discount of the spread estimate (~50 blocks).
	changeVarMemory = 0.98
	// changeKeepWindows is the weight the means keep after an alarm.
	changeKeepWindows = 2
	// changeMinBlocks: no alarm before the spread has this many blocks.
	changeMinBlocks = 10
)

// changeDetector is a two-sided CUSUM on block means of the log served rate
// against the model's demand mean.
type changeDetector struct {
	up, down   float64 // the two cumulative sums
	varSum, vw float64 // discounted squared block deviations and their weight
	sum        float64 // deviations summed over the current block
	inBlock    int     // windows in the current block
	blocks     int     // blocks seen since the last alarm or reset
	alarms     int     // alarms since the model started
	level      float64 // mean log rate of the block that raised the last alarm
}

func (c *changeDetector) reset() { *c = changeDetector{} }

// observe adds one window's log rate x against the reference mean mu and
// reports whether a shift is detected; on an alarm the sums start again.
func (c *changeDetector) observe(x, mu float64) bool {
	if !finite(x) || !finite(mu) {
		return false
	}
	c.sum += x - mu
	c.inBlock++
	if c.inBlock < changeBlock {
		return false
	}
	d := c.sum / changeBlock
	c.sum, c.inBlock = 0, 0
	c.blocks++
	if c.blocks > changeMinBlocks && c.vw > 0 {
		if sd := math.Sqrt(c.varSum / c.vw); sd > 0 {
			z := d / sd
			c.up = max(0, c.up+z-changeSlack)
			c.down = max(0, c.down-z-changeSlack)
			if c.up > changeAlarm || c.down > changeAlarm {
				c.up, c.down, c.blocks = 0, 0, 0
				c.varSum, c.vw = 0, 0
				c.alarms++
				c.level = mu + d
				return true
			}
		}
	}
	c.varSum = changeVarMemory*c.varSum + d*d
	c.vw = changeVarMemory*c.vw + 1
	return false
}

// shorten keeps changeKeepWindows windows' worth of the demand and prefill
// means, the prefill rate's second moment and the planner's output length,
// so that the windows after a shift outweigh the level before it.
func (s *steadyModel) shorten() {
	s.plan.shortenLength(changeKeepWindows)
	if s.meanW <= changeKeepWindows {
		return
	}
	f := changeKeepWindows / s.meanW
	s.demandSum *= f
	s.preSum *= f
	s.preSq *= f
	s.meanW = changeKeepWindows
}
