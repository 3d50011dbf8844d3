package control

import (
	"log/slog"
	"time"
)

// remindEvery is how often an error still in force is logged again: often
// enough that a journal read at any point shows it, rarely enough that a
// dead server at one scrape per 0.3 s does not flood it.
const remindEvery = time.Minute

// conditions logs the errors in force (metrics unreachable or garbage, a
// refused clock lock, NVML errors): once when one starts, when its text
// changes, again at most once a minute while it lasts, and once when it
// clears. The snapshot's Err (the JSON lines' "error", the TUI footer)
// shows the same conditions every cycle; this is the log an operator reads.
type conditions struct {
	log  *slog.Logger
	now  func() time.Time // wall time: reminders are for people, not the loop's clock
	byOf map[string]*condition
}

type condition struct {
	msg            string
	since, lastLog time.Time
}

func newConditions(log *slog.Logger) *conditions {
	return &conditions{log: log, now: time.Now, byOf: map[string]*condition{}}
}

// set records what's error, if any ("" when it works): what names the part
// (metrics, clocks, nvml).
func (c *conditions) set(what, msg string) {
	now := c.now()
	cur := c.byOf[what]
	switch {
	case cur == nil && msg == "":
	case cur == nil:
		c.byOf[what] = &condition{msg: msg, since: now, lastLog: now}
		c.log.Error("error", "what", what, "err", msg)
	case msg == "":
		delete(c.byOf, what)
		c.log.Info("error cleared", "what", what, "lasted", now.Sub(cur.since).Round(time.Millisecond), "was", cur.msg)
	case msg != cur.msg:
		c.log.Error("error changed", "what", what, "err", msg, "was", cur.msg)
		cur.msg, cur.lastLog = msg, now
	case now.Sub(cur.lastLog) >= remindEvery:
		c.log.Error("error still in force", "what", what, "err", msg, "for", now.Sub(cur.since).Round(time.Second))
		cur.lastLog = now
	}
}

// errText is err's text, "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
