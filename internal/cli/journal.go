package cli

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// toJournal is stderr as the log's writer: when stderr is systemd's journal
// stream, each line gets the journal's priority prefix (<3> for ERROR, <4>
// WARN, <6> INFO, <7> DEBUG), so `journalctl -u gputune -p warning` shows the
// errors and warnings. Anywhere else, stderr is returned as it is.
func toJournal(stderr io.Writer) io.Writer {
	f, ok := stderr.(*os.File)
	if !ok || !isJournalStream(os.Getenv("JOURNAL_STREAM"), f) {
		return stderr
	}
	return &journalWriter{w: stderr}
}

// isJournalStream compares JOURNAL_STREAM ("device:inode", set by systemd
// for a unit whose stderr is the journal) with f, as sd_journal_stream_fd's
// documentation asks: a child whose stderr was redirected inherits the
// variable but not the stream.
func isJournalStream(env string, f *os.File) bool {
	devStr, inoStr, ok := strings.Cut(env, ":")
	if !ok {
		return false
	}
	dev, err1 := strconv.ParseUint(devStr, 10, 64)
	ino, err2 := strconv.ParseUint(inoStr, 10, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return uint64(st.Dev) == dev && uint64(st.Ino) == ino
}

// journalWriter prefixes each line slog's TextHandler writes (one record,
// one Write) with its level's syslog priority.
type journalWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (j *journalWriter) Write(p []byte) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := io.WriteString(j.w, priority(p)); err != nil {
		return 0, err
	}
	return j.w.Write(p)
}

// priority is the journal prefix for a TextHandler line. The first level=
// is the record's own (time= comes before it and holds no spaces or
// "level="); a value quoting "level=ERROR" further on does not count.
func priority(line []byte) string {
	_, rest, ok := bytes.Cut(line, []byte("level="))
	if !ok {
		return "<6>"
	}
	level, _, _ := bytes.Cut(rest, []byte(" "))
	switch {
	case bytes.HasPrefix(level, []byte("ERROR")):
		return "<3>"
	case bytes.HasPrefix(level, []byte("WARN")):
		return "<4>"
	case bytes.HasPrefix(level, []byte("DEBUG")):
		return "<7>"
	}
	return "<6>"
}
