//go:build tools

// Package deps pins modules that later packages import, so go mod tidy keeps them.
package deps

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/NVIDIA/go-nvml/pkg/nvml"
	_ "github.com/charmbracelet/bubbles/key"
	_ "github.com/charmbracelet/bubbletea"
	_ "github.com/charmbracelet/lipgloss"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_model/go"
	_ "github.com/prometheus/common/expfmt"
	_ "golang.org/x/sys/unix"
	_ "gonum.org/v1/gonum/mat"
	_ "gonum.org/v1/plot"
	_ "k8s.io/api/apps/v1"
	_ "pgregory.net/rapid"
	_ "sigs.k8s.io/yaml"
)
