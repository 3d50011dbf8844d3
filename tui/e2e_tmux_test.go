//go:build e2e

package tui

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tmuxSession drives a program in a private tmux server (own socket, no
// user config) at a fixed size. The lead's end-to-end test of
// `gputune --demo` can reuse it.
type tmuxSession struct {
	t      *testing.T
	socket string
}

func startTmux(t *testing.T, w, h int, command string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	s := &tmuxSession{t: t, socket: fmt.Sprintf("gputune-e2e-%d", os.Getpid())}
	s.tmux("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h),
		"env TERM=xterm-256color "+command+"; echo EXIT=$?; sleep 30")
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
	return s
}

func (s *tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v: %s", args, err, out)
	}
	return string(out)
}

func (s *tmuxSession) capture() string { return s.tmux("capture-pane", "-p", "-t", "t") }

func (s *tmuxSession) keys(keys ...string) {
	s.tmux(append([]string{"send-keys", "-t", "t"}, keys...)...)
}

// waitFor polls the screen until cond holds, failing with the last screen.
func (s *tmuxSession) waitFor(what string, cond func(screen string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		screen := s.capture()
		if cond(screen) {
			return screen
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s; screen:\n%s", what, screen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *tmuxSession) waitText(text string) string {
	s.t.Helper()
	return s.waitFor(fmt.Sprintf("%q", text), func(screen string) bool { return strings.Contains(screen, text) })
}

func waitTruth(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if strings.TrimSpace(string(b)) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ground truth is %q, want %q", strings.TrimSpace(string(b)), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTmuxFakeLoop runs the TUI against testdata/fakeloop in tmux at
// 120×40: pause, pin from the table, unpin, a bad typed clock, a good typed
// clock, SLO mode, explore, a live resize, and quit giving the clock back.
func TestTmuxFakeLoop(t *testing.T) {
	dir := t.TempDir()
	bin, truth := filepath.Join(dir, "fakeloop"), filepath.Join(dir, "truth")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/fakeloop").CombinedOutput(); err != nil {
		t.Fatalf("build fakeloop: %v: %s", err, out)
	}
	s := startTmux(t, 120, 40, bin+" -truth "+truth)

	screen := s.waitText("AUTO")
	for _, pane := range []string{"arms", "history", "context", "pruned", "? help"} {
		if !strings.Contains(screen, pane) {
			t.Fatalf("pane %q missing:\n%s", pane, screen)
		}
	}
	s.keys("p")
	s.waitText("PAUSED")
	s.keys("p")
	s.waitText("resumed")

	s.keys("Down", "Down", "Enter") // cursor starts on the chosen 1410
	s.waitText("PINNED 1440 MHz")
	waitTruth(t, truth, "1440")
	s.keys("u")
	s.waitText("unpinned")
	waitTruth(t, truth, "1410")

	s.keys("f", "1", "5", "0", "1", "Enter")
	s.waitText("1501 MHz is not a supported clock")
	waitTruth(t, truth, "1410")
	s.keys("f", "1", "5", "0", "0", "Enter")
	s.waitText("PINNED 1500 MHz")
	waitTruth(t, truth, "1500")

	s.keys("m")
	s.waitText("slo mode edp")
	s.keys("x")
	s.waitText("EXPLORE")

	s.tmux("resize-window", "-t", "t", "-x", "60", "-y", "20")
	s.waitFor("a 60-column screen", func(screen string) bool {
		for _, l := range strings.Split(screen, "\n") {
			if len([]rune(l)) > 60 {
				return false
			}
		}
		return strings.Contains(screen, "arms")
	})

	s.keys("q")
	s.waitText("EXIT=0")
	waitTruth(t, truth, "restored")
}
