package gsm_test

import (
	"context"
	"testing"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

// EnabledVersion answers from metadata only: one GetSecretVersion when
// latest is enabled, one ListSecretVersions more when it is not, and no
// AccessSecretVersion ever.
func TestEnabledVersion(t *testing.T) {
	c, srv := connect(t, parseSeed(t, `{
  "project": "p",
  "secrets": [
    {"name": "SECRET_OK_CREDS", "versions": [{"data": "{}"}]},
    {"name": "SECRET_OLDER_CREDS", "versions": [{"data": "{}"}, {"data": "{}", "state": "DESTROYED"}]},
    {"name": "SECRET_DESTROYED_CREDS", "versions": [{"data": "{}", "state": "DESTROYED"}]},
    {"name": "SECRET_DISABLED_CREDS", "versions": [{"data": "{}", "state": "DISABLED"}, {"data": "{}", "state": "DESTROYED"}]},
    {"name": "SECRET_EMPTY_CREDS", "versions": []}
  ]
}`), emulator.Options{})
	for _, tt := range []struct {
		id              string
		enabled         bool
		latest, newest  string
		gets, lists     int
		wantLatestState string
	}{
		{"SECRET_OK_CREDS", true, "1", "", 1, 0, "ENABLED"},
		{"SECRET_OLDER_CREDS", true, "2", "1", 1, 1, "DESTROYED"},
		{"SECRET_DESTROYED_CREDS", false, "1", "", 1, 1, "DESTROYED"},
		{"SECRET_DISABLED_CREDS", false, "2", "", 1, 1, "DESTROYED"},
		{"SECRET_EMPTY_CREDS", false, "", "", 1, 0, ""},
	} {
		before := srv.Calls()
		st, err := c.EnabledVersion(context.Background(), tt.id)
		if err != nil {
			t.Fatalf("%s: %v", tt.id, err)
		}
		if st.Enabled != tt.enabled || st.Latest != tt.latest || st.Newest != tt.newest || st.LatestState != tt.wantLatestState {
			t.Errorf("%s: %+v", tt.id, st)
		}
		after := srv.Calls()
		if g, l := after["GetSecretVersion"]-before["GetSecretVersion"], after["ListSecretVersions"]-before["ListSecretVersions"]; g != tt.gets || l != tt.lists {
			t.Errorf("%s: %d GetSecretVersion and %d ListSecretVersions, want %d and %d", tt.id, g, l, tt.gets, tt.lists)
		}
	}
	if n := srv.Calls()["AccessSecretVersion"]; n != 0 {
		t.Errorf("%d payload reads, want none", n)
	}
	if got := c.Stats().ReadRequests; got != 8 {
		t.Errorf("%d read requests counted, want 8", got)
	}
}
