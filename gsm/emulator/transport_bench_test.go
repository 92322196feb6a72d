package emulator_test

import (
	"context"
	"fmt"
	"testing"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

// BenchmarkAccess measures one AccessSecretVersion through the official
// client over each transport of the one port (go test -bench Access).
func BenchmarkAccess(b *testing.B) {
	for _, tr := range transports {
		b.Run(tr.name, func(b *testing.B) {
			addr, _ := emulator.StartForTest(b, parse(b, restSeed), emulator.Options{})
			c := tr.dial(b, addr)
			req := &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/p/secrets/SECRET_A_CREDS/versions/1"}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.AccessSecretVersion(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkListFiltered measures a filtered ListSecrets with a wildcard and a
// time comparison over 1000 secrets, through gRPC.
func BenchmarkListFiltered(b *testing.B) {
	seed := &emulator.Seed{Project: "p"}
	for i := range 1000 {
		seed.Secrets = append(seed.Secrets, emulator.SeedSecret{Name: fmt.Sprintf("SECRET_SOURCE-%d_CREDS", i), Labels: map[string]string{"connector": "source-x"}})
	}
	addr, _ := emulator.StartForTest(b, seed, emulator.Options{})
	c := dial(b, addr)
	req := &secretmanagerpb.ListSecretsRequest{Parent: "projects/p", PageSize: 25000, Filter: "name:SECRET_*_CREDS AND create_time>2000-01-01T00:00:00Z"}
	for b.Loop() {
		got, err := drain(c.ListSecrets(context.Background(), req).Next)
		if err != nil || len(got) != 1000 {
			b.Fatalf("listed %d, %v", len(got), err)
		}
	}
}
