package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/gputune/gputune/internal/testkit"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The terminal UI end to end: the real `gputune --demo` in a private tmux
// server at 120×40, driven by keys as a user would, its screen captured
// after each step and the simulated GPU's own ground-truth gauge read over
// HTTP to check that what the screen says reached the (simulated) GPU.

const (
	tmuxCols, tmuxRows = 120, 40
	// tmuxFirstScreen is the budget for every pane to be on screen.
	tmuxFirstScreen = 3 * time.Second
	// tmuxStepLimit bounds every other wait: each step takes well under a
	// second; a 2-core machine shared with other builds needs headroom.
	tmuxStepLimit = 15 * time.Second
	// tmuxPeriod is the loop's default period (control.period).
	tmuxPeriod = 300 * time.Millisecond
)

// TestTUIDemoInTmux builds gputune once and runs both checks on it: the
// key walk-through at --speed 10 and the loop's cadence under the TUI at
// --speed 1.
func TestTUIDemoInTmux(t *testing.T) {
	tmuxRequire(t)
	bin := tmuxBinary(t)
	t.Run("keys", func(t *testing.T) { tmuxKeysWalkthrough(t, bin) })
	t.Run("cadence", func(t *testing.T) { tmuxCadence(t, bin) })
}

// tmuxRequire skips without tmux, except under GPUTUNE_E2E=1 (CI), where a
// missing tmux is a failure: .ci/run installs it.
func tmuxRequire(t *testing.T) {
	t.Helper()
	testkit.RequireTool(t, "tmux", "apt-get install tmux; .ci/run installs it")
	if testing.Short() && os.Getenv(testkit.E2EEnv) != "1" {
		t.Skip("out-of-process TUI test in tmux")
	}
}

func tmuxKeysWalkthrough(t *testing.T, bin string) {
	dir := t.TempDir()
	started := time.Now()
	p := tmuxStart(t, dir, bin, "--demo", "--speed", "10", "--data-dir", dir, "--log-dir", dir)

	// Every pane within the 3 s.
	screen, ok := p.poll(tmuxFirstScreen, tmuxAllPanes)
	if !ok {
		t.Fatalf("not every pane on screen %v after start; screen:\n%s", tmuxFirstScreen, screen)
	}
	t.Logf("every pane on screen %v after start", time.Since(started).Round(time.Millisecond))
	if !strings.Contains(tmuxHeader(screen), "AUTO") {
		t.Fatalf("a fresh demo is not AUTO:\n%s", screen)
	}
	metrics := tmuxMetricsURL(t, dir)

	// Pause: the header says so and the commanded clock holds still while
	// the loop keeps cycling (about 30 cycles a second at --speed 10).
	p.keys("p")
	held := tmuxHeaderClock(t, p.waitHeader("PAUSED"))
	for range 8 {
		time.Sleep(100 * time.Millisecond)
		screen := p.capture()
		if !strings.Contains(tmuxHeader(screen), "PAUSED") {
			t.Fatalf("PAUSED did not hold:\n%s", screen)
		}
		if c := tmuxHeaderClock(t, screen); c != held {
			t.Fatalf("paused, yet the commanded clock moved from %d to %d MHz:\n%s", held, c, screen)
		}
	}
	p.keys("p")
	p.waitHeader("AUTO")

	// Pin from the table: the cursor to a known row, enter, and the
	// simulated GPU's own clock follows. The cursor row's clock says when
	// every key has been handled: the first row is the lowest clock, and
	// each row one clock step above the last.
	p.keys(slices.Repeat([]string{"Up"}, 120)...)
	p.keys("Down")
	p.keys("Up")
	// Moving up keeps the cursor on the top visible row, so wait until it
	// stops moving: the keys are all handled.
	first, prev := 0, -1
	p.waitFor("the cursor on the first arm", func(s string) bool {
		first = tmuxCursorClock(s)
		settled := first > 0 && first == tmuxFirstRowClock(s) && first == prev
		prev = first
		if !settled {
			time.Sleep(200 * time.Millisecond)
		}
		return settled
	})
	p.keys("Down")
	step := p.waitFor("the cursor one row down", func(s string) bool { return tmuxCursorClock(s) > first })
	stepMHz := tmuxCursorClock(step) - first
	p.keys(slices.Repeat([]string{"Down"}, 43)...)
	pinned := first + 44*stepMHz
	p.waitFor(fmt.Sprintf("the cursor on the 45th arm (%d MHz)", pinned), func(s string) bool { return tmuxCursorClock(s) == pinned })
	p.keys("Enter")
	want := fmt.Sprintf("PINNED %d MHz", pinned)
	p.waitHeader(want)
	tmuxWaitSimClock(t, metrics, pinned)

	// A bad typed clock says why and changes nothing: still pinned, and the
	// GPU stays on the pinned clock.
	p.keys("f", "1", "2", "3", "4", "5", "Enter")
	screen = p.waitText("12345 MHz is outside the operator bounds")
	if !strings.Contains(tmuxHeader(screen), want) {
		t.Fatalf("a bad f value changed the actuation; want %q:\n%s", want, screen)
	}
	p.keys("f", "1", "0", "0", "1", "Enter")
	screen = p.waitText("1001 MHz is not a supported clock")
	if !strings.Contains(tmuxHeader(screen), want) {
		t.Fatalf("an unsupported f value changed the actuation; want %q:\n%s", want, screen)
	}
	for range 5 {
		if got := tmuxSimClock(t, metrics); got != pinned {
			t.Fatalf("after bad f values the simulated GPU is at %d MHz, want the pinned %d MHz", got, pinned)
		}
		time.Sleep(100 * time.Millisecond)
	}

	p.keys("u")
	p.waitHeader("AUTO")
	p.waitText("unpinned")

	p.keys("m")
	screen = p.waitFor("SLO mode edp in the header", func(s string) bool {
		return strings.Contains(tmuxHeader(s), "edp (no SLO)")
	})
	p.waitText("SLO mode: edp")
	p.keys("m")
	p.waitFor("SLO mode slo-aware in the header", func(s string) bool {
		return strings.Contains(tmuxHeader(s), "slo-aware")
	})

	p.keys("x")
	p.waitText("exploring for 20 decisions within")
	p.waitHeader("EXPLORE")

	// Quit: gputune exits 0 and the simulated server (its GPU given back
	// on the way out) is gone with it.
	p.keys("q")
	screen = p.waitText("EXIT=")
	if !strings.Contains(screen, "EXIT=0") {
		t.Fatalf("gputune did not exit 0:\n%s", screen)
	}
	if err := tmuxGet(metrics); err == nil {
		t.Fatalf("the simulated server still answers %s after quit", metrics)
	}
}

