// Package printable makes text from outside safe to show.
package printable

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// String makes a string from outside (a server's error body, a label
// value such as model_name) safe for a terminal or a log line: control
// characters (C0, DEL, C1, which carry terminal escapes), bidirectional
// overrides and invalid UTF-8 are dropped, line breaks and tabs become
// spaces, and the result is cut to at most max runes, marked with "…".
func String(s string, max int) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || !printableRune(r) {
			clean = false
			break
		}
	}
	if clean && utf8.RuneCountInString(s) <= max {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			r = ' '
		case r == utf8.RuneError || !printableRune(r):
			continue
		}
		if n == max {
			b.WriteRune('…')
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

func printableRune(r rune) bool {
	if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
		return false
	}
	switch {
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f:
		return false // bidirectional overrides reorder what the reader sees
	}
	return unicode.IsPrint(r) || r == ' '
}
