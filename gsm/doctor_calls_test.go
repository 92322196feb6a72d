package gsm_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

// The calls doctor adds: a listing with its own filter (one read request),
// and an access to one numbered version, which never falls back.
func TestListSecretsFilteredAndAccessVersion(t *testing.T) {
	c, srv := connect(t, parseSeed(t, `{
  "project": "p",
  "secrets": [
    {"name": "SECRET_A_CREDS", "labels": {"connector": "source-a"}, "versions": [{"data": "{\"v\": 1}"}, {"data": "{\"v\": 2}", "state": "DISABLED"}]},
    {"name": "misnamed", "labels": {"connector": "source-a"}, "versions": [{"data": "{}"}]},
    {"name": "unrelated", "labels": {"team": "x"}, "versions": [{"data": "{}"}]}
  ]
}`), emulator.Options{})
	ctx := context.Background()
	got, err := c.ListSecretsFiltered(ctx, "name:SECRET_ OR labels.connector:*")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range got {
		ids = append(ids, s.ID)
	}
	if strings.Join(ids, ",") != "SECRET_A_CREDS,misnamed" {
		t.Errorf("listed %v, want SECRET_A_CREDS and misnamed", ids)
	}
	p, err := c.AccessVersion(ctx, "SECRET_A_CREDS", "1")
	if err != nil || string(p.Data()) != `{"v": 1}` || p.Version != "1" || !p.Verified {
		t.Fatalf("version 1: %v, %v", p, err)
	}
	if _, err := c.AccessVersion(ctx, "SECRET_A_CREDS", "2"); err == nil || !strings.Contains(err.Error(), "version 2: not enabled") {
		t.Errorf("disabled version 2: %v", err)
	}
	if _, err := c.AccessVersion(ctx, "SECRET_A_CREDS", "9"); !errors.Is(err, gsm.ErrNotFound) {
		t.Errorf("missing version 9: %v, want ErrNotFound", err)
	}
	calls := srv.Calls()
	if calls["ListSecrets"] != 1 || calls["AccessSecretVersion"] != 3 || calls["ListSecretVersions"] != 0 {
		t.Errorf("calls %v: want 1 list, 3 accesses and no fallback", calls)
	}
}
