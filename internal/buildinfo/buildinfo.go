// Package buildinfo says which gputune this is: its version, the commit it
// was built from and the Go release that built it. The values come from the
// linker (-ldflags "-X ...", as the Dockerfile sets them) or, when those are
// empty, from the module's build information (runtime/debug.ReadBuildInfo:
// the module version of `go install ...@vX` and the VCS stamp of a build in
// a git checkout). Nothing here is a version typed by hand.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by the linker, e.g.
//
//	go build -ldflags "-X github.com/gputune/gputune/internal/buildinfo.version=v0.2.0 \
//	  -X github.com/gputune/gputune/internal/buildinfo.revision=$(git rev-parse HEAD)"
//
// They are written only at link time, never at run time.
var (
	version  string
	revision string
)

// unknown stands for a value neither the linker nor the build information
// provided (a `go build -buildvcs=false` outside a release, or `go run`).
const unknown = "unknown"

// Info is what one binary says about itself.
type Info struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	GoVersion string `json:"goversion"`
	Modified  bool   `json:"modified,omitempty"` // built from a tree with uncommitted changes
}

// Read returns this binary's Info.
func Read() Info {
	bi, _ := debug.ReadBuildInfo()
	return fromBuild(version, revision, bi)
}

// fromBuild prefers the linker's values, then the build information's.
func fromBuild(ldVersion, ldRevision string, bi *debug.BuildInfo) Info {
	info := Info{Version: ldVersion, Revision: ldRevision, GoVersion: runtime.Version()}
	if bi != nil {
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Revision == "" {
					info.Revision = s.Value
				}
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	if info.Version == "" {
		info.Version = "devel"
	}
	if info.Revision == "" {
		info.Revision = unknown
	}
	return info
}

// String is the one-line form `gputune --version` prints.
func (i Info) String() string {
	var b strings.Builder
	b.WriteString(i.Version)
	b.WriteString(" (commit ")
	b.WriteString(i.Revision)
	if i.Modified {
		b.WriteString(", modified")
	}
	b.WriteString(", ")
	b.WriteString(i.GoVersion)
	b.WriteString(")")
	return b.String()
}
