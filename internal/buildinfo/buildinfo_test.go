package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuild(t *testing.T) {
	vcs := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}}}
	tagged := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.3.0"}}
	tests := []struct {
		name         string
		ldVer, ldRev string
		bi           *debug.BuildInfo
		want         Info
		wantInString string
	}{
		{"linker wins", "v1.2.3", "deadbeef", vcs, Info{Version: "v1.2.3", Revision: "deadbeef", GoVersion: "go1.26.8", Modified: true}, "v1.2.3 (commit deadbeef, modified, go1.26.8)"},
		{"VCS stamp", "", "", vcs, Info{Version: "devel", Revision: "abc123", GoVersion: "go1.26.8", Modified: true}, "commit abc123"},
		{"go install @version", "", "", tagged, Info{Version: "v0.3.0", Revision: "unknown", GoVersion: "go1.26.8"}, "v0.3.0 (commit unknown, go1.26.8)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fromBuild(tt.ldVer, tt.ldRev, tt.bi)
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if !strings.Contains(got.String(), tt.wantInString) {
				t.Errorf("String() = %q, want it to contain %q", got.String(), tt.wantInString)
			}
		})
	}
	if got := fromBuild("", "", nil); got.Version != "devel" || got.Revision != "unknown" || got.GoVersion == "" {
		t.Errorf("no build info: %+v", got)
	}
}
