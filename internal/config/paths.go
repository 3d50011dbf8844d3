package config

import (
	"os"
	"path/filepath"
	"strings"
)

// DataDir is where models live: the configured one, /var/lib/gputune for
// root, or the user's state directory.
func (c Config) DataDir() string {
	if c.Log.DataDir != "" {
		return c.Log.DataDir
	}
	if os.Geteuid() == 0 {
		return "/var/lib/gputune"
	}
	if s := os.Getenv("XDG_STATE_HOME"); s != "" {
		return filepath.Join(s, "gputune")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "gputune")
	}
	return filepath.Join(os.TempDir(), "gputune-state")
}

// LogDir is where decision logs go: the configured one or <data>/logs.
func (c Config) LogDir() string {
	if c.Log.Dir != "" {
		return c.Log.Dir
	}
	return filepath.Join(c.DataDir(), "logs")
}

// SanitizeModelName turns a GPU or served-model name into a folder name:
// "NVIDIA H100 80GB HBM3" → "NVIDIA_H100_80GB_HBM3".
func SanitizeModelName(name string) string {
	var b strings.Builder
	lastUnderscore := false
	for _, r := range strings.TrimSpace(name) {
		ok := r == '-' || r == '.' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if ok {
			b.WriteRune(r)
			lastUnderscore = false
			continue
		}
		if !lastUnderscore {
			b.WriteByte('_')
			lastUnderscore = true
		}
	}
	s := strings.Trim(b.String(), "_.")
	if s == "" {
		return "unknown"
	}
	return s
}
