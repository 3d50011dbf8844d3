package printable

import (
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain kept", "meta-llama/Llama-3.1-8B", 100, "meta-llama/Llama-3.1-8B"},
		{"unicode kept", "模型 – ü", 100, "模型 – ü"},
		{"OSC retitle and clear screen", "\x1b]0;pwned\x07\x1b[2J\x1b[Hboom", 100, "]0;pwned[2J[Hboom"},
		{"C1 CSI", "a\u009b31mb", 100, "a31mb"},
		{"line breaks become spaces", "line1\r\nline2\tx", 100, "line1  line2 x"},
		{"bidi override dropped", "abc\u202edcba", 100, "abcdcba"},
		{"invalid UTF-8 dropped", "ok\xff\xfeok", 100, "okok"},
		{"cut", strings.Repeat("x", 10), 4, "xxxx…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := String(tt.in, tt.max); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
