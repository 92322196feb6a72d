package main

import (
	"errors"
	"fmt"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/airbytehq/ci-secrets/doctor"
)

type doctorOptions struct {
	all            bool
	root           string
	output         string
	drift          bool
	concurrency    int
	readsPerMinute int
}

func newDoctorCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &doctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor [CONNECTOR... | --all] [--root DIR] [--output table|json|markdown] [--drift]",
		Short: "Check the health of the CI secrets and of the repository around them",
		Long: `Report every problem of the project's CI secrets and of the monorepo they
are synced into, each with a severity (error, warning, info) and a fix:

  store       labels list flags (missing or invalid, files claimed twice),
              labelled secrets whose name misses SECRET_<NAME>_CREDS, names
              that suggest another connector than the label, no enabled
              version, several enabled versions, a disabled latest version,
              secrets for connectors that have no folder under --root;
  repository  secrets files acceptance-test-config.yml (config_path) or
              metadata.yaml (testSecrets) need that no secret provides, and
              provided files nothing refers to; secrets folders git does not
              ignore and secrets files it tracks; modes other than 0600/0700;
              refreshed configs in updated_configurations never pushed;
  --drift     local secrets files that differ from the newest enabled version
              (by SHA-256, and by JSON path: never a value is printed).

No connector (or --all) checks everything. Metadata only: one ListSecrets
plus one ListSecretVersions per secret, paced to --reads-per-minute (the
project's read quota is 600 a minute, shared by every CI job); --drift adds
one access request per local file. The paced reads take time (2,000
secrets: at least 6m36s at the default pace): without --timeout, doctor
adds that time to the default bound; a --timeout too short for them is
refused (exit 2) before they start. Under GitHub Actions the Markdown report
is also appended to $GITHUB_STEP_SUMMARY.

Exit status: 0 no error found (warnings and info allowed); 1 an error was
found; 2 bad flags or configuration.`,
		Example: `  # The whole project, from the monorepo root:
  ci-secrets doctor

  # Two connectors, comparing their local files with Secret Manager:
  ci-secrets doctor source-s3 destination-bigquery --drift

  # For a script:
  ci-secrets doctor --output json | jq '.problems[] | select(.severity == "error")'`,
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, g, s, args) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.all, "all", false, "check every connector (the default when none is named)")
	f.StringVar(&o.root, "root", ".", "monorepo root (the folder holding airbyte-integrations)")
	f.StringVarP(&o.output, "output", "o", "table", "table (or text), json or markdown")
	f.BoolVar(&o.drift, "drift", false, "compare local secrets files with Secret Manager (one access request per file)")
	f.IntVar(&o.concurrency, "concurrency", doctor.DefaultConcurrency, fmt.Sprintf("parallel requests (1-%d)", doctor.MaxConcurrency))
	f.IntVar(&o.readsPerMinute, "reads-per-minute", doctor.DefaultReadsPerMinute, "read requests a minute at most, after a first burst of 20 (0: no pacing, for a raised quota)")
	return cmd
}

func (o *doctorOptions) validate(args []string) (doctor.Scope, error) {
	conns, err := connectorArgs("doctor", o.all, false, args)
	if err != nil {
		return doctor.Scope{}, err
	}
	if o.output, err = parseOutput(o.output, "markdown"); err != nil {
		return doctor.Scope{}, err
	}
	if o.concurrency < 1 || o.concurrency > doctor.MaxConcurrency {
		return doctor.Scope{}, usageErrorf("--concurrency %d is out of range: use 1 to %d", o.concurrency, doctor.MaxConcurrency)
	}
	if o.readsPerMinute < 0 {
		return doctor.Scope{}, usageErrorf("--reads-per-minute %d is negative: give a rate such as %d, or 0 for no pacing", o.readsPerMinute, doctor.DefaultReadsPerMinute)
	}
	if err := checkFolderFlag("--root", o.root, "the monorepo root (the folder holding airbyte-integrations)", true); err != nil {
		return doctor.Scope{}, err
	}
	return doctor.Scope{All: len(conns) == 0, Connectors: conns}, nil
}

func (o *doctorOptions) run(cmd *cobra.Command, g *globalOptions, s *streams, args []string) error {
	scope, err := o.validate(args)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	client, err := g.client(ctx, s)
	if err != nil {
		return err
	}
	defer client.Close()
	report, err := doctor.Run(ctx, client, doctor.Options{
		Scope: scope, Root: o.root, Drift: o.drift, Concurrency: o.concurrency,
		Pace: doctor.NewPacer(o.readsPerMinute), Project: client.Project(), Location: g.location,
		TimeoutGiven: cmd.Flags().Changed("timeout"),
	})
	var te *doctor.TimeoutError
	if errors.As(err, &te) {
		return &usageError{err}
	}
	if err != nil {
		return err
	}
	doc := doctor.NewDocument(report, client.Stats())
	switch o.output {
	case "json":
		err = doc.WriteJSON(s.stdout)
	case "markdown":
		err = doc.WriteMarkdown(s.stdout)
	default:
		err = doc.WriteTable(s.stdout)
	}
	if err != nil {
		return err
	}
	if path := s.getenv("GITHUB_STEP_SUMMARY"); path != "" && s.getenv("GITHUB_ACTIONS") == "true" {
		if err := appendStepSummary(path, doc.WriteMarkdown); err != nil {
			zerolog.Ctx(ctx).Warn().Str("path", path).Err(err).Msg("could not write the step summary")
		}
	}
	if n := doc.Summary.Errors; n > 0 {
		return &failedError{fmt.Errorf("doctor found %d %s; each comes with a fix above", n, plural(n, "error", "errors"))}
	}
	return nil
}
