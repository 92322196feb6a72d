package emulator_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

const listSeed = `{
  "project": "p",
  "secrets": [
    {"name": "SECRET_SOURCE-B_CREDS", "labels": {"connector": "source-b"}},
    {"name": "SECRET_SOURCE-A_CREDS", "labels": {"connector": "source-a", "filename": "oauth"}},
    {"name": "SECRET_MULTI_CREDS", "labels": {"connector": "source-mysql_destination-mysql"}},
    {"name": "SECRET_NOLABEL_CREDS"},
    {"name": "OTHER", "labels": {"team": "x"}},
    {"name": "SECRET_REGIONAL_CREDS", "location": "europe-west1", "labels": {"connector": "source-r"}},
    {"name": "SECRET_SOURCE-A_CREDS", "location": "us-east1", "labels": {"connector": "source-a"}}
  ]
}`

// list collects every page and returns the IDs and the number of requests.
func list(t *testing.T, c *secretmanager.Client, req *secretmanagerpb.ListSecretsRequest) ([]string, error) {
	t.Helper()
	var ids []string
	it := c.ListSecrets(context.Background(), req)
	for {
		s, err := it.Next()
		if err == iterator.Done {
			return ids, nil
		}
		if err != nil {
			return ids, err
		}
		ids = append(ids, s.GetName()[strings.LastIndex(s.GetName(), "/")+1:])
	}
}

func TestListFilters(t *testing.T) {
	c, srv := start(t, listSeed, emulator.Options{})
	tests := []struct {
		filter string
		want   string
	}{
		{"", "OTHER SECRET_MULTI_CREDS SECRET_NOLABEL_CREDS SECRET_SOURCE-A_CREDS SECRET_SOURCE-B_CREDS"},
		{"name:SECRET_", "SECRET_MULTI_CREDS SECRET_NOLABEL_CREDS SECRET_SOURCE-A_CREDS SECRET_SOURCE-B_CREDS"},
		{"name:SOURCE", "SECRET_SOURCE-A_CREDS SECRET_SOURCE-B_CREDS"},
		{"name:projects/p/secrets/OTH", "OTHER"},
		{"name=OTHER", "OTHER"},
		{"labels.connector=source-a", "SECRET_SOURCE-A_CREDS"},
		{"labels.connector=source-mysql", ""},
		{"labels.connector:source-mysql", "SECRET_MULTI_CREDS"},
		{"labels.connector:*", "SECRET_MULTI_CREDS SECRET_SOURCE-A_CREDS SECRET_SOURCE-B_CREDS"},
		{"labels:filename", "SECRET_SOURCE-A_CREDS"},
		{"NOT labels.connector:*", "OTHER SECRET_NOLABEL_CREDS"},
		{"-labels.connector:*", "OTHER SECRET_NOLABEL_CREDS"},
		{"name:SECRET_ AND NOT labels.connector:*", "SECRET_NOLABEL_CREDS"},
		{"name:SECRET_ -labels.connector:*", "SECRET_NOLABEL_CREDS"},
		{"labels.connector=source-a OR labels.connector=source-b", "SECRET_SOURCE-A_CREDS SECRET_SOURCE-B_CREDS"},
		{"labels.team=x OR labels.filename=oauth", "OTHER SECRET_SOURCE-A_CREDS"},
		{`labels.connector!="source-a"`, "OTHER SECRET_MULTI_CREDS SECRET_NOLABEL_CREDS SECRET_SOURCE-B_CREDS"},
		{"(labels.team:* OR name:MULTI) AND name:E", "OTHER SECRET_MULTI_CREDS"},
	}
	for _, tt := range tests {
		got, err := list(t, c, &secretmanagerpb.ListSecretsRequest{Parent: "projects/p", Filter: tt.filter})
		if err != nil {
			t.Errorf("%q: %v", tt.filter, err)
			continue
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%q = %v, want %s", tt.filter, got, tt.want)
		}
	}
	for _, bad := range []string{"SECRET_", "name:(", "labels.connector>a", "create_time<2020-01-01", "name:a AND"} {
		_, err := list(t, c, &secretmanagerpb.ListSecretsRequest{Parent: "projects/p", Filter: bad})
		wantCode(t, err, codes.InvalidArgument, "invalid filter")
	}
	if n := srv.Calls()["ListSecrets"]; n != len(tests)+5 {
		t.Errorf("ListSecrets calls = %d, want %d", n, len(tests)+5)
	}
}

