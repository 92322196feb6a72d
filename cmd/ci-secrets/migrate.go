package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: replaced by the real command file.
func newMigrateCmd(g *globalOptions, s *streams) *cobra.Command {
	return &cobra.Command{Use: "migrate", Hidden: true, RunE: func(*cobra.Command, []string) error { return errors.New("migrate: not built yet") }}
}
