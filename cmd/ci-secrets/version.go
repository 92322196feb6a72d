package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Release builds stamp these with -ldflags "-X main.releaseVersion=v1.2.3
// -X main.releaseCommit=abc123" (scripts/release.sh does). They are the one
// package-level variables of the program because the linker can only set
// variables; nothing assigns them at run time.
var (
	releaseVersion string
	releaseCommit  string
)

// buildInfo is what `ci-secrets version` reports.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Modified  bool   `json:"modified"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// readBuildInfo prefers the release stamp, then what the go command recorded:
// the module version of `go install ...@vX.Y.Z`, or the VCS revision of a
// build from a clone.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: "(devel)", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" {
			b.Version = v
		}
		if bi.GoVersion != "" {
			b.GoVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if releaseVersion != "" {
		b.Version = releaseVersion
	}
	if releaseCommit != "" {
		b.Commit, b.Modified = releaseCommit, false
	}
	return b
}

// String is the human form, also printed by --version.
func (b buildInfo) String() string {
	commit := b.Commit
	switch {
	case commit == "":
		commit = "unknown (built without VCS information)"
	case b.Modified:
		commit += " (modified)"
	}
	return fmt.Sprintf("ci-secrets version %s\ncommit: %s\ngo: %s\nplatform: %s\n", b.Version, commit, b.GoVersion, b.Platform)
}

type versionOptions struct{ output string }

func newVersionCmd(s *streams) *cobra.Command {
	o := &versionOptions{}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version of this binary",
		Args:  cobra.NoArgs,
		Example: `  ci-secrets version
  ci-secrets version --output json`,
		RunE: func(*cobra.Command, []string) error {
			out, err := parseOutput(o.output)
			if err != nil {
				return err
			}
			return printVersion(s.stdout, out, readBuildInfo())
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", outputText, "text or json")
	return cmd
}

func printVersion(w io.Writer, output string, b buildInfo) error {
	if output == outputJSON {
		return writeJSON(w, b)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// versionTemplate makes --version print what the version command prints;
// cobra's template language needs the braces of a literal escaped.
func versionTemplate() string {
	return strings.NewReplacer("{", "{{`{`}}", "}", "{{`}`}}").Replace(readBuildInfo().String())
}
