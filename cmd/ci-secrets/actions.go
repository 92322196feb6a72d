package main

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/airbytehq/ci-secrets/ghactions"
	"github.com/airbytehq/ci-secrets/secretpush"
	"github.com/airbytehq/ci-secrets/secretsync"
)

// inActions reports whether the run is a GitHub Actions step.
func inActions(s *streams) bool { return s.getenv("GITHUB_ACTIONS") == "true" }

// reportToActions is what a sync or push adds under GitHub Actions: one
// ::error annotation per failure (on stderr, so --output json on stdout stays
// a document) and the Markdown summary appended to $GITHUB_STEP_SUMMARY. A
// summary that cannot be written is a warning: the run's own result stands.
//
// outputs, when $GITHUB_OUTPUT is set, become step outputs (the written
// paths, one a line), so a later step can use them.
func reportToActions(ctx context.Context, s *streams, sum ghactions.Summary, outputs map[string]string) {
	if !inActions(s) {
		return
	}
	log := zerolog.Ctx(ctx)
	for _, f := range sum.Failures {
		if err := ghactions.Annotate(s.stderr, "error", "ci-secrets", f.Subject+": "+f.Message); err != nil {
			log.Warn().Err(err).Msg("could not print the error annotation")
		}
	}
	if path := s.getenv("GITHUB_OUTPUT"); path != "" {
		for _, name := range slices.Sorted(maps.Keys(outputs)) {
			if err := ghactions.SetOutput(path, name, outputs[name]); err != nil {
				log.Warn().Err(err).Msg("a step output was not written")
			}
		}
	}
	if path := s.getenv("GITHUB_STEP_SUMMARY"); path != "" {
		if err := ghactions.AppendSummary(path, sum.Markdown(0)+"\n"); err != nil {
			log.Warn().Err(err).Msg("the step summary was not written; the log above has the same result")
		}
	}
}

func syncSummary(res *secretsync.Result, cost string) ghactions.Summary {
	sum := ghactions.Summary{
		Title: "ci-secrets sync", Headers: []string{"connector", "file", "secret", "version"},
		Empty: "No file written.", Cost: cost,
	}
	files := res.Written
	if res.DryRun {
		sum.Title += " (dry run)"
		sum.Empty = "Nothing would be written."
		files = res.Planned
	}
	for _, f := range files {
		v := f.Version
		if v == "" {
			v = "-"
		}
		sum.Rows = append(sum.Rows, []string{f.Connector, f.Path, f.Secret, v})
	}
	if len(res.Missing) > 0 {
		sum.Notes = append(sum.Notes, "No secret for: "+strings.Join(res.Missing, ", "))
	}
	for _, f := range res.Failed {
		sum.Failures = append(sum.Failures, ghactions.Failure{Subject: failureName(f), Message: oneLine(f.Err.Error())})
	}
	return sum
}

func pushSummary(res *secretpush.Result, cost string) ghactions.Summary {
	sum := ghactions.Summary{
		Title: "ci-secrets push", Headers: []string{"connector", "file", "secret", "version"},
		Empty: "Nothing pushed.", Cost: cost,
	}
	add := func(p secretpush.Push, version string) {
		for _, f := range p.Files {
			sum.Rows = append(sum.Rows, []string{f.Connector, f.Path, p.Secret, version})
		}
	}
	for _, p := range res.Planned {
		add(p, "would replace "+p.Version)
	}
	for _, p := range res.Pushed {
		add(p, p.AddedVersion+" (disabled "+p.DisabledVersion+")")
	}
	for _, p := range res.Unchanged {
		add(p, p.Version+" (unchanged)")
	}
	if res.DryRun {
		sum.Title += " (dry run)"
	}
	for _, f := range res.Failed {
		sum.Failures = append(sum.Failures, ghactions.Failure{Subject: pushFailureName(f), Message: oneLine(f.Err.Error())})
	}
	return sum
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", "; ") }

// syncOutputs are the step outputs of a sync: the files written (one path a
// line; none in a dry run) and how many failed.
func syncOutputs(res *secretsync.Result) map[string]string {
	paths := make([]string, 0, len(res.Written))
	for _, f := range res.Written {
		paths = append(paths, f.Path)
	}
	return map[string]string{
		"paths":  strings.Join(paths, "\n"),
		"count":  strconv.Itoa(len(paths)),
		"failed": strconv.Itoa(len(res.Failed)),
	}
}