func TestListSecretFields(t *testing.T) {
	c, _ := start(t, listSeed, emulator.Options{})
	resp, err := c.ListSecrets(context.Background(), &secretmanagerpb.ListSecretsRequest{Parent: "projects/p"}).Next()
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetName() != "projects/p/secrets/OTHER" || resp.GetLabels()["team"] != "x" || resp.GetCreateTime() == nil ||
		resp.GetReplication().GetAutomatic() == nil || resp.GetEtag() == "" {
		t.Errorf("secret = %v", resp)
	}
}

func TestListLocations(t *testing.T) {
	c, _ := start(t, listSeed, emulator.Options{})
	for parent, want := range map[string]string{
		"projects/p/locations/europe-west1": "SECRET_REGIONAL_CREDS",
		"projects/p/locations/us-east1":     "SECRET_SOURCE-A_CREDS",
		"projects/p/locations/asia-east1":   "",
	} {
		got, err := list(t, c, &secretmanagerpb.ListSecretsRequest{Parent: parent})
		if err != nil || strings.Join(got, " ") != want {
			t.Errorf("%s: %v, %v; want %s", parent, got, err, want)
		}
	}
	s, err := c.GetSecret(context.Background(), &secretmanagerpb.GetSecretRequest{Name: "projects/p/locations/us-east1/secrets/SECRET_SOURCE-A_CREDS"})
	if err != nil || s.GetLabels()["filename"] != "" || s.GetReplication() != nil {
		t.Errorf("regional secret = %v, %v", s, err)
	}
	_, err = c.GetSecret(context.Background(), &secretmanagerpb.GetSecretRequest{Name: "projects/p/secrets/SECRET_REGIONAL_CREDS"})
	wantCode(t, err, codes.NotFound, "not found")
}

