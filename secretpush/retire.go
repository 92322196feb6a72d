package secretpush

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rs/zerolog"
)

// retire leaves one enabled version after push added one: it lists the
// secret's enabled versions (one read request) and disables every one older
// than the version added, not only the one it replaced. Two pushes of one
// secret at once each read version N, add N+1 and N+2, and each used to
// disable N only, leaving N+1 and N+2 enabled; now the later writer, whose
// list is made after both adds, disables N+1 too. An enabled version newer
// than the one added is another writer's: it is left alone and reported.
func (r *runner) retire(ctx context.Context, g *group, p *Push, replaced, added string) outcome {
	log := zerolog.Ctx(ctx).With().Str("secret", g.secret).Logger()
	older := []string{replaced}
	var newer []string
	vs, err := r.store.ListVersions(ctx, g.secret, "state:ENABLED", 0)
	if err != nil {
		// What it replaced is known without the list: disable that one.
		log.Warn().Err(err).Msgf("could not list the enabled versions after adding version %s, so only version %s, the one it replaced, is disabled; check that no other version is still enabled with `%s`",
			added, replaced, r.gcloud("list", g.secret, ""))
	} else {
		older = older[:0]
		for _, v := range vs {
			switch {
			case olderVersion(v.Number, added):
				older = append(older, v.Number)
			case olderVersion(added, v.Number):
				newer = append(newer, v.Number)
			}
		}
		// Oldest first, so failures and warnings read in version order.
		slices.SortFunc(older, func(a, b string) int { return compareVersions(a, b) })
		slices.SortFunc(newer, func(a, b string) int { return compareVersions(a, b) })
	}
	var failed []Failure
	var also []string
	for _, v := range older {
		err := r.limits.disable(ctx, g.secret, v)
		if err == nil {
			err = r.store.DisableVersion(ctx, g.secret, v)
		}
		if err != nil {
			de := &DisableError{Secret: g.secret, Added: added, StillEnabled: v, Command: r.disableCommand(g.secret, v), Err: err}
			fs := g.fail(de)
			for i := range fs {
				fs[i].AddedVersion, fs[i].StillEnabledVersion = added, v
			}
			failed = append(failed, fs...)
			continue
		}
		log.Debug().Str("version", v).Msg("disabled an enabled version older than the one added")
		if v != replaced {
			also = append(also, v)
		}
	}
	if len(failed) > 0 {
		return outcome{failed: failed}
	}
	// The version replaced is disabled now: by this push, or already by a
	// concurrent one (then it was not in the list).
	p.DisabledVersion = replaced
	p.AlsoDisabledVersions = also
	if len(newer) > 0 {
		p.NewerVersion = newer[len(newer)-1]
		p.Warning = fmt.Sprintf("%s: another writer added version %s after this push added version %s, so version %s serves the secret, not this update; if both runs refreshed the same credentials, the other run's are the ones in use",
			g.secret, strings.Join(newer, ", "), added, p.NewerVersion)
	}
	return outcome{pushed: p}
}

// compareVersions orders version numbers (decimal, as gsm checked them) by value.
func compareVersions(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

func olderVersion(a, b string) bool { return compareVersions(a, b) < 0 }
