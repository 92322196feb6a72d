package emulator_test

import (
	"context"
	"hash/crc32"
	"strings"
	"testing"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

const versionSeed = `{
  "project": "p",
  "secrets": [
    {"name": "A", "versions": [{"data": "a1"}, {"data": "a2", "state": "DISABLED"}, {"data": "a3"}]},
    {"name": "DIS", "versions": [{"data": "d1"}, {"data": "d2", "state": "DISABLED"}]},
    {"name": "DES", "versions": [{"data": "x1"}, {"data": "x2", "state": "DESTROYED"}]},
    {"name": "CRC", "versions": [{"data": "c1", "crc32c": 7}]},
    {"name": "EMPTY"},
    {"name": "R", "location": "europe-west1", "versions": [{"data": "r1"}]}
  ]
}`

func crc(b []byte) int64 { return int64(crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))) }

func TestAccess(t *testing.T) {
	c, _ := start(t, versionSeed, emulator.Options{})
	ctx := context.Background()
	acc := func(name string) (*secretmanagerpb.AccessSecretVersionResponse, error) {
		return c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: name})
	}
	for name, want := range map[string]string{
		"projects/p/secrets/A/versions/latest":                        "projects/p/secrets/A/versions/3 a3",
		"projects/p/secrets/A/versions/1":                             "projects/p/secrets/A/versions/1 a1",
		"projects/p/locations/europe-west1/secrets/R/versions/latest": "projects/p/locations/europe-west1/secrets/R/versions/1 r1",
	} {
		r, err := acc(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := r.GetName() + " " + string(r.GetPayload().GetData()); got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
		if r.GetPayload().DataCrc32C == nil || *r.GetPayload().DataCrc32C != crc(r.GetPayload().GetData()) {
			t.Errorf("%s: crc %v", name, r.GetPayload().DataCrc32C)
		}
	}
	// latest is the most recent version whatever its state: no fallback.
	_, err := acc("projects/p/secrets/DIS/versions/latest")
	wantCode(t, err, codes.FailedPrecondition, "Secret Version [projects/p/secrets/DIS/versions/2] is in DISABLED state.")
	_, err = acc("projects/p/secrets/A/versions/2")
	wantCode(t, err, codes.FailedPrecondition, "is in DISABLED state.")
	_, err = acc("projects/p/secrets/DES/versions/latest")
	wantCode(t, err, codes.FailedPrecondition, "Secret Version [projects/p/secrets/DES/versions/2] is in DESTROYED state.")
	// The crc32c override is served as is, to test a client's integrity check.
	r, err := acc("projects/p/secrets/CRC/versions/1")
	if err != nil || *r.GetPayload().DataCrc32C != 7 || string(r.GetPayload().GetData()) != "c1" {
		t.Errorf("crc override: %v, %v", r, err)
	}

	_, err = acc("projects/p/secrets/EMPTY/versions/latest")
	wantCode(t, err, codes.NotFound, "Secret Version [projects/p/secrets/EMPTY/versions/latest] not found.")
	_, err = acc("projects/p/secrets/A/versions/4")
	wantCode(t, err, codes.NotFound, "versions/4] not found")
	_, err = acc("projects/p/secrets/MISSING/versions/latest")
	wantCode(t, err, codes.NotFound, "Secret [projects/p/secrets/MISSING] not found or has no versions.")
	_, err = acc("projects/q/secrets/A/versions/1")
	wantCode(t, err, codes.NotFound, "Project [q]")
	for _, bad := range []string{"projects/p/secrets/A/versions/0", "projects/p/secrets/A/versions/01", "projects/p/secrets/A/versions/1a", "projects/p/secrets/A", "projects/p/secrets/A/versions/-1"} {
		_, err = acc(bad)
		wantCode(t, err, codes.InvalidArgument, "")
	}
}

