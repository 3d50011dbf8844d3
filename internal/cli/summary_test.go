package cli

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gputune/gputune/internal/exporter"
)

func TestSummaryLine(t *testing.T) {
	tests := []struct {
		name     string
		t        exporter.Totals
		gpus     int
		giveBack error
		want     []string
	}{
		{"saving", exporter.Totals{Duration: 74 * time.Second, EnergyJ: 23100, SavedJ: 3000, Counted: 10}, 1, nil,
			[]string{"ran 0:01:14", "energy 23.1 kJ", "saved ~3.0 kJ (11.5 %) vs default governor", "clocks given back"}},
		{"no baseline", exporter.Totals{Duration: time.Hour, EnergyJ: 5e6, Skipped: 4}, 2, nil,
			[]string{"ran 1:00:00", "5.00 MJ", "– (no baseline measured)", "clocks of 2 GPUs given back"}},
		{"not given back", exporter.Totals{}, 1, errors.New("nvml"), []string{"CLOCKS NOT ALL GIVEN BACK"}},
	}
	for _, tt := range tests {
		got := summaryLine(tt.t, tt.gpus, tt.giveBack)
		if strings.Contains(got, "\n") {
			t.Errorf("%s: more than one line: %q", tt.name, got)
		}
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tt.name, got, w)
			}
		}
	}
}
