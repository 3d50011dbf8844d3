package cli

import (
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseArgsAllowsFlagsAfterArguments(t *testing.T) {
	tests := []struct {
		args    []string
		wantPos []string
		wantGPU int
	}{
		{[]string{"FILE", "--gpu", "1"}, []string{"FILE"}, 1},
		{[]string{"--gpu", "1", "FILE"}, []string{"FILE"}, 1},
		{[]string{"A", "--gpu=2", "B"}, []string{"A", "B"}, 2},
		{[]string{"--", "--gpu", "3"}, []string{"--gpu", "3"}, 0},
		{[]string{"A", "--", "-x"}, []string{"A", "-x"}, 0},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		gpu := fs.Int("gpu", 0, "")
		pos, err := parseArgs(fs, tt.args, io.Discard, func(io.Writer) {})
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if !slices.Equal(pos, tt.wantPos) || *gpu != tt.wantGPU {
			t.Errorf("%v: positionals %v gpu %d, want %v and %d", tt.args, pos, *gpu, tt.wantPos, tt.wantGPU)
		}
	}
}

func TestFlagErrorsAreOneLineWithAHint(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, "unknown flag --bogus (see t --help)"},
		{[]string{"--duration", "5"}, `--duration "5" is not a duration: give a number with a unit, such as 5s or 5m`},
		{[]string{"--n", "x"}, `--n "x": parse error`},
		{[]string{"--n"}, "flag --n needs a value"},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.Duration("duration", time.Second, "")
		fs.Int("n", 0, "")
		_, err := parseArgs(fs, tt.args, io.Discard, func(io.Writer) {})
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %q, want one usage line containing %q", tt.args, err, tt.want)
		}
	}
}

func TestHelpGoesToOut(t *testing.T) {
	var out strings.Builder
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.Bool("x", false, "the x")
	_, err := parseArgs(fs, []string{"a", "--help"}, &out, commandHelp("t [flags]", "does t", fs))
	if !errors.Is(err, errHelp) || !strings.Contains(out.String(), "--x") {
		t.Errorf("err %v, help %q", err, out.String())
	}
}

// The one discovery rule: --config when given; else /etc/gputune/tuner.toml
// as root and ./tuner.toml otherwise, each only if present. Root never
// reads the current directory's file unless it is named.
func TestConfigPathDiscovery(t *testing.T) {
	both := func(string) bool { return true }
	neither := func(string) bool { return false }
	onlyCwd := func(p string) bool { return p == "tuner.toml" }
	tests := []struct {
		named  string
		euid   int
		exists func(string) bool
		want   string
	}{
		{"my.toml", 0, both, "my.toml"},
		{"my.toml", 1000, neither, "my.toml"},
		{"", 0, both, systemConfig},
		{"", 0, onlyCwd, ""},
		{"", 1000, both, "tuner.toml"},
		{"", 1000, neither, ""},
		{"", 1000, func(p string) bool { return p == systemConfig }, ""},
	}
	for _, tt := range tests {
		if got := configPath(tt.named, tt.euid, tt.exists); got != tt.want {
			t.Errorf("configPath(%q, euid %d) = %q, want %q", tt.named, tt.euid, got, tt.want)
		}
	}
}
