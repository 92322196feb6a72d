package main

import (
	"context"
	"hash/crc32"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"github.com/rogpeppe/go-internal/testscript"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/airbytehq/ci-secrets/ghactions"
)

// injection is what a compromised or buggy server slips into the names and
// messages it sends: a line break followed by the workflow command that
// would make the GitHub runner ignore every ::add-mask:: after it, a lone
// CR (the runner ends a line there too) and a line separator.
const injection = "\n::stop-commands::abc\r::error::injected\u2028::warning::x"

// injectingServer is a Secret Manager that answers with injection in every
// string it controls: the secret's version name, error messages, and the
// name and labels of a secret outside the naming convention. It is a real
// gRPC service, so the real client and the real program run against it.
type injectingServer struct {
	secretmanagerpb.UnimplementedSecretManagerServiceServer
}

func (injectingServer) ListSecrets(_ context.Context, req *secretmanagerpb.ListSecretsRequest) (*secretmanagerpb.ListSecretsResponse, error) {
	p := req.GetParent()
	return &secretmanagerpb.ListSecretsResponse{Secrets: []*secretmanagerpb.Secret{
		{Name: p + "/secrets/SECRET_SOURCE-VNAME_CREDS", Labels: map[string]string{"connector": "source-vname"}},
		{Name: p + "/secrets/SECRET_SOURCE-DENIED_CREDS", Labels: map[string]string{"connector": "source-denied"}},
		{Name: p + "/secrets/SECRET_SOURCE-CORRUPT_CREDS", Labels: map[string]string{"connector": "source-corrupt"}},
		{Name: p + "/secrets/SECRET_SOURCE-LABEL_CREDS", Labels: map[string]string{"connector": "source-label", "filename": "x" + injection}},
		{Name: p + "/secrets/SECRET_X_CREDS" + injection, Labels: map[string]string{"connector": "source-x"}},
	}}, nil
}