func TestVersionStates(t *testing.T) {
	c, srv := start(t, versionSeed, emulator.Options{})
	ctx := context.Background()
	name := "projects/p/secrets/A/versions/"
	v, err := c.DisableSecretVersion(ctx, &secretmanagerpb.DisableSecretVersionRequest{Name: name + "3"})
	if err != nil || v.GetState() != secretmanagerpb.SecretVersion_DISABLED || v.GetName() != name+"3" {
		t.Fatalf("disable = %v, %v", v, err)
	}
	// Idempotent.
	if v, err = c.DisableSecretVersion(ctx, &secretmanagerpb.DisableSecretVersionRequest{Name: name + "3"}); err != nil || v.GetState() != secretmanagerpb.SecretVersion_DISABLED {
		t.Fatalf("disable again = %v, %v", v, err)
	}
	if v, err = c.EnableSecretVersion(ctx, &secretmanagerpb.EnableSecretVersionRequest{Name: name + "2"}); err != nil || v.GetState() != secretmanagerpb.SecretVersion_ENABLED {
		t.Fatalf("enable = %v, %v", v, err)
	}
	r, err := c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: name + "2"})
	if err != nil || string(r.GetPayload().GetData()) != "a2" {
		t.Fatalf("access enabled 2 = %v, %v", r, err)
	}
	v, err = c.DestroySecretVersion(ctx, &secretmanagerpb.DestroySecretVersionRequest{Name: name + "1"})
	if err != nil || v.GetState() != secretmanagerpb.SecretVersion_DESTROYED || v.GetDestroyTime() == nil {
		t.Fatalf("destroy = %v, %v", v, err)
	}
	_, err = c.EnableSecretVersion(ctx, &secretmanagerpb.EnableSecretVersionRequest{Name: name + "1"})
	wantCode(t, err, codes.FailedPrecondition, "DESTROYED")
	_, err = c.DisableSecretVersion(ctx, &secretmanagerpb.DisableSecretVersionRequest{Name: name + "1"})
	wantCode(t, err, codes.FailedPrecondition, "DESTROYED")
	_, err = c.DestroySecretVersion(ctx, &secretmanagerpb.DestroySecretVersionRequest{Name: name + "1"})
	wantCode(t, err, codes.FailedPrecondition, "DESTROYED")
	_, err = c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: name + "1"})
	wantCode(t, err, codes.FailedPrecondition, "DESTROYED")
	_, err = c.EnableSecretVersion(ctx, &secretmanagerpb.EnableSecretVersionRequest{Name: name + "9"})
	wantCode(t, err, codes.NotFound, "")

	// The destroyed data is gone from the server's state.
	for _, sec := range srv.Snapshot().Secrets {
		if sec.Name == "A" && (sec.Versions[0].Data != nil || sec.Versions[0].State != "DESTROYED" || sec.Versions[2].State != "DISABLED") {
			t.Errorf("A = %+v", sec.Versions)
		}
	}
	g, err := c.GetSecretVersion(ctx, &secretmanagerpb.GetSecretVersionRequest{Name: name + "latest"})
	if err != nil || g.GetName() != name+"3" || g.GetState() != secretmanagerpb.SecretVersion_DISABLED {
		t.Errorf("get latest = %v, %v", g, err)
	}
}

func TestListSecretVersions(t *testing.T) {
	seed := `{"project": "p", "secrets": [{"name": "S", "versions": [
		{"data": "1"}, {"data": "2", "state": "DISABLED"}, {"data": "3"}, {"data": "4", "state": "DESTROYED"},
		{"data": "5"}, {"data": "6", "state": "DISABLED"}, {"data": "7"}, {"data": "8"}]}]}`
	c, srv := start(t, seed, emulator.Options{})
	ctx := context.Background()
	ls := func(filter string, size int32) string {
		t.Helper()
		it := c.ListSecretVersions(ctx, &secretmanagerpb.ListSecretVersionsRequest{Parent: "projects/p/secrets/S", Filter: filter, PageSize: size})
		var out []string
		for {
			v, err := it.Next()
			if err == iterator.Done {
				return strings.Join(out, " ")
			}
			if err != nil {
				t.Fatalf("%q: %v", filter, err)
			}
			out = append(out, v.GetName()[strings.LastIndex(v.GetName(), "/")+1:]+":"+v.GetState().String()[:3])
		}
	}
	if got := ls("", 0); got != "8:ENA 7:ENA 6:DIS 5:ENA 4:DES 3:ENA 2:DIS 1:ENA" {
		t.Errorf("all = %s", got)
	}
	srv.ResetCalls()
	if got := ls("state:ENABLED", 2); got != "8:ENA 7:ENA 5:ENA 3:ENA 1:ENA" {
		t.Errorf("enabled = %s", got)
	}
	if n := srv.Calls()["ListSecretVersions"]; n != 3 {
		t.Errorf("pages of 2 for 5 versions: %d calls", n)
	}
	if got := ls("state:DISABLED", 0); got != "6:DIS 2:DIS" {
		t.Errorf("disabled = %s", got)
	}
	if got := ls("state=DESTROYED OR state:disabled", 1); got != "6:DIS 4:DES 2:DIS" {
		t.Errorf("destroyed or disabled = %s", got)
	}
	if got := ls("NOT state:ENABLED AND name:versions/6", 0); got != "6:DIS" {
		t.Errorf("name = %s", got)
	}
	_, err := c.ListSecretVersions(ctx, &secretmanagerpb.ListSecretVersionsRequest{Parent: "projects/p/secrets/S", Filter: "state:GONE"}).Next()
	wantCode(t, err, codes.InvalidArgument, "invalid filter")
	_, err = c.ListSecretVersions(ctx, &secretmanagerpb.ListSecretVersionsRequest{Parent: "projects/p/secrets/NONE"}).Next()
	wantCode(t, err, codes.NotFound, "")
	it := c.ListSecretVersions(ctx, &secretmanagerpb.ListSecretVersionsRequest{Parent: "projects/p/secrets/S", PageSize: 3})
	if _, err := it.Next(); err != nil || it.Response.(*secretmanagerpb.ListSecretVersionsResponse).GetTotalSize() != 8 {
		t.Errorf("total_size: %v", err)
	}
}

