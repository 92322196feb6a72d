package gsm

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
)

// VersionState is what the metadata of a secret's versions says about
// whether it can be served now.
type VersionState struct {
	// Enabled: some version is ENABLED, so Access would succeed.
	Enabled bool
	// Latest is the number of the `latest` version (empty when the secret
	// has none) and LatestState its state.
	Latest      string
	LatestState string
	// Newest is the newest ENABLED version when latest is not.
	Newest string
}

// EnabledVersion tells whether a secret has an ENABLED version, from
// metadata alone (no payload is read): one GetSecretVersion of `latest`
// (a read request), and only when that is not enabled, one
// ListSecretVersions with the filter state:ENABLED.
func (c *Client) EnabledVersion(ctx context.Context, secretID string) (VersionState, error) {
	name := c.secretName(secretID) + "/versions/latest"
	var v *secretmanagerpb.SecretVersion
	err := c.do(ctx, &c.stats.read, func(ctx context.Context) error {
		var err error
		v, err = c.sm.GetSecretVersion(ctx, &secretmanagerpb.GetSecretVersionRequest{Name: name}, capped(smallMaxMsg)...)
		return err
	})
	if err != nil {
		err = c.explain(err, "read the latest version's state of "+secretID, "roles/secretmanager.viewer (permission secretmanager.versions.get) on the secret")
		if errors.Is(err, ErrNotFound) {
			// No version at all (or the secret went since it was listed):
			// nothing can be served either way.
			return VersionState{}, nil
		}
		return VersionState{}, err
	}
	latest, ok := versionNumber(v.GetName(), secretID)
	if !ok {
		return VersionState{}, fmt.Errorf("read the latest version's state of %s from %s: %w: version name %s", secretID, c.endpointName(), ErrBadAnswer, quoteServerText(v.GetName()))
	}
	st := VersionState{Latest: latest, LatestState: v.GetState().String()}
	if v.GetState() == secretmanagerpb.SecretVersion_ENABLED {
		st.Enabled = true
		return st, nil
	}
	c.stats.fallbacks.Add(1)
	vs, err := c.listVersions(ctx, secretID, "state:ENABLED", 1)
	if err != nil {
		return VersionState{}, fmt.Errorf("look for an enabled version of %s: %w", secretID, err)
	}
	if len(vs) > 0 {
		st.Enabled, st.Newest = true, vs[0].Number
	}
	return st, nil
}