func (injectingServer) AccessSecretVersion(_ context.Context, req *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	secret := strings.TrimSuffix(req.GetName(), "/versions/latest")
	data := []byte(`{"k": "injected-secret-value"}`)
	crc := int64(crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	switch {
	case strings.HasSuffix(secret, "DENIED_CREDS"):
		return nil, status.Error(codes.PermissionDenied, "denied"+injection)
	case strings.HasSuffix(secret, "CORRUPT_CREDS"):
		crc++ // the checksum error quotes the version name
	}
	return &secretmanagerpb.AccessSecretVersionResponse{
		Name:    secret + "/versions/7" + injection,
		Payload: &secretmanagerpb.SecretPayload{Data: data, DataCrc32C: &crc},
	}, nil
}

func (injectingServer) AddSecretVersion(_ context.Context, req *secretmanagerpb.AddSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	return &secretmanagerpb.SecretVersion{Name: req.GetParent() + "/versions/8" + injection, State: secretmanagerpb.SecretVersion_ENABLED}, nil
}

func (injectingServer) DisableSecretVersion(context.Context, *secretmanagerpb.DisableSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	return nil, status.Error(codes.PermissionDenied, "no"+injection)
}

func (injectingServer) ListSecretVersions(_ context.Context, req *secretmanagerpb.ListSecretVersionsRequest) (*secretmanagerpb.ListSecretVersionsResponse, error) {
	return &secretmanagerpb.ListSecretVersionsResponse{Versions: []*secretmanagerpb.SecretVersion{
		{Name: req.GetParent() + "/versions/8" + injection, State: secretmanagerpb.SecretVersion_ENABLED},
		{Name: req.GetParent() + "/versions/7" + injection, State: secretmanagerpb.SecretVersion_ENABLED},
	}}, nil
}

func startInjectingServer(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	secretmanagerpb.RegisterSecretManagerServiceServer(srv, injectingServer{})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// commandLines returns every line of out (split as the runner splits:
// "\n", "\r\n", a lone "\r") that the runner would read as a workflow
// command (it skips leading white space), other than ::add-mask::.
func commandLines(out string) []string {
	var bad []string
	for line := range ghactions.Lines(out) {
		t := strings.TrimLeft(line, " \t\v\f\u00a0\u2028\u2029")
		if !strings.HasPrefix(t, "::") {
			continue
		}
		// The commands ci-secrets itself emits: masks, and one error
		// annotation per failure (its message escaped as data).
		if strings.HasPrefix(t, "::add-mask::") || strings.HasPrefix(t, "::error title=ci-secrets::") {
			continue
		}
		bad = append(bad, line)
	}
	return bad
}

// TestServerTextCannotBecomeAWorkflowCommand: whatever a server puts in a
// version name, an error message, a secret name or a label, no line of
// sync's or list's output, in any format, is a workflow command other than
// the masks (issue 10 point 8), and the text still reaches the user escaped.
func TestServerTextCannotBecomeAWorkflowCommand(t *testing.T) {
	addr := startInjectingServer(t)
	root := t.TempDir()
	for _, args := range [][]string{
		{"sync", "--all", "--root", root, "--mask", "always"},
		{"sync", "--all", "--root", root, "--output", "json", "--mask", "always"},
		{"sync", "--all", "--root", root, "--log-format", "json"},
		{"sync", "--all", "--root", root, "--dry-run"},
		{"list"},
		{"list", "--output", "json"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runChecked(t, addr, nil, args...)
			for name, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
				if bad := commandLines(out); len(bad) > 0 {
					t.Errorf("%s has workflow-command lines %q:\n%s", name, bad, out)
				}
				if strings.Contains(out, "injected-secret-value") && !strings.Contains(out, "::add-mask::injected-secret-value") {
					t.Errorf("%s leaks the value", name)
				}
			}
			all := r.stdout + r.stderr
			if args[0] == "sync" && args[len(args)-1] != "--dry-run" {
				if r.code != exitFailed {
					t.Errorf("exit %d, want 1 (one secret denied, one corrupt)", r.code)
				}
				// The text is escaped, not dropped: the user still sees it
				// (a denied read is explained without the server's words).
				for _, want := range []string{`7\n::stop-commands::abc\r::error::injected\u2028::warning::x`} {
					if !strings.Contains(all, want) && !strings.Contains(all, strings.ReplaceAll(want, `\`, `\\`)) {
						t.Errorf("output lacks the escaped server text %q:\n%s", want, all)
					}
				}
			}
		})
	}
}

// TestPushServerTextCannotBecomeAWorkflowCommand: push prints the version
// names a server answers (the one it replaced, the one it added, the gcloud
// command for a disable that failed) and its errors: none becomes a
// workflow command either.
func TestPushServerTextCannotBecomeAWorkflowCommand(t *testing.T) {
	addr := startInjectingServer(t)
	for _, args := range [][]string{
		{"push", "source-vname", "--mask", "always"},
		{"push", "source-vname", "--output", "json", "--mask", "always"},
		{"push", "source-vname", "--log-format", "json"},
		{"push", "source-vname", "--dry-run"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			root := t.TempDir()
			upd := filepath.Join(root, "airbyte-integrations", "connectors", "source-vname", "secrets", "updated_configurations")
			if err := os.MkdirAll(upd, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(upd, "config|1.json"), []byte(`{"k": "refreshed-secret-value"}`), 0o600); err != nil {
				t.Fatal(err)
			}
			r := runChecked(t, addr, nil, append(args, "--root", root)...)
			for name, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
				if bad := commandLines(out); len(bad) > 0 {
					t.Errorf("%s has workflow-command lines %q:\n%s", name, bad, out)
				}
			}
			// Escaped, not dropped: the version names still reach the user.
			if all := r.stdout + r.stderr; !strings.Contains(all, `stop-commands::abc\r::error::injected\u2028`) && !strings.Contains(all, `stop-commands::abc\\r::error::injected\\u2028`) {
				t.Errorf("output lacks the escaped version name:\n%s", all)
			}
		})
	}
}

// cmdNoCommands checks that no line of the last command's stdout and stderr
// is a workflow command other than ::add-mask:: (`nocommands`).
func cmdNoCommands(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: nocommands")
	}
	for _, name := range []string{"stdout", "stderr"} {
		if bad := commandLines(ts.ReadFile(name)); len(bad) > 0 {
			ts.Fatalf("%s has lines the runner reads as workflow commands: %q", name, bad)
		}
	}
}
