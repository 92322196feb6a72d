package main

import "github.com/airbytehq/ci-secrets/labels"

// connectorArgs checks a command's connector arguments against --all (one
// or the other; with required, one of them must be given) and returns the
// connectors normalized, each once, in the order given.
func connectorArgs(command string, all, required bool, args []string) ([]string, error) {
	if all && len(args) > 0 {
		return nil, usageErrorf("give connectors or --all, not both")
	}
	if required && !all && len(args) == 0 {
		return nil, usageErrorf("name at least one connector (e.g. ci-secrets %s source-s3) or pass --all", command)
	}
	var conns []string
	seen := map[string]bool{}
	for _, a := range args {
		c, err := labels.NormalizeConnector(a)
		if err != nil {
			return nil, &usageError{err}
		}
		if !seen[c] {
			seen[c] = true
			conns = append(conns, c)
		}
	}
	return conns, nil
}