// tmuxCadence runs the demo in real time under the TUI while keys and a
// resize keep the TUI busy, then checks from the decision log that the loop
// kept its period.
func tmuxCadence(t *testing.T, bin string) {
	dir := t.TempDir()
	p := tmuxStart(t, dir, bin, "--demo", "--speed", "1", "--data-dir", dir, "--log-dir", dir)
	// Busy from the first snapshot on: warm-up, then the full arm table.
	p.waitHeader("DEMO")
	const busyFor = 6 * time.Second
	start := time.Now()
	for i := 0; time.Since(start) < busyFor; i++ {
		switch i % 20 {
		case 5:
			p.keys("?")
		case 10:
			p.keys("Escape")
		case 15:
			p.resize(tmuxCols-40+i%3, tmuxRows-10)
		case 19:
			p.resize(tmuxCols, tmuxRows)
		default:
			p.keys("Down", "Down", "Up", "j", "k")
		}
		time.Sleep(50 * time.Millisecond)
	}
	wall := time.Since(start)
	p.keys("q")
	if screen := p.waitText("EXIT="); !strings.Contains(screen, "EXIT=0") {
		t.Fatalf("gputune did not exit 0:\n%s", screen)
	}

	times := tmuxDecisionTimes(t, dir)
	// The first gap may be a skipped start-up period (the loop skips
	// missed periods rather than bursting); judge the steady state.
	if len(times) < 10 {
		t.Fatalf("only %d decisions logged in %v of TUI time", len(times), wall)
	}
	gaps := make([]time.Duration, 0, len(times)-2)
	for i := 2; i < len(times); i++ {
		gaps = append(gaps, times[i].Sub(times[i-1]))
	}
	dev := make([]time.Duration, len(gaps))
	for i, g := range gaps {
		dev[i] = (g - tmuxPeriod).Abs()
	}
	slices.Sort(gaps)
	slices.Sort(dev)
	q := func(d []time.Duration, p float64) time.Duration {
		return d[min(len(d)-1, int(math.Ceil(p*float64(len(d))))-1)]
	}
	span := times[len(times)-1].Sub(times[0])
	t.Logf("cadence under the TUI (--speed 1, %d decisions over %v of loop time, TUI busy for %v of wall time): "+
		"gap min %v p50 %v p95 %v max %v; |gap-%v| p50 %v p95 %v p99 %v max %v",
		len(times), span.Round(time.Millisecond), wall.Round(time.Millisecond),
		gaps[0], q(gaps, 0.5), q(gaps, 0.95), gaps[len(gaps)-1],
		tmuxPeriod, q(dev, 0.5), q(dev, 0.95), q(dev, 0.99), dev[len(dev)-1])
	if p95 := q(dev, 0.95); p95 > 100*time.Millisecond {
		t.Errorf("the loop lost its cadence under the TUI: p95 |gap-%v| = %v, want ≤ 100ms", tmuxPeriod, p95)
	}
	// One decision per period, none skipped: a cycle that overran would
	// make the loop skip the missed periods.
	if want := int(0.9 * float64(span) / float64(tmuxPeriod)); len(times)-1 < want {
		t.Errorf("%d decisions over %v of loop time, want at least %d", len(times), span, want)
	}
	// At --speed 1 the loop's (simulated) clock keeps pace with the wall:
	// a stalled simulator would stretch every gap in wall time while the
	// logged gaps still looked regular.
	if span < wall*9/10 {
		t.Errorf("the log spans %v of loop time, less than the %v of wall time the TUI ran", span, wall)
	}
}

