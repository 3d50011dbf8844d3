package cli

import (
	"os"

	"github.com/gputune/gputune/internal/config"
)

// systemConfig is the configuration a root run reads when none is named.
const systemConfig = "/etc/gputune/tuner.toml"

// configPath is the one discovery rule every command follows: the file
// named with --config; otherwise /etc/gputune/tuner.toml when running as
// root and ./tuner.toml otherwise, each only if present ("" when none). A
// root run never reads a file from the current directory unless named: in
// whatever directory root happens to start gputune, anyone may have
// written one.
func configPath(named string, euid int, exists func(string) bool) string {
	switch {
	case named != "":
		return named
	case euid == 0 && exists(systemConfig):
		return systemConfig
	case euid != 0 && exists("tuner.toml"):
		return "tuner.toml"
	}
	return ""
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// loadConfig reads the configuration by the discovery rule and validates
// it: an unreadable or invalid file is an error (exit 2), never a silent
// fallback to the defaults. path is the file read, "" for the built-in
// defaults.
func loadConfig(named string) (cfg config.Config, path string, err error) {
	path = configPath(named, os.Geteuid(), fileExists)
	if path == "" {
		return config.Default(), "", nil
	}
	cfg, _, err = config.Load(path)
	if err != nil {
		return cfg, path, err
	}
	return cfg, path, nil
}

// configSource names the configuration for the start-up log line.
func configSource(path string) string {
	if path == "" {
		return "built-in defaults (no --config, no " + defaultConfigName() + ")"
	}
	return path
}

func defaultConfigName() string {
	if os.Geteuid() == 0 {
		return systemConfig
	}
	return "./tuner.toml"
}
