// Command fakeloop runs the TUI against a scripted stand-in for the control
// loop, so the tmux end-to-end test exercises real keys, a real terminal and
// real resizes without a GPU. Its "GPU clock" ground truth is written to
// -truth after every change, and "restored" on exit, as the real caller
// gives the clocks back.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/tui"
)

func main() {
	truth := flag.String("truth", "", "file that receives the commanded clock")
	flag.Parse()
	if err := run(*truth); err != nil {
		fmt.Fprintln(os.Stderr, "fakeloop:", err)
		os.Exit(1)
	}
}

func run(truthPath string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	writeTruth := func(v string) {
		if truthPath != "" {
			_ = os.WriteFile(truthPath, []byte(v+"\n"), 0o644)
		}
	}
	const autoMHz = 1410
	writeTruth(strconv.Itoa(autoMHz))
	defer writeTruth("restored")

	snaps := make(chan control.Snapshot, 1)
	cmds := make(chan control.Command, 16)
	go loop(ctx, snaps, cmds, writeTruth, autoMHz)
	return tui.Run(ctx, tui.Options{
		Snapshots: snaps,
		Send: func(c control.Command) {
			select {
			case cmds <- c:
			default:
			}
		},
	})
}

func loop(ctx context.Context, snaps chan control.Snapshot, cmds <-chan control.Command, writeTruth func(string), autoMHz int) {
	start := time.Now()
	s := control.Snapshot{
		StartedAt: start, GPUName: "Fake GPU", Demo: true, Mode: control.ModeExploit,
		Actuation: control.ActAuto, Policy: "fake", SLOMode: string(bandit.SLOAware), Objective: "edp",
		FreqMHz: autoMHz, TTFTLimitS: 0.5, TPOTLimitS: 0.05, SLOOK: true, ClockMinMHz: 1005, ClockMaxMHz: 1980,
	}
	for mhz := 1005; mhz <= 1980; mhz += 15 {
		s.SupportedMHz = append(s.SupportedMHz, mhz)
		s.Arms = append(s.Arms, bandit.ArmScore{Arm: bandit.Arm{SMMHz: mhz}, Pred: -float64(mhz) / 1000,
			Bonus: 0.1, UCB: 0.1 - float64(mhz)/1000, PredTTFT: 0.2, PredTPOT: 0.03, State: bandit.StateOK})
	}
	explore := 0
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for round := 1; ; round++ {
		select {
		case <-ctx.Done():
			return
		case c := <-cmds:
			switch c.Kind {
			case control.CmdPause:
				s.Actuation, s.Message = control.ActPaused, "paused"
			case control.CmdResume:
				s.Actuation, s.Message = control.ActAuto, "resumed"
			case control.CmdPin:
				s.Actuation, s.PinnedMHz, s.FreqMHz, s.Message = control.ActPinned, c.MHz, c.MHz, fmt.Sprintf("pinned %d MHz", c.MHz)
				writeTruth(strconv.Itoa(c.MHz))
			case control.CmdUnpin:
				s.Actuation, s.PinnedMHz, s.FreqMHz, s.Message = control.ActAuto, 0, autoMHz, "unpinned"
				writeTruth(strconv.Itoa(autoMHz))
			case control.CmdSetSLOMode:
				s.SLOMode, s.Message = string(c.SLOMode), "slo mode "+string(c.SLOMode)
			case control.CmdForceExplore:
				explore, s.Message = c.Rounds, fmt.Sprintf("exploring for %d rounds", c.Rounds)
			case control.CmdResetModel:
				s.Message = "model reset"
			}
		case now := <-tick.C:
			s.Time, s.Round = now, round
			s.Mode = control.ModeExploit
			if explore > 0 {
				s.Mode, explore = control.ModeExplore, explore-1
			}
			s.SMClockMHz, s.PowerW = s.FreqMHz, 150+float64(s.FreqMHz)/10+float64(round%7)
			s.TTFTTailS, s.TPOTTailS = 0.2+0.01*float64(round%5), 0.03
			s.Features = []control.Feature{{Name: "running", Raw: float64(round % 40), Norm: float64(round%40) / 40}}
			select { // latest wins: never block on the TUI
			case snaps <- s:
			default:
				select {
				case <-snaps:
				default:
				}
				snaps <- s
			}
		}
	}
}
