package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gputune/gputune/internal/exporter"
	"github.com/gputune/gputune/internal/testkit"
)

const unitPath = "systemd/gputune.service"

// unitKeys are the keys the unit may use, per section: a misspelt key is
// only a warning to systemd, so the test makes it an error.
var unitKeys = map[string][]string{
	"Unit":    {"Description", "Documentation", "After", "Wants", "Requires", "Before"},
	"Install": {"WantedBy"},
	"Service": {"Type", "User", "ExecStart", "ExecStopPost", "Restart", "RestartSec", "RestartPreventExitStatus", "KillMode", "TimeoutStopSec",
		"StandardOutput", "StandardError", "SyslogIdentifier", "StateDirectory", "RuntimeDirectory", "RuntimeDirectoryPreserve",
		"ConfigurationDirectory", "Environment", "CapabilityBoundingSet", "AmbientCapabilities", "NoNewPrivileges",
		"ProtectSystem", "ProtectHome", "PrivateTmp", "ProtectKernelModules", "ProtectKernelTunables",
		"ProtectControlGroups", "ProtectClock", "ProtectHostname", "ProtectKernelLogs", "RestrictNamespaces",
		"RestrictRealtime", "RestrictSUIDSGID", "LockPersonality", "SystemCallArchitectures",
		"RestrictAddressFamilies", "DeviceAllow", "DevicePolicy", "PrivateDevices", "MemoryDenyWriteExecute"},
}

// parseUnit reads a systemd unit into section → key → values, and lists
// what is not a known section or key.
func parseUnit(data []byte) (map[string]map[string][]string, []string) {
	var problems []string
	out := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			if _, known := unitKeys[section]; !known {
				problems = append(problems, fmt.Sprintf("line %d: unknown section [%s]", n, section))
			}
			out[section] = map[string][]string{}
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				problems = append(problems, fmt.Sprintf("line %d: %q is not key=value inside a section", n, line))
				continue
			}
			if !contains(unitKeys[section], key) {
				problems = append(problems, fmt.Sprintf("line %d: unknown key %s in [%s]", n, key, section))
			}
			out[section][key] = append(out[section][key], value)
		}
	}
	return out, problems
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestSystemdUnit(t *testing.T) {
	data, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	unit, problems := parseUnit(data)
	for _, p := range problems {
		t.Errorf("%s %s", unitPath, p)
	}
	svc := unit["Service"]
	one := func(key string) string {
		if v := svc[key]; len(v) == 1 {
			return v[0]
		}
		t.Errorf("[Service] %s: want exactly one, got %q", key, svc[key])
		return ""
	}
	tests := []struct {
		key, want string
		check     func(string) bool
	}{
		{"ExecStart", "headless: --no-tui", func(v string) bool {
			return strings.HasPrefix(v, "/usr/local/bin/gputune ") && strings.Contains(v, "--no-tui")
		}},
		{"ExecStart", "metrics on localhost, gputune's port", func(v string) bool {
			return strings.Contains(v, "--listen 127.0.0.1:"+strconv.Itoa(exporter.DefaultPort))
		}},
		{"ExecStopPost", "/usr/local/bin/gputune reset --gpu all", func(v string) bool { return v == "/usr/local/bin/gputune reset --gpu all" }},
		{"Restart", "on-failure", func(v string) bool { return v == "on-failure" }},
		{"RestartPreventExitStatus", "2 (bad configuration: a restart cannot fix it)", func(v string) bool { return v == "2" }},
		{"StandardError", "journal (errors in force reach journalctl)", func(v string) bool { return v == "journal" }},
		{"CapabilityBoundingSet", "CAP_SYS_ADMIN (NVML clock locks)", func(v string) bool { return v == "CAP_SYS_ADMIN" }},
		{"NoNewPrivileges", "yes", func(v string) bool { return v == "yes" }},
		{"ProtectSystem", "strict", func(v string) bool { return v == "strict" }},
		{"StateDirectory", "gputune", func(v string) bool { return v == "gputune" }},
		{"RuntimeDirectory", "gputune", func(v string) bool { return v == "gputune" }},
		{"RuntimeDirectoryPreserve", "yes (stale state survives a restart)", func(v string) bool { return v == "yes" }},
	}
	for _, tt := range tests {
		if v := one(tt.key); !tt.check(v) {
			t.Errorf("[Service] %s=%s: want %s", tt.key, v, tt.want)
		}
	}
	// NVML opens /dev/nvidia*: these would break it.
	for _, key := range []string{"PrivateDevices", "DevicePolicy", "User"} {
		for _, v := range svc[key] {
			if (key == "PrivateDevices" && v == "yes") || (key == "DevicePolicy" && v != "auto") || (key == "User" && v != "root") {
				t.Errorf("[Service] %s=%s stops NVML from setting clocks", key, v)
			}
		}
	}
	if len(unit["Install"]["WantedBy"]) == 0 {
		t.Errorf("[Install] WantedBy missing: systemctl enable would do nothing")
	}
}

func TestUnitParserCatchesTypos(t *testing.T) {
	for _, bad := range []string{"[Service]\nKilMode=mixed\n", "[Servce]\nType=simple\n", "Type=simple\n", "[Service]\nRestart\n"} {
		if _, problems := parseUnit([]byte(bad)); len(problems) == 0 {
			t.Errorf("accepted:\n%s", bad)
		}
	}
}

// TestSystemdAnalyzeVerify runs systemd's own checker where it exists, on a
// copy whose binary path points at an existing executable (verify wants one;
// this test binary will do, since verify never runs it). Its warnings count
// as failures.
func TestSystemdAnalyzeVerify(t *testing.T) {
	sa := testkit.RequireTool(t, "systemd-analyze", "apt-get install systemd")
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(dir, "gputune.service")
	if err := os.WriteFile(unit, bytes.ReplaceAll(data, []byte("/usr/local/bin/gputune"), []byte(bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), sa, "verify", "--man=no", unit).CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("gputune.service")) {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
