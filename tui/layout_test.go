package tui

import "testing"

func TestLayoutKinds(t *testing.T) {
	tests := []struct {
		w, h int
		want layoutKind
	}{
		{240, 80, layoutWide}, {120, 40, layoutWide}, {120, 24, layoutWide},
		{119, 40, layoutStacked}, {80, 24, layoutStacked},
		{79, 40, layoutCompact}, {119, 23, layoutCompact}, {40, 10, layoutCompact},
		{39, 40, layoutTiny}, {200, 9, layoutTiny}, {20, 5, layoutTiny}, {0, 0, layoutTiny},
	}
	for _, tt := range tests {
		if got := computeLayout(tt.w, tt.h, 6, 1).Kind; got != tt.want {
			t.Errorf("%dx%d: %v, want %v", tt.w, tt.h, got, tt.want)
		}
	}
}

// TestLayoutBoxesInsideAndApart checks, like nvtop's layout tests, that no
// pane leaves the screen and no two panes overlap, at every size.
func TestLayoutBoxesInsideAndApart(t *testing.T) {
	for w := 0; w <= 260; w++ {
		for h := 0; h <= 90; h++ {
			for _, c := range [][2]int{{0, 1}, {6, 1}, {40, 1}, {6, 4}, {40, 16}} {
				nf, ng := c[0], c[1]
				l := computeLayout(w, h, nf, ng)
				boxes := map[string]box{"header": l.Header, "strip": l.Strip, "arms": l.Arms, "sparks": l.Sparks,
					"features": l.Features, "pruned": l.Pruned, "footer": l.Footer}
				for name, b := range boxes {
					if b.H < 0 || b.W < 0 || b.H > 0 && (b.X < 0 || b.Y < 0 || b.X+b.W > w || b.Y+b.H > h) {
						t.Fatalf("%dx%d: %s %+v leaves the screen", w, h, name, b)
					}
				}
				for n1, a := range boxes {
					for n2, b := range boxes {
						if n1 < n2 && overlap(a, b) {
							t.Fatalf("%dx%d: %s %+v overlaps %s %+v", w, h, n1, a, n2, b)
						}
					}
				}
				if l.Kind != layoutTiny && l.Arms.H < 3 {
					t.Fatalf("%dx%d: arms get %d rows", w, h, l.Arms.H)
				}
				if wantStrip := l.Kind != layoutTiny && ng > 1; (l.Strip.H == 1) != wantStrip || l.Strip.H > 1 {
					t.Fatalf("%dx%d with %d GPUs (%v): strip %+v", w, h, ng, l.Kind, l.Strip)
				}
			}
		}
	}
}

func overlap(a, b box) bool {
	if a.W <= 0 || a.H <= 0 || b.W <= 0 || b.H <= 0 {
		return false
	}
	return a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H
}
