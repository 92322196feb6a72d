package emulator_test

import (
	"context"
	"math"
	"strings"
	"testing"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

const demoSeed = `{
  "project": "demo-project",
  "secrets": [
    {
      "name": "SECRET_SOURCE-S3_CREDS",
      "labels": {"connector": "source-s3"},
      "versions": [
        {"data": "{\"bucket\": \"old\"}", "state": "DISABLED"},
        {"data": "{\"bucket\": \"new\"}"}
      ]
    },
    {
      "name": "SECRET_SOURCE-MYSQL_SSH_CREDS",
      "labels": {"connector": "source-mysql_destination-mysql", "filename": "ssh_config"},
      "versions": [{"data_base64": "eyJob3N0IjogImRiIn0="}]
    }
  ]
}`

func parse(t testing.TB, js string) *emulator.Seed {
	t.Helper()
	s, err := emulator.ParseSeed(strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// dial returns the real client library talking to addr, with the library's
// own retries switched off so every injected fault is seen exactly once.
func dial(t testing.TB, addr string) *secretmanager.Client {
	t.Helper()
	c, err := secretmanager.NewClient(context.Background(),
		option.WithEndpoint(addr),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	)
	if err != nil {
		t.Fatal(err)
	}
	*c.CallOptions = secretmanager.CallOptions{}
	t.Cleanup(func() { c.Close() })
	return c
}

// start serves seed and returns a client and the server.
func start(t testing.TB, seed string, opts emulator.Options) (*secretmanager.Client, *emulator.Server) {
	t.Helper()
	addr, srv := emulator.StartForTest(t, parse(t, seed), opts)
	return dial(t, addr), srv
}

func wantCode(t testing.TB, err error, code codes.Code, contains string) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("err = %v, want code %v", err, code)
	}
	if contains != "" && !strings.Contains(status.Convert(err).Message(), contains) {
		t.Fatalf("message %q does not contain %q", status.Convert(err).Message(), contains)
	}
}

func mathNaN() float64 { return math.NaN() }
