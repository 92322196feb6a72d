package main

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/airbytehq/ci-secrets/internal/suggest"
)

// flagError turns pflag's "unknown flag: --rot" into a usage error that
// names the closest flags the command has.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, "unknown flag: --")
	if !ok {
		return &usageError{err}
	}
	var names []string
	add := func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, "--"+f.Name)
		}
	}
	cmd.Flags().VisitAll(add)
	cmd.InheritedFlags().VisitAll(add)
	if hint := suggest.DidYouMean("--"+name, names); hint != "" {
		return usageErrorf("%s%s", msg, hint)
	}
	return &usageError{err}
}
