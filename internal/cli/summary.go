package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/gputune/gputune/internal/exporter"
)

// summaryLine is the one line the TUI leaves on the terminal when it quits:
// how long it ran, the energy measured, the estimated saving against the
// default governor and whether the clocks were given back.
func summaryLine(t exporter.Totals, gpus int, giveBack error) string {
	parts := []string{"gputune: ran " + fmtRunDuration(t.Duration), "energy " + fmtJoules(t.EnergyJ)}
	switch {
	case t.Counted == 0:
		parts = append(parts, "saved vs default governor – (no baseline measured)")
	default:
		saving := "saved ~" + fmtJoules(t.SavedJ)
		if base := t.EnergyJ + t.SavedJ; base > 0 {
			saving += fmt.Sprintf(" (%.1f %%)", 100*t.SavedJ/base)
		}
		parts = append(parts, saving+" vs default governor")
	}
	switch {
	case giveBack != nil:
		parts = append(parts, "CLOCKS NOT ALL GIVEN BACK: run gputune reset")
	case gpus == 1:
		parts = append(parts, "clocks given back")
	default:
		parts = append(parts, fmt.Sprintf("clocks of %d GPUs given back", gpus))
	}
	return strings.Join(parts, " · ")
}

func fmtJoules(j float64) string {
	a := j
	if a < 0 {
		a = -a
	}
	switch {
	case a >= 1e6:
		return fmt.Sprintf("%.2f MJ", j/1e6)
	case a >= 1e3:
		return fmt.Sprintf("%.1f kJ", j/1e3)
	}
	return fmt.Sprintf("%.0f J", j)
}

// fmtRunDuration is h:mm:ss.
func fmtRunDuration(d time.Duration) string {
	s := int64(d / time.Second)
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s%3600/60, s%60)
}