// tmuxAllPanes reports whether every pane is on screen: the header with a
// mode and the DEMO badge, the arm table with rows, the sparklines with
// data, the context and pruned panes and the footer's key help.
func tmuxAllPanes(screen string) bool {
	header := tmuxHeader(screen)
	if !strings.Contains(header, "DEMO") || !regexp.MustCompile(`\b(WARMUP|EXPLORE|EXPLOIT)\b`).MatchString(header) {
		return false
	}
	for _, pane := range []string{"clocks", "tries", "history", "context", "pruned", "? help", "q quit"} {
		if !strings.Contains(screen, pane) {
			return false
		}
	}
	return regexp.MustCompile(`(?m)^\s*>?\s+\d{3,4}\s+-?\d`).MatchString(screen) && // an arm row with scores
		regexp.MustCompile(`power\s+[▁▂▃▄▅▆▇█]`).MatchString(screen) // a sparkline with a sample
}

var (
	tmuxClockRe  = regexp.MustCompile(`clock (\d+) MHz`)
	tmuxCursorRe = regexp.MustCompile(`(?m)^>\s+(\d+)\s`)
	tmuxRowRe    = regexp.MustCompile(`(?m)^[> ]\s+(\d{3,4})\s+-?\d`)
	tmuxURLRe    = regexp.MustCompile(`metrics_url=(\S+)`)
)

func tmuxHeader(screen string) string {
	line, _, _ := strings.Cut(screen, "\n")
	return line
}

// tmuxStatusLine is the header's second line (clock, power, SLO mode...).
func tmuxStatusLine(screen string) string {
	lines := strings.SplitN(screen, "\n", 3)
	if len(lines) < 2 {
		return ""
	}
	return lines[1]
}

