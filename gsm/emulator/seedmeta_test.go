package emulator_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

const richSeed = `{
  "project": "p",
  "locations": ["seed-region-1"],
  "secrets": [
    {
      "name": "RICH",
      "labels": {"connector": "source-s3"},
      "annotations": {"owner.team": "ci"},
      "create_time": "2026-01-01T00:00:00Z",
      "expire_time": "2027-01-01T00:00:00Z",
      "version_aliases": {"current": 2},
      "topics": ["projects/p/topics/rotations"],
      "rotation": {"nextRotationTime": "2026-06-01T00:00:00Z", "rotationPeriod": "7200s"},
      "version_destroy_ttl": "172800s",
      "replication": {"userManaged": {"replicas": [{"location": "us-east1"}, {"location": "europe-west1"}]}},
      "tags": {"123/environment": "production"},
      "iam_policy": {"bindings": [{"role": "roles/secretmanager.secretAccessor", "members": ["user:alice@example.com"]}]},
      "versions": [
        {"create_time": "2026-01-02T00:00:00Z", "scheduled_destroy_time": "2026-03-03T00:00:00Z", "data": "one", "state": "DISABLED"},
        {"create_time": "2026-01-03T00:00:00Z", "data": "two"}
      ]
    },
    {
      "name": "REGIONAL",
      "location": "us-west2",
      "customer_managed_encryption": {"kmsKeyName": "projects/p/locations/us-west2/keyRings/r/cryptoKeys/k"},
      "versions": [{"kms_key_version_name": "projects/p/locations/us-west2/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1", "data": "r"}]
    }
  ]
}`

// A dump seeds the next start: every field survives the round trip.
func TestDumpSeedsTheNextStart(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	c, srv := start(t, richSeed, emulator.Options{Now: clock.Now})
	ctx := context.Background()
	s, err := c.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: "projects/p/secrets/RICH"})
	if err != nil {
		t.Fatal(err)
	}
	if s.GetAnnotations()["owner.team"] != "ci" || s.GetVersionAliases()["current"] != 2 || len(s.GetReplication().GetUserManaged().GetReplicas()) != 2 ||
		s.GetRotation().GetRotationPeriod().AsDuration() != 2*time.Hour || s.GetVersionDestroyTtl().AsDuration() != 48*time.Hour ||
		!s.GetCreateTime().AsTime().Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("seeded secret = %v", s)
	}
	v, err := c.GetSecretVersion(ctx, &secretmanagerpb.GetSecretVersionRequest{Name: "projects/p/secrets/RICH/versions/1"})
	if err != nil || v.GetState() != secretmanagerpb.SecretVersion_DISABLED || v.GetScheduledDestroyTime() == nil {
		t.Errorf("seeded scheduled version = %v, %v", v, err)
	}
	// A change made while running is in the dump too.
	if _, err := c.UpdateSecret(ctx, &secretmanagerpb.UpdateSecretRequest{
		Secret:     &secretmanagerpb.Secret{Name: "projects/p/secrets/RICH", Annotations: map[string]string{"owner.team": "ci2"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"annotations"}},
	}); err != nil {
		t.Fatal(err)
	}

	var first bytes.Buffer
	if err := srv.Dump(&first); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"annotations"`, `"owner.team": "ci2"`, `"version_aliases"`, `"topics"`, `"rotation"`, `"version_destroy_ttl": "172800s"`,
		`"userManaged"`, `"tags"`, `"iam_policy"`, `"scheduled_destroy_time"`, `"customer_managed_encryption"`, `"kms_key_version_name"`, `"expire_time"`, `"seed-region-1"`} {
		if !strings.Contains(first.String(), field) {
			t.Errorf("dump lacks %s:\n%s", field, first.String())
		}
	}
	seed, err := emulator.ParseSeed(bytes.NewReader(first.Bytes()))
	if err != nil {
		t.Fatalf("the dump does not load as a seed: %v\n%s", err, first.String())
	}
	again, err := emulator.New(seed, emulator.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var second bytes.Buffer
	if err := again.Dump(&second); err != nil {
		t.Fatal(err)
	}
	strip := func(s string) string { return s[:strings.Index(s, `"calls"`)] }
	if strip(first.String()) != strip(second.String()) {
		t.Errorf("dump of the reloaded dump differs:\n%s\nvs\n%s", first.String(), second.String())
	}

	// Once the scheduled time passes, the dump says DESTROYED, data gone.
	clock.Advance(3 * 24 * time.Hour)
	snap := again.Snapshot()
	if v := snap.Secrets[0].Versions[0]; v.State != "DESTROYED" || v.Data != nil || v.DestroyTime.IsZero() {
		t.Errorf("after the TTL: %+v", v)
	}
}

func TestSeedFieldErrors(t *testing.T) {
	for _, tt := range []struct{ field, want string }{
		{`"annotations": {"-x": "v"}`, "annotation key"},
		{`"topics": ["nope"]`, "topic name"},
		{`"rotation": {"nextRotationTime": "2026-06-01T00:00:00Z"}`, "at least one topic"},
		{`"rotation": {"bogus": 1}`, "REST API's JSON form"},
		{`"version_destroy_ttl": "soon"`, "not a duration"},
		{`"version_aliases": {"current": 5}`, "does not exist"},
		{`"customer_managed_encryption": {"kmsKeyName": "projects/p/locations/global/keyRings/r/cryptoKeys/k"}`, "regional secrets"},
		{`"iam_policy": {"bindings": [{"role": "roles/owner", "members": ["alice"]}]}`, "not of the form"},
		{`"replication": {"userManaged": {"replicas": []}}`, "at least one replica"},
	} {
		_, err := emulator.ParseSeed(strings.NewReader(`{"project": "p", "secrets": [{"name": "S", ` + tt.field + `, "versions": [{"data": "x"}]}]}`))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.field, err, tt.want)
		}
	}
}
