package config

import (
	"io"

	"github.com/BurntSushi/toml"
)

// Encode writes cfg as TOML (the effective configuration).
func Encode(w io.Writer, cfg Config) error { return toml.NewEncoder(w).Encode(cfg) }
