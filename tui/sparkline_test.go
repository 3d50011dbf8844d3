package tui

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSparkScalesToOwnRange(t *testing.T) {
	// 250..300 W must span the lowest to the highest level, not sit near
	// the top as it would if scaled from zero.
	got := spark([]float64{250, 275, 300}, 3, false, math.NaN(), paint{}, paint{})
	if got != "▁▅█" {
		t.Fatalf("spark = %q, want %q", got, "▁▅█")
	}
	if got := spark([]float64{250, 275, 300}, 3, true, math.NaN(), paint{}, paint{}); got != "_-#" {
		t.Fatalf("ascii spark = %q, want %q", got, "_-#")
	}
}

func TestSparkShapes(t *testing.T) {
	tests := []struct {
		name  string
		vals  []float64
		width int
		want  string
	}{
		{"right-aligned when short", []float64{1, 2}, 5, "   ▁█"},
		{"newest kept when long", []float64{9, 9, 9, 1, 2}, 2, "▁█"},
		{"flat sits mid-height", []float64{7, 7, 7}, 3, "▅▅▅"},
		{"NaN is a gap", []float64{1, math.NaN(), 2}, 3, "▁ █"},
		{"all NaN is blank", []float64{math.NaN(), math.NaN()}, 2, "  "},
		{"empty is blank", nil, 4, "    "},
		{"zero width", []float64{1, 2}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := spark(tt.vals, tt.width, false, math.NaN(), paint{}, paint{})
			if got != tt.want {
				t.Fatalf("spark = %q, want %q", got, tt.want)
			}
			if n := utf8.RuneCountInString(got); n != tt.width {
				t.Fatalf("%d cells, want %d", n, tt.width)
			}
		})
	}
}

func TestSparkMarksValuesOverLimit(t *testing.T) {
	hot := paint{pre: "<", post: ">"}
	got := spark([]float64{0.1, 0.6, 0.7, 0.2}, 4, true, 0.5, paint{}, hot)
	if want := "_<=#>."; got != want {
		t.Fatalf("spark = %q, want %q", got, want)
	}
	if strings.Contains(spark([]float64{0.1, 0.2}, 2, true, math.NaN(), paint{}, hot), "<") {
		t.Fatal("no limit marked values as over it")
	}
}

func TestRingKeepsNewest(t *testing.T) {
	r := newRing(3)
	for i := 1; i <= 5; i++ {
		r.push(float64(i))
	}
	got := r.lastN(10, nil)
	if len(got) != 3 || got[0] != 3 || got[2] != 5 {
		t.Fatalf("lastN = %v, want [3 4 5]", got)
	}
	if got := r.lastN(2, nil); got[0] != 4 || got[1] != 5 {
		t.Fatalf("lastN(2) = %v, want [4 5]", got)
	}
}

func TestHistoryIsBoundedAndSkipsRepeats(t *testing.T) {
	h := newHistory(historyLen)
	for r := 0; r < 3*historyLen; r++ {
		s := testSnapshot(r)
		h.add(s)
		h.add(s) // the same snapshot again must not count twice
	}
	if n := h.power.len(); n != historyLen {
		t.Fatalf("power history holds %d, want %d", n, historyLen)
	}
	if n := h.features["running"].len(); n != featureTrendLen {
		t.Fatalf("feature trend holds %d, want %d", n, featureTrendLen)
	}
	h2 := newHistory(10)
	h2.add(testSnapshot(1))
	h2.add(testSnapshot(1))
	if n := h2.power.len(); n != 1 {
		t.Fatalf("a republished snapshot was counted: %d samples", n)
	}
}

// TestUnmeasuredLatestValueIsADash: a window with no tokens out has no EDP
// per token; the value column says so instead of printing NaN.
func TestUnmeasuredLatestValueIsADash(t *testing.T) {
	m, _ := testModel(t, 120, 40, 5, nil)
	s := testSnapshot(6)
	s.EDPPerToken = math.NaN()
	v := step(t, m, snapshotMsg{snap: s}).View()
	if strings.Contains(v, "NaN") {
		t.Fatalf("NaN printed:\n%s", v)
	}
	for _, l := range strings.Split(v, "\n") {
		if strings.Contains(l, "EDP/tok") && !strings.Contains(l, " "+none) && !strings.HasSuffix(strings.TrimRight(l, " "), none) {
			t.Fatalf("EDP/tok line has no dash for the unmeasured value: %q", l)
		}
	}
}
