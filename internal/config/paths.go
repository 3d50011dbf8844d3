package config

import (
	"os"
	"path/filepath"
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
