package main

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"

	"github.com/airbytehq/ci-secrets/writer"
)

// checkPlace names the mistakes of place that a sync or push would otherwise
// absorb without a word, before anything is read:
//   - a --root inside a connector's folder (a maintainer's shell standing in
//     it) would nest a second airbyte-integrations tree there: refused, with
//     --out secrets as the fix;
//   - a --root with no airbyte-integrations/ folder is not the monorepo root:
//     warned, naming the path that will be used;
//   - in a checkout (writer.Layout.HasCheckout), a named connector with no
//     folder is most likely a typo: warned, naming the folder expected.
//
// With --all it returns the rule that leaves out connectors not in the
// checkout (nil when there is no checkout to compare with).
func checkPlace(ctx context.Context, command string, l writer.Layout, conns []string, all bool) (skip func(string) bool, err error) {
	if l.Out != "" {
		return nil, nil
	}
	log := zerolog.Ctx(ctx)
	root := l.Root
	if root == "" {
		root = "."
	}
	if conn, top, ok := writer.InsideConnector(root); ok {
		return nil, usageErrorf("--root %s is inside the folder of connector %s, so the files would land in a second airbyte-integrations tree nested there: from the connector's folder pass --out secrets (ci-secrets %s %s --out secrets), or pass --root %s", root, conn, command, conn, top)
	}
	if !l.HasIntegrations() {
		log.Warn().Str("root", root).Str("expected", filepath.Join(root, writer.IntegrationsDir)).
			Msgf("--root %s has no %s/ folder, so it is not the monorepo root; files go under %s; pass --root with the monorepo root (or --out for one connector's folder) if that is not what you meant",
				root, writer.IntegrationsDir, filepath.Join(root, writer.IntegrationsDir, "connectors", "<connector>", "secrets"))
		return nil, nil
	}
	if !l.HasCheckout() {
		// A tree earlier syncs made, not a checkout: nothing to compare with.
		return nil, nil
	}
	if all {
		return func(c string) bool {
			_, exists, err := l.ConnectorDir(c)
			return err == nil && !exists
		}, nil
	}
	for _, c := range conns {
		dir, exists, err := l.ConnectorDir(c)
		if err == nil && !exists {
			log.Warn().Str("connector", c).Str("expected", dir).
				Msgf("connector %s has no folder in this checkout (expected %s); check the name, or the --root", c, dir)
		}
	}
	return nil, nil
}

// logSkipped is the one line that says which connectors --all left out.
func logSkipped(ctx context.Context, l writer.Layout, skipped []string) {
	if len(skipped) == 0 {
		return
	}
	root := l.Root
	if root == "" {
		root = "."
	}
	zerolog.Ctx(ctx).Warn().Strs("skipped", skipped).
		Msgf("skipped %d %s with secrets but no folder under %s: %s", len(skipped), plural(len(skipped), "connector", "connectors"),
			filepath.Join(root, writer.IntegrationsDir), strings.Join(skipped, ", "))
}