func tmuxHeaderClock(t *testing.T, screen string) int {
	t.Helper()
	m := tmuxClockRe.FindStringSubmatch(tmuxStatusLine(screen))
	if m == nil {
		t.Fatalf("no commanded clock in the header:\n%s", screen)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// tmuxFirstRowClock is the clock of the table's first row, 0 if none.
func tmuxFirstRowClock(screen string) int {
	m := tmuxRowRe.FindStringSubmatch(screen)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// tmuxCursorClock is the core clock of the row under the cursor, 0 if none.
func tmuxCursorClock(screen string) int {
	m := tmuxCursorRe.FindStringSubmatch(screen)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// tmuxMetricsURL reads the simulated server's address from gputune's log
// (with the TUI on, logs go to <log-dir>/gputune.log).
func tmuxMetricsURL(t *testing.T, logDir string) string {
	t.Helper()
	deadline := time.Now().Add(tmuxStepLimit)
	for {
		b, _ := os.ReadFile(filepath.Join(logDir, "gputune.log"))
		if m := tmuxURLRe.FindSubmatch(b); m != nil {
			return string(m[1])
		}
		if time.Now().After(deadline) {
			t.Fatalf("no metrics_url in %s/gputune.log:\n%s", logDir, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tmuxGet(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// tmuxSimClock scrapes the simulator's ground-truth SM clock gauge.
func tmuxSimClock(t *testing.T, url string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scraping the simulator: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "sim_gpu_sm_clock_mhz") {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			t.Fatalf("bad sim_gpu_sm_clock_mhz line %q: %v", line, err)
		}
		return int(math.Round(v))
	}
	t.Fatalf("no sim_gpu_sm_clock_mhz on %s (scan: %v)", url, sc.Err())
	return 0
}

func tmuxWaitSimClock(t *testing.T, url string, mhz int) {
	t.Helper()
	deadline := time.Now().Add(tmuxStepLimit)
	for {
		got := tmuxSimClock(t, url)
		if got == mhz {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the simulated GPU is at %d MHz, want %d MHz", got, mhz)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tmuxDecisionTimes reads the `time` of every line of the decision log(s)
// under dir/<gpu model>/.
func tmuxDecisionTimes(t *testing.T, dir string) []time.Time {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*", "decisions-*.jsonl"))
	if err != nil || len(files) != 1 {
		t.Fatalf("want one decision log under %s, got %v (%v)", dir, files, err)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var times []time.Time
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var line struct {
			Time time.Time `json:"time"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("decision log line %d: %v", len(times)+1, err)
		}
		times = append(times, line.Time)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return times
}

// tmuxPane is one command in a private tmux server (own socket, no user
// config).
type tmuxPane struct {
	t      *testing.T
	socket string
	env    []string
}

// tmuxStart runs bin with args in a fresh tmux server; after it exits the
// pane prints EXIT=<status> and stays, so the test can read it.
func tmuxStart(t *testing.T, dir, bin string, args ...string) *tmuxPane {
	t.Helper()
	return tmuxStartSized(t, dir, tmuxCols, tmuxRows, bin, args...)
}

// tmuxStartSized is tmuxStart in a w×h terminal.
func tmuxStartSized(t *testing.T, dir string, w, h int, bin string, args ...string) *tmuxPane {
	t.Helper()
	env := testkit.CleanEnv([]string{"TMUX", "NO_COLOR="})
	p := &tmuxPane{t: t, socket: filepath.Join(dir, "tmux.sock"), env: env}
	quoted := []string{tmuxQuote(bin)}
	for _, a := range args {
		quoted = append(quoted, tmuxQuote(a))
	}
	cmd := "env TERM=xterm-256color " + strings.Join(quoted, " ") + "; echo EXIT=$?; sleep 600"
	p.tmux("-f", "/dev/null", "new-session", "-d", "-s", "t",
		"-x", strconv.Itoa(w), "-y", strconv.Itoa(h), cmd)
	t.Cleanup(func() {
		kill := exec.Command("tmux", "-S", p.socket, "kill-server")
		kill.Env = p.env
		_ = kill.Run()
	})
	return p
}

func tmuxQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (p *tmuxPane) tmux(args ...string) string {
	p.t.Helper()
	cmd := exec.Command("tmux", append([]string{"-S", p.socket}, args...)...)
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (p *tmuxPane) capture() string { return p.tmux("capture-pane", "-p", "-t", "t") }

func (p *tmuxPane) keys(keys ...string) {
	p.t.Helper()
	p.tmux(append([]string{"send-keys", "-t", "t"}, keys...)...)
}

func (p *tmuxPane) resize(w, h int) {
	p.t.Helper()
	p.tmux("resize-window", "-t", "t", "-x", strconv.Itoa(w), "-y", strconv.Itoa(h))
}

// poll captures the screen until cond holds or limit passes; it returns the
// last screen either way.
func (p *tmuxPane) poll(limit time.Duration, cond func(screen string) bool) (string, bool) {
	p.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		screen := p.capture()
		if cond(screen) {
			return screen, true
		}
		if time.Now().After(deadline) {
			return screen, false
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func (p *tmuxPane) waitFor(what string, cond func(screen string) bool) string {
	p.t.Helper()
	screen, ok := p.poll(tmuxStepLimit, cond)
	if !ok {
		p.t.Fatalf("timed out after %v waiting for %s; screen:\n%s", tmuxStepLimit, what, screen)
	}
	return screen
}

func (p *tmuxPane) waitText(text string) string {
	p.t.Helper()
	return p.waitFor(strconv.Quote(text), func(s string) bool { return strings.Contains(s, text) })
}

func (p *tmuxPane) waitHeader(text string) string {
	p.t.Helper()
	return p.waitFor(strconv.Quote(text)+" in the header", func(s string) bool {
		return strings.Contains(tmuxHeader(s), text)
	})
}

// tmuxBinary is the binary the tmux tests drive: a plain build even under
// -race, because the race detector slows the simulator and the TUI several
// times, which would measure the detector, not the screen or the cadence.
// The CLI's wiring under -race is the other e2e tests'.
func tmuxBinary(t *testing.T) string {
	t.Helper()
	if !raceEnabled {
		return gputuneBin
	}
	bin, err := testkit.BuildGputune(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}
