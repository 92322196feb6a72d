package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/airbytehq/ci-secrets/secretexec"
	"github.com/airbytehq/ci-secrets/writer"
)

type cleanOptions struct {
	all       bool
	root      string
	untracked bool
	output    string
}

func newCleanCmd(_ *globalOptions, s *streams) *cobra.Command {
	o := &cleanOptions{}
	cmd := &cobra.Command{
		Use:   "clean [CONNECTOR... | --all] [--root DIR] [--untracked-secrets]",
		Short: "Remove what exec runs that did not end left behind",
		Long: `Finish the clean-up of exec runs that were killed or cancelled: remove the
files their manifests (under --root/.ci-secrets/) list, put back what they
moved aside, remove the folders and .gitignore files they created. A run
still going is left alone. Without a connector (or with --all) every such
run is cleaned; with connectors, the runs that wrote for them.

--untracked-secrets also removes every .json file inside a secrets folder
that git does not track (the broom for a self-hosted runner, which keeps its
workspace between jobs): run it in an 'if: always()' step.

Nothing reads Secret Manager. Exit status: 0 done; 1 something could not be
removed (named); 2 bad flags, or --untracked-secrets outside a git checkout.`,
		Example: `  # After a cancelled job, on a self-hosted runner:
  ci-secrets clean --untracked-secrets

  # Only what a killed exec of source-s3 left:
  ci-secrets clean source-s3`,
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, s, args) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.all, "all", false, "clean every run's leftovers (the default without connectors)")
	f.StringVar(&o.root, "root", ".", "monorepo root the airbyte-integrations/ paths are relative to")
	f.BoolVar(&o.untracked, "untracked-secrets", false, "also remove every secrets/**/*.json that git does not track")
	f.StringVarP(&o.output, "output", "o", "text", "summary format: text or json")
	return cmd
}

type cleanReport struct {
	SchemaVersion int `json:"schema_version"`
	secretexec.Undone
	Untracked []string `json:"untracked_removed"`
}

func (o *cleanOptions) run(cmd *cobra.Command, s *streams, args []string) error {
	conns, err := connectorArgs("clean", o.all, false, args)
	if err != nil {
		return err
	}
	if o.output, err = parseOutput(o.output); err != nil {
		return err
	}
	if err := checkFolderFlag("--root", o.root, "the monorepo root (the folder holding airbyte-integrations)", true); err != nil {
		return err
	}
	ctx := cmd.Context()
	u, err := secretexec.Clean(ctx, o.root, conns)
	rep := cleanReport{SchemaVersion: 1, Undone: u, Untracked: []string{}}
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if o.untracked {
		var within []string
		if conns != nil {
			layout := writer.Layout{Root: o.root}
			for _, c := range conns {
				dir, err := layout.SecretsDir(c)
				if err != nil {
					return &usageError{err}
				}
				within = append(within, dir)
			}
		}
		removed, err := secretexec.SweepUntracked(ctx, o.root, within)
		rep.Untracked = append(rep.Untracked, removed...)
		if errors.Is(err, secretexec.ErrNotGitTree) {
			return &usageError{err}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := printClean(s.stdout, o.output, o.root, rep); err != nil {
		return err
	}
	if len(errs) > 0 {
		return &failedError{errors.Join(errs...)}
	}
	return nil
}

func printClean(w io.Writer, output, root string, rep cleanReport) error {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rel := func(p string) string {
		if abs, err := filepath.Abs(root); err == nil {
			if r, err := filepath.Rel(abs, p); err == nil && !strings.HasPrefix(r, "..") {
				return r
			}
		}
		return p
	}
	var b strings.Builder
	for _, p := range rep.Removed {
		fmt.Fprintf(&b, "removed %s\n", rel(p))
	}
	for _, p := range rep.Restored {
		fmt.Fprintf(&b, "restored %s\n", rel(p))
	}
	for _, p := range rep.Kept {
		fmt.Fprintf(&b, "kept %s (it holds files exec did not write)\n", rel(p))
	}
	for _, p := range rep.Live {
		fmt.Fprintf(&b, "left %s: its run is still going\n", rel(p))
	}
	for _, p := range rep.Untracked {
		fmt.Fprintf(&b, "removed untracked %s\n", rel(p))
	}
	fmt.Fprintf(&b, "cleaned %d %s: %d removed, %d restored; %d untracked secrets %s removed\n",
		rep.Runs, plural(rep.Runs, "run", "runs"), len(rep.Removed), len(rep.Restored),
		len(rep.Untracked), plural(len(rep.Untracked), "file", "files"))
	_, err := io.WriteString(w, b.String())
	return err
}
