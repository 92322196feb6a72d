package migrate

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/airbytehq/ci-secrets/labels"
)

// VersionChecker tells, from metadata alone, whether a secret has an
// ENABLED version: what sync needs to serve it. The gsm client does it with
// GetSecretVersion of `latest`, then ListSecretVersions state:ENABLED only
// when latest is not enabled.
type VersionChecker interface {
	HasEnabledVersion(ctx context.Context, secretID string) (bool, error)
}

// DefaultVersionConcurrency bounds the parallel version checks: each is a
// read request, and the project's read quota (600 a minute) is shared by
// every CI job at once.
const DefaultVersionConcurrency = 8

// Enabled is the outcome of CheckVersions: which of the serving secrets
// have an enabled version, and how many were checked.
type Enabled struct {
	secrets map[string]bool
	// Checked counts the secrets whose versions were looked at.
	Checked int
}

// Has reports whether secret has an enabled version; a nil Enabled (no
// check made) answers true, the labels alone deciding.
func (e *Enabled) Has(secret string) bool {
	if e == nil {
		return true
	}
	return e.secrets[secret]
}

// Set records a secret known to have an enabled version (one just created).
func (e *Enabled) Set(secret string) {
	if e != nil {
		e.secrets[secret] = true
	}
}

// CheckVersions checks the versions of the secrets that would serve a
// registration of s (the others do not change any verdict), at most
// concurrency at a time. It stops at the first error (the context's when
// cancelled), naming the secret.
func CheckVersions(ctx context.Context, s *Script, inventory []labels.Entry, c VersionChecker, concurrency int) (*Enabled, error) {
	idx := newIndex(inventory)
	want := map[string]bool{}
	for _, reg := range s.Registrations {
		if reg.Kind == KindOutside {
			continue
		}
		if st, sec, _ := idx.status(reg.Connector, reg.File); st == StatusServed {
			want[sec] = true
		}
	}
	for _, m := range s.Migrated {
		if st, sec, _ := idx.status(m.Connector, m.File); st == StatusServed {
			want[sec] = true
		}
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := &Enabled{secrets: map[string]bool{}, Checked: len(ids)}
	if concurrency < 1 {
		concurrency = 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, concurrency)
	for _, id := range ids {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ok, err := c.HasEnabledVersion(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("check the versions of %s: %w", id, err)
					cancel()
				}
				return
			}
			out.secrets[id] = ok
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// skippedNote explains a leftover that a secret skipped for its name seems
// meant for: its connector label names the connector and its filename label
// (or none) the file.
func skippedNote(skipped []SkippedSecret, connector, file string) string {
	stem, err := labels.StemOf(file)
	if err != nil {
		return ""
	}
	for _, sk := range skipped {
		if sk.Labels[labels.ConnectorKey] == "" {
			continue
		}
		f := sk.Labels["filename"]
		if f == "" {
			f = labels.DefaultStem
		}
		if f != stem {
			continue
		}
		for _, part := range strings.Split(sk.Labels[labels.ConnectorKey], "_") {
			if part == connector {
				return sk.Secret + " is labelled for this file but sync ignores it: its name does not match SECRET_<NAME>_CREDS; rename it (e.g. " + suggestName(sk.Secret) + ")"
			}
		}
	}
	return ""
}

// suggestName proposes a conventional name for a skipped secret.
func suggestName(id string) string {
	n := strings.ToUpper(id)
	if !strings.HasPrefix(n, "SECRET_") {
		n = "SECRET_" + n
	}
	if !strings.HasSuffix(n, "_CREDS") {
		n += "_CREDS"
	}
	return n
}

// SkippedWarnings are the report's warnings for the secrets skipped for
// their name.
func skippedWarnings(skipped []SkippedSecret) []string {
	var out []string
	for _, sk := range skipped {
		out = append(out, fmt.Sprintf("%s has a connector label (%s) but its name does not match SECRET_<NAME>_CREDS, so sync ignores it and it serves nothing: rename it to %s", sk.Secret, sk.Labels[labels.ConnectorKey], suggestName(sk.Secret)))
	}
	return out
}
