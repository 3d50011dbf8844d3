package cli

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestJournalPriorities(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&journalWriter{w: &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	log.Error("error", "what", "metrics", "err", "connection refused")
	log.Warn("no decision log")
	log.Info("error cleared", "was", "x level=ERROR inside a value")
	log.Debug("detail")
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		got = append(got, line[:3])
	}
	if want := []string{"<3>", "<4>", "<6>", "<7>"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("priorities %v, want %v:\n%s", got, want, buf.String())
	}
}

func TestJournalStreamDetection(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	match := fmt.Sprintf("%d:%d", st.Dev, st.Ino)
	for _, tt := range []struct {
		env  string
		want bool
	}{{match, true}, {fmt.Sprintf("%d:%d", st.Dev, st.Ino+1), false}, {"", false}, {"garbage", false}} {
		if got := isJournalStream(tt.env, f); got != tt.want {
			t.Errorf("isJournalStream(%q) = %v, want %v", tt.env, got, tt.want)
		}
	}
	t.Setenv("JOURNAL_STREAM", match)
	if _, ok := toJournal(f).(*journalWriter); !ok {
		t.Errorf("stderr on the journal stream is not prefixed")
	}
	var buf bytes.Buffer
	if toJournal(&buf) != &buf {
		t.Errorf("a writer that is not a file is wrapped")
	}
}
