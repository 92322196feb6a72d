package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/airbytehq/ci-secrets/labels"
)

type listOptions struct {
	output string
}

func newListCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &listOptions{}
	cmd := &cobra.Command{
		Use:   "list [CONNECTOR...]",
		Short: "List CI secrets and their label problems, without reading any payload",
		Long: `List every SECRET_..._CREDS secret of the project (or those serving the
named connectors) with the connectors and file it serves. A PROBLEM column
flags a missing connector label, an invalid connector or filename label, or a
file that several secrets claim (sync writes none of them).
One ListSecrets request; no secret value is read.`,
		Example: `  ci-secrets list
  ci-secrets list source-s3 destination-bigquery
  ci-secrets list --output json | jq '.[] | select(.problem != "")'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := parseOutput(o.output)
			if err != nil {
				return err
			}
			o.output = out
			wanted := make(map[string]bool, len(args))
			for _, a := range args {
				c, err := labels.NormalizeConnector(a)
				if err != nil {
					return &usageError{err}
				}
				wanted[c] = true
			}
			ctx := cmd.Context()
			client, err := g.client(ctx, s)
			if err != nil {
				return err
			}
			defer client.Close()
			entries, err := inventory(ctx, client)
			if err != nil {
				return err
			}
			conflicts := conflictsBySecret(entries)
			rows := make([]listRow, 0, len(entries))
			for _, e := range entries {
				if len(wanted) > 0 && !mentions(e, wanted) {
					continue
				}
				r := newListRow(e)
				if r.Problem == "" {
					r.Problem = conflicts[e.Secret]
				}
				rows = append(rows, r)
			}
			sanitizeReport(&rows)
			return printList(s, o.output, rows)
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "table (or text) or json")
	return cmd
}

type listRow struct {
	Name       string            `json:"name"`
	Connectors []string          `json:"connectors"`
	File       string            `json:"file"`
	Labels     map[string]string `json:"labels"`
	Problem    string            `json:"problem"`
}

func newListRow(e labels.Entry) listRow {
	r := listRow{Name: e.Secret, Connectors: e.Connectors, File: e.File, Labels: e.Labels}
	if r.Connectors == nil {
		r.Connectors = []string{}
	}
	if r.Labels == nil {
		r.Labels = map[string]string{}
	}
	if e.Problem != nil {
		r.Problem = strings.ReplaceAll(e.Problem.Error(), "\n", "; ")
	}
	return r
}

// conflictsBySecret describes, per secret, the (connector, file) pairs it
// claims together with other secrets: sync writes none of them, so list
// must show why.
func conflictsBySecret(entries []labels.Entry) map[string]string {
	out := map[string]string{}
	for _, c := range labels.PlanFor(entries, nil, true).Conflicts {
		for _, sec := range c.Secrets {
			others := make([]string, 0, len(c.Secrets)-1)
			for _, o := range c.Secrets {
				if o != sec {
					others = append(others, o)
				}
			}
			msg := fmt.Sprintf("%s also claimed by %s (sync writes neither)", c.Target, strings.Join(others, ", "))
			if prev := out[sec]; prev != "" {
				msg = prev + "; " + msg
			}
			out[sec] = msg
		}
	}
	return out
}

// mentions matches a secret against wanted connectors, including secrets whose
// connector label is invalid but names one, so their problem is shown.
func mentions(e labels.Entry, wanted map[string]bool) bool { return e.Mentions(wanted) }

func printList(s *streams, output string, rows []listRow) error {
	if output == outputJSON {
		return writeJSON(s.stdout, rows)
	}
	tw := tabwriter.NewWriter(s.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SECRET\tCONNECTORS\tFILE\tPROBLEM")
	for _, r := range rows {
		conns := strings.Join(r.Connectors, ",")
		if conns == "" {
			conns = "-"
		}
		file := r.File
		if file == "" {
			file = "-"
		}
		// %q-style quoting in problems keeps hostile label text on one line.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, conns, file, r.Problem)
	}
	return tw.Flush()
}