func manySecrets(n int) string {
	var b strings.Builder
	b.WriteString(`{"project": "p", "secrets": [`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"name": "SECRET_S%04d_CREDS", "labels": {"connector": "s%d", "parity": "p%d"}}`, n-1-i, n-1-i, (n-1-i)%2)
	}
	b.WriteString("]}")
	return b.String()
}

func TestListPaging(t *testing.T) {
	c, srv := start(t, manySecrets(250), emulator.Options{})
	ctx := context.Background()

	// Page by page with explicit tokens: 10 matches in pages of 3.
	req := &secretmanagerpb.ListSecretsRequest{Parent: "projects/p", PageSize: 3, Filter: "labels.parity=p0 AND name:S000 OR name:S001"}
	var pages [][]string
	for {
		var page []*secretmanagerpb.Secret
		it := c.ListSecrets(ctx, req)
		next, err := iterator.NewPager(it, int(req.PageSize), req.PageToken).NextPage(&page)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range page {
			ids = append(ids, strings.TrimSuffix(strings.TrimPrefix(s.GetName(), "projects/p/secrets/SECRET_S"), "_CREDS"))
		}
		pages = append(pages, ids)
		if next == "" {
			break
		}
		req.PageToken = next
	}
	if got := fmt.Sprint(pages); got != "[[0000 0002 0004] [0006 0008 0010] [0012 0014 0016] [0018]]" {
		t.Errorf("pages = %s", got)
	}

	// The client's iterator follows tokens; page size 0 is the default 100.
	srv.ResetCalls()
	all, err := list(t, c, &secretmanagerpb.ListSecretsRequest{Parent: "projects/p"})
	if err != nil || len(all) != 250 || !slices.IsSorted(all) {
		t.Fatalf("got %d sorted=%v, %v", len(all), slices.IsSorted(all), err)
	}
	if n := srv.Calls()["ListSecrets"]; n != 3 {
		t.Errorf("default page size: %d calls for 250 secrets, want 3", n)
	}

	// total_size: the parent's count without a filter, 0 with one.
	it := c.ListSecrets(ctx, &secretmanagerpb.ListSecretsRequest{Parent: "projects/p", PageSize: 10})
	if _, err := it.Next(); err != nil || it.Response.(*secretmanagerpb.ListSecretsResponse).GetTotalSize() != 250 {
		t.Errorf("total_size = %v, %v", it.Response, err)
	}
	it = c.ListSecrets(ctx, &secretmanagerpb.ListSecretsRequest{Parent: "projects/p", PageSize: 10, Filter: "name:S"})
	if _, err := it.Next(); err != nil || it.Response.(*secretmanagerpb.ListSecretsResponse).GetTotalSize() != 0 {
		t.Errorf("filtered total_size = %v, %v", it.Response, err)
	}

	// Above the maximum the size is capped (as the API documents), not refused.
	srv.ResetCalls()
	if all, err := list(t, c, &secretmanagerpb.ListSecretsRequest{Parent: "projects/p", PageSize: 30000}); err != nil || len(all) != 250 || srv.Calls()["ListSecrets"] != 1 {
		t.Errorf("page size 30000: %d, %v, %v", len(all), err, srv.Calls())
	}
	_, err = list(t, c, &secretmanagerpb.ListSecretsRequest{Parent: "projects/p", PageSize: -1})
	wantCode(t, err, codes.InvalidArgument, "page_size")

	for _, tok := range []string{"garbage!", "eyJrIjoidmVyc2lvbnMiLCJhIjoiMSJ9"} {
		_, err = c.ListSecrets(ctx, &secretmanagerpb.ListSecretsRequest{Parent: "projects/p", PageToken: tok}).Next()
		wantCode(t, err, codes.InvalidArgument, "page_token")
	}
	// A token is bound to its filter.
	var page []*secretmanagerpb.Secret
	next, err := iterator.NewPager(c.ListSecrets(ctx, &secretmanagerpb.ListSecretsRequest{Parent: "projects/p", Filter: "name:S"}), 2, "").NextPage(&page)
	if err != nil || next == "" {
		t.Fatal(next, err)
	}
	_, err = c.ListSecrets(ctx, &secretmanagerpb.ListSecretsRequest{Parent: "projects/p", PageToken: next}).Next()
	wantCode(t, err, codes.InvalidArgument, "another parent or filter")
}

// Keyset paging stays correct while secrets are created and deleted between
// pages: nothing listed twice, nothing that existed throughout is skipped.
func TestListPagingConcurrentWrites(t *testing.T) {
	c, _ := start(t, manySecrets(20), emulator.Options{})
	ctx := context.Background()
	it := c.ListSecrets(ctx, &secretmanagerpb.ListSecretsRequest{Parent: "projects/p", PageSize: 5})
	seen := map[string]bool{}
	for i := 0; ; i++ {
		s, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if seen[s.GetName()] {
			t.Fatalf("%s listed twice", s.GetName())
		}
		seen[s.GetName()] = true
		if i == 6 {
			if err := c.DeleteSecret(ctx, &secretmanagerpb.DeleteSecretRequest{Name: "projects/p/secrets/SECRET_S0001_CREDS"}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{Parent: "projects/p", SecretId: "SECRET_A_CREDS", Secret: &secretmanagerpb.Secret{Replication: automatic()}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(seen) != 20 || seen["projects/p/secrets/SECRET_A_CREDS"] {
		t.Errorf("seen %d", len(seen))
	}
}

func automatic() *secretmanagerpb.Replication {
	return &secretmanagerpb.Replication{Replication: &secretmanagerpb.Replication_Automatic_{Automatic: &secretmanagerpb.Replication_Automatic{}}}
}

func TestNamesAndProjects(t *testing.T) {
	c, _ := start(t, listSeed, emulator.Options{})
	ctx := context.Background()
	_, err := list(t, c, &secretmanagerpb.ListSecretsRequest{Parent: "projects/other"})
	wantCode(t, err, codes.NotFound, "Project [other] not found")
	for _, parent := range []string{"", "projects", "projects/", "project/p", "projects/p/secrets", "projects/p/locations/", "projects/p/locations/l/x"} {
		_, err := list(t, c, &secretmanagerpb.ListSecretsRequest{Parent: parent})
		wantCode(t, err, codes.InvalidArgument, "not a valid parent resource name")
	}
	for _, name := range []string{"projects/p/secrets/", "projects/p/secrets/A/versions/1", "SECRET_SOURCE-A_CREDS"} {
		_, err := c.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: name})
		wantCode(t, err, codes.InvalidArgument, "not a valid secret resource name")
	}
	_, err = c.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: "projects/p/secrets/MISSING"})
	wantCode(t, err, codes.NotFound, "Secret [projects/p/secrets/MISSING] not found.")
	s, err := c.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: "projects/p/secrets/SECRET_SOURCE-A_CREDS"})
	if err != nil || s.GetLabels()["filename"] != "oauth" {
		t.Errorf("get = %v, %v", s, err)
	}
}
