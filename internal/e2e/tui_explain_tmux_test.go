package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The TUI explains itself at every size a user might have: no NaN, no
// negative predicted latency, the SLO mode in the header, a legend under
// `?` (scrolled to where it does not fit), and `q` leaves a one-line
// summary as the last line on the terminal.
func TestTUIExplainsItselfInTmux(t *testing.T) {
	tmuxRequire(t)
	bin := tmuxBinary(t)
	for _, size := range [][2]int{{60, 15}, {80, 24}, {120, 40}, {200, 60}} {
		w, h := size[0], size[1]
		t.Run(strconv.Itoa(w)+"x"+strconv.Itoa(h), func(t *testing.T) {
			dir := t.TempDir()
			p := tmuxStartSized(t, dir, w, h, bin, "--demo", "--speed", "10", "--data-dir", dir, "--log-dir", dir)
			// Past the warm-up: the table is full of the policy's numbers.
			screen := p.waitFor("the policy deciding", func(s string) bool {
				return regexp.MustCompile(`\b(EXPLORE|EXPLOIT)\b`).MatchString(tmuxHeader(s))
			})
			for range 10 {
				tmuxCheckHonest(t, screen)
				time.Sleep(300 * time.Millisecond)
				screen = p.capture()
			}

			p.keys("?")
			seen := p.waitText("keys")
			// Scroll page by page to the end ("41–51 of 51"), keeping every
			// page seen.
			endRe := regexp.MustCompile(`(\d+) of (\d+)`)
			for range 30 {
				m := endRe.FindStringSubmatch(tmuxHeaderLines(seen, 3))
				if m == nil || m[1] == m[2] {
					break
				}
				p.keys("PageDown")
				time.Sleep(150 * time.Millisecond)
				seen = p.capture() + "\n" + seen
			}
			for _, want := range []string{"clock table", "est", "tries", "pruned", "unsafe"} {
				if !strings.Contains(seen, want) {
					t.Errorf("the help, scrolled to its end, never shows the legend's %q:\n%s", want, seen)
				}
			}
			p.keys("Escape")
			// Wait for the overlay to close before q: an escape byte and a
			// q read together are alt+q, which quits nothing.
			p.waitFor("the help overlay to close", func(s string) bool {
				return !strings.Contains(tmuxHeaderLines(s, 3), "?/esc close")
			})

			p.keys("q")
			screen = p.waitText("EXIT=")
			if !strings.Contains(screen, "EXIT=0") {
				t.Fatalf("gputune did not exit 0:\n%s", screen)
			}
			var lines []string
			for _, l := range strings.Split(screen, "\n") {
				if strings.TrimSpace(l) != "" {
					lines = append(lines, l)
				}
			}
			// The summary may wrap at a narrow width: join what is above
			// EXIT= back to the terminal's last logical line.
			exit := len(lines) - 1
			for exit > 0 && !strings.HasPrefix(lines[exit], "EXIT=") {
				exit--
			}
			start := exit - 1
			for start > 0 && !strings.HasPrefix(lines[start], "gputune: ran ") {
				start--
			}
			summary := strings.Join(lines[start:exit], "")
			for _, want := range []string{"gputune: ran ", "energy ", "default governor", "clocks given back"} {
				if !strings.Contains(summary, want) {
					t.Errorf("the last line is not the summary (no %q):\n%s", want, screen)
				}
			}
		})
	}
}

// tmuxHeaderLines is the first n lines of screen.
func tmuxHeaderLines(screen string, n int) string {
	lines := strings.SplitN(screen, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

var negLatencyRe = regexp.MustCompile(`-\d+(\.\d+)? ms`)

// tmuxCheckHonest fails on NaN, on a negative latency and on a header
// without its SLO mode.
func tmuxCheckHonest(t *testing.T, screen string) {
	t.Helper()
	if strings.Contains(screen, "NaN") {
		t.Fatalf("NaN on screen:\n%s", screen)
	}
	if negLatencyRe.MatchString(screen) {
		t.Fatalf("a negative latency on screen:\n%s", screen)
	}
	header := tmuxHeader(screen)
	if !strings.Contains(header, "slo-aware") && !strings.Contains(header, "edp") {
		t.Fatalf("the header has no SLO mode: %q", header)
	}
	tmuxCheckLatencyColumns(t, screen)
}

// tmuxCheckLatencyColumns reads the TTFT and TPOT columns of the clock
// table and fails on a negative value.
func tmuxCheckLatencyColumns(t *testing.T, screen string) {
	t.Helper()
	lines := strings.Split(screen, "\n")
	for i, l := range lines {
		for _, col := range []string{"TTFT ms", "TPOT ms"} {
			at := strings.Index(l, col)
			if at < 0 || !strings.Contains(l, "MHz") {
				continue
			}
			end := len([]rune(l[:at])) + len(col)
			for _, row := range lines[i+1:] {
				r := []rune(row)
				if len(r) < end {
					continue
				}
				cell := strings.TrimSpace(strings.TrimRight(string(r[end-len(col):end]), "!"))
				if v, err := strconv.ParseFloat(cell, 64); err == nil && v < 0 {
					t.Fatalf("%s %v on screen:\n%s", col, v, screen)
				}
			}
		}
	}
}
