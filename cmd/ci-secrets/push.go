package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: replaced by the real command file.
func newPushCmd(g *globalOptions, s *streams) *cobra.Command {
	return &cobra.Command{Use: "push", Hidden: true, RunE: func(*cobra.Command, []string) error { return errors.New("push: not built yet") }}
}
