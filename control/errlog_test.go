package control

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestConditionsLogStartChangeReminderAndClear(t *testing.T) {
	var buf bytes.Buffer
	c := newConditions(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}})))
	now := time.Unix(0, 0)
	c.now = func() time.Time { return now }
	steps := []struct {
		after     time.Duration
		what, msg string
		want      string // the line logged, "" for none
	}{
		{0, "metrics", "", ""},
		{0, "metrics", "connection refused", `level=ERROR msg=error what=metrics err="connection refused"`},
		{300 * time.Millisecond, "metrics", "connection refused", ""},
		{30 * time.Second, "metrics", "connection refused", ""},
		{0, "clocks", "lock refused", `level=ERROR msg=error what=clocks err="lock refused"`},
		{31 * time.Second, "metrics", "connection refused", `level=ERROR msg="error still in force" what=metrics err="connection refused" for=1m1s`},
		{time.Second, "metrics", "connection refused", ""},
		{time.Second, "metrics", "malformed exposition", `level=ERROR msg="error changed" what=metrics err="malformed exposition" was="connection refused"`},
		{time.Second, "metrics", "", `level=INFO msg="error cleared" what=metrics lasted=1m4.3s was="malformed exposition"`},
		{time.Second, "metrics", "", ""},
		{0, "clocks", "", `level=INFO msg="error cleared" what=clocks lasted=35s was="lock refused"`},
	}
	for i, s := range steps {
		now = now.Add(s.after)
		buf.Reset()
		c.set(s.what, s.msg)
		if got := strings.TrimSpace(buf.String()); got != s.want {
			t.Errorf("step %d: logged %q, want %q", i, got, s.want)
		}
	}
}
