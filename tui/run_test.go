package tui

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/gputune/gputune/control"
)

// lockedBuffer is the program's output; the program writes from its own
// goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

type commandLog struct {
	mu   sync.Mutex
	cmds []control.Command
	got  chan struct{}
}

func (c *commandLog) send(cmd control.Command) {
	c.mu.Lock()
	c.cmds = append(c.cmds, cmd)
	c.mu.Unlock()
	select {
	case c.got <- struct{}{}:
	default:
	}
}

func runAsync(ctx context.Context, opts Options) <-chan error {
	done := make(chan error, 1)
	go func() { done <- Run(ctx, opts) }()
	return done
}

func waitRun(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
}

func TestRunSendsCommandsAndQuits(t *testing.T) {
	snaps := make(chan control.Snapshot, 1)
	inR, inW := io.Pipe()
	defer inW.Close()
	log := &commandLog{got: make(chan struct{}, 1)}
	done := runAsync(context.Background(), Options{
		Snapshots: snaps, Send: log.send, NoColor: true,
		Input: inR, Output: &lockedBuffer{}, NoAltScreen: true,
	})
	snaps <- testSnapshot(1)
	if _, err := inW.Write([]byte("p")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-log.got:
	case <-time.After(5 * time.Second):
		t.Fatal("no command after p")
	}
	if _, err := inW.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	waitRun(t, done)
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.cmds) != 1 || log.cmds[0].Kind != control.CmdPause {
		t.Fatalf("commands %+v, want one pause", log.cmds)
	}
}

func TestRunReturnsNilWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	inR, inW := io.Pipe()
	defer inW.Close()
	done := runAsync(ctx, Options{
		Snapshots: make(chan control.Snapshot), Send: func(control.Command) {},
		Input: inR, Output: &lockedBuffer{}, NoAltScreen: true, NoColor: true,
	})
	time.Sleep(50 * time.Millisecond)
	cancel()
	waitRun(t, done)
}

func TestRunReturnsNilWhenFeedCloses(t *testing.T) {
	snaps := make(chan control.Snapshot, 1)
	inR, inW := io.Pipe()
	defer inW.Close()
	done := runAsync(context.Background(), Options{
		Snapshots: snaps, Send: func(control.Command) {},
		Input: inR, Output: &lockedBuffer{}, NoAltScreen: true, NoColor: true,
	})
	snaps <- testSnapshot(1)
	close(snaps)
	waitRun(t, done)
}