func TestWriteMethods(t *testing.T) {
	c, srv := start(t, versionSeed, emulator.Options{})
	ctx := context.Background()
	s, err := c.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{
		Parent: "projects/p", SecretId: "SECRET_NEW_CREDS",
		Secret: &secretmanagerpb.Secret{Labels: map[string]string{"connector": "source-new"}, Replication: automatic()},
	})
	if err != nil || s.GetName() != "projects/p/secrets/SECRET_NEW_CREDS" || s.GetLabels()["connector"] != "source-new" || s.GetReplication().GetAutomatic() == nil {
		t.Fatalf("create = %v, %v", s, err)
	}
	_, err = c.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{Parent: "projects/p", SecretId: "SECRET_NEW_CREDS", Secret: &secretmanagerpb.Secret{Replication: automatic()}})
	wantCode(t, err, codes.AlreadyExists, "Secret [projects/p/secrets/SECRET_NEW_CREDS] already exists.")
	// The same ID in a region is another secret; regional secrets carry no replication.
	if _, err = c.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{Parent: "projects/p/locations/us-east1", SecretId: "SECRET_NEW_CREDS", Secret: &secretmanagerpb.Secret{}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{Parent: "projects/p/locations/us-east1", SecretId: "X", Secret: &secretmanagerpb.Secret{Replication: automatic()}})
	wantCode(t, err, codes.InvalidArgument, "regional")
	_, err = c.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{Parent: "projects/p", SecretId: "X", Secret: &secretmanagerpb.Secret{}})
	wantCode(t, err, codes.InvalidArgument, "replication is required")
	for id, want := range map[string]string{"": "secret ID is empty", "a.b": `secret ID "a.b" contains '.'`, strings.Repeat("x", 256): "over the limit of 255"} {
		_, err = c.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{Parent: "projects/p", SecretId: id, Secret: &secretmanagerpb.Secret{Replication: automatic()}})
		wantCode(t, err, codes.InvalidArgument, want)
	}
	for lbl, want := range map[string]string{"Connector": "must start with a lowercase letter", "filename": `value "../etc" of label "filename"`} {
		_, err = c.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{Parent: "projects/p", SecretId: "Y", Secret: &secretmanagerpb.Secret{Replication: automatic(), Labels: map[string]string{lbl: "../etc"}}})
		wantCode(t, err, codes.InvalidArgument, want)
	}
	_, err = c.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{Parent: "projects/q", SecretId: "Y", Secret: &secretmanagerpb.Secret{Replication: automatic()}})
	wantCode(t, err, codes.NotFound, "")

	// AddSecretVersion: numbering, checksums, size limit.
	parent := "projects/p/secrets/SECRET_NEW_CREDS"
	data := []byte(`{"k": "v"}`)
	sum := crc(data)
	v, err := c.AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{Parent: parent, Payload: &secretmanagerpb.SecretPayload{Data: data, DataCrc32C: &sum}})
	if err != nil || v.GetName() != parent+"/versions/1" || v.GetState() != secretmanagerpb.SecretVersion_ENABLED || !v.GetClientSpecifiedPayloadChecksum() {
		t.Fatalf("add = %v, %v", v, err)
	}
	v, err = c.AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{Parent: parent, Payload: &secretmanagerpb.SecretPayload{Data: []byte("two")}})
	if err != nil || v.GetName() != parent+"/versions/2" || v.GetClientSpecifiedPayloadChecksum() {
		t.Fatalf("add 2 = %v, %v", v, err)
	}
	bad := sum + 1
	secretText := []byte("hunter2-super-secret")
	_, err = c.AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{Parent: parent, Payload: &secretmanagerpb.SecretPayload{Data: secretText, DataCrc32C: &bad}})
	wantCode(t, err, codes.InvalidArgument, "checksum mismatch")
	if strings.Contains(err.Error(), "hunter2") {
		t.Error("an error message carries payload data")
	}
	big := make([]byte, emulator.MaxPayloadSize+1)
	copy(big, "hunter2")
	_, err = c.AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{Parent: parent, Payload: &secretmanagerpb.SecretPayload{Data: big}})
	wantCode(t, err, codes.InvalidArgument, "64KiB")
	if strings.Contains(err.Error(), "hunter2") {
		t.Error("an error message carries payload data")
	}
	if _, err = c.AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{Parent: parent, Payload: &secretmanagerpb.SecretPayload{Data: big[:emulator.MaxPayloadSize]}}); err != nil {
		t.Errorf("64 KiB exactly: %v", err)
	}
	_, err = c.AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{Parent: parent})
	wantCode(t, err, codes.InvalidArgument, "payload is required")
	_, err = c.AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{Parent: "projects/p/secrets/NOPE", Payload: &secretmanagerpb.SecretPayload{Data: data}})
	wantCode(t, err, codes.NotFound, "")
	r, err := c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: parent + "/versions/latest"})
	if err != nil || r.GetName() != parent+"/versions/3" {
		t.Errorf("latest after adds = %v, %v", r.GetName(), err)
	}

	// UpdateSecret: labels only.
	u, err := c.UpdateSecret(ctx, &secretmanagerpb.UpdateSecretRequest{
		Secret:     &secretmanagerpb.Secret{Name: parent, Labels: map[string]string{"connector": "source-x", "filename": "f"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"labels"}},
	})
	if err != nil || u.GetLabels()["filename"] != "f" || u.GetEtag() == s.GetEtag() {
		t.Fatalf("update = %v, %v", u, err)
	}
	_, err = c.UpdateSecret(ctx, &secretmanagerpb.UpdateSecretRequest{Secret: &secretmanagerpb.Secret{Name: parent}})
	wantCode(t, err, codes.InvalidArgument, "update_mask is required")
	_, err = c.UpdateSecret(ctx, &secretmanagerpb.UpdateSecretRequest{Secret: &secretmanagerpb.Secret{Name: parent}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"replication"}}})
	wantCode(t, err, codes.InvalidArgument, `"replication"`)
	_, err = c.UpdateSecret(ctx, &secretmanagerpb.UpdateSecretRequest{Secret: &secretmanagerpb.Secret{Name: parent, Labels: map[string]string{"a.b": ""}}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"labels"}}})
	wantCode(t, err, codes.InvalidArgument, `label key "a.b"`)
	_, err = c.UpdateSecret(ctx, &secretmanagerpb.UpdateSecretRequest{Secret: &secretmanagerpb.Secret{Name: "projects/p/secrets/NOPE"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"labels"}}})
	wantCode(t, err, codes.NotFound, "")

	// DeleteSecret.
	if err := c.DeleteSecret(ctx, &secretmanagerpb.DeleteSecretRequest{Name: parent}); err != nil {
		t.Fatal(err)
	}
	err = c.DeleteSecret(ctx, &secretmanagerpb.DeleteSecretRequest{Name: parent})
	wantCode(t, err, codes.NotFound, "")
	_, err = c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: parent + "/versions/1"})
	wantCode(t, err, codes.NotFound, "")
	if _, err := c.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: "projects/p/locations/us-east1/secrets/SECRET_NEW_CREDS"}); err != nil {
		t.Errorf("the regional twin went with it: %v", err)
	}

	calls := srv.Calls()
	if calls["CreateSecret"] != 11 || calls["AddSecretVersion"] != 7 || calls["UpdateSecret"] != 5 || calls["DeleteSecret"] != 2 {
		t.Errorf("calls = %v", calls)
	}
}

// Unimplemented methods answer UNIMPLEMENTED and are still counted.
func TestUnimplemented(t *testing.T) {
	c, srv := start(t, versionSeed, emulator.Options{})
	_, err := c.RotateSecret(context.Background(), &secretmanagerpb.RotateSecretRequest{Parent: "projects/p/secrets/A"})
	wantCode(t, err, codes.Unimplemented, "")
	if srv.Calls()["RotateSecret"] != 1 {
		t.Errorf("calls = %v", srv.Calls())
	}
}
