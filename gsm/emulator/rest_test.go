package emulator_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

// restCall sends one plain HTTP request, as curl would, and returns the
// status, the Content-Type and the decoded JSON body.
func restCall(t *testing.T, hc *http.Client, method, url, body string, header ...string) (int, string, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d answer is not JSON: %v: %q", method, url, resp.StatusCode, err, raw)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), out
}

// wantGoogleError checks Google's JSON error shape:
// {"error": {"code": HTTP, "message": "...", "status": "NAME"}}.
func wantGoogleError(t *testing.T, code int, body map[string]any, wantStatus int, name, contains string) {
	t.Helper()
	e, ok := body["error"].(map[string]any)
	if !ok || len(body) != 1 {
		t.Fatalf("body %v is not {\"error\": {...}}", body)
	}
	if code != wantStatus || e["code"] != float64(wantStatus) || e["status"] != name {
		t.Errorf("HTTP %d, error %v: want HTTP %d and status %s", code, e, wantStatus, name)
	}
	if msg, _ := e["message"].(string); msg == "" || !strings.Contains(msg, contains) {
		t.Errorf("message %q does not contain %q", msg, contains)
	}
}

const restSeed = `{
  "project": "p",
  "secrets": [
    {"name": "SECRET_A_CREDS", "labels": {"connector": "a"}, "versions": [{"data": "alpha"}, {"data": "beta", "state": "DISABLED"}]},
    {"name": "SECRET_B_CREDS", "labels": {"connector": "b"}, "versions": [{"data": "bravo"}]}
  ]
}`

// TestRESTPlainHTTP speaks the REST mapping with net/http over HTTP/1.1,
// as curl does: list, access, add, state changes, and Google's error shape.
func TestRESTPlainHTTP(t *testing.T) {
	addr, _ := emulator.StartForTest(t, parse(t, restSeed), emulator.Options{})
	base := "http://" + addr + "/v1/projects/p"
	hc := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: false}}

	code, ct, body := restCall(t, hc, "GET", base+"/secrets?filter=labels.connector%3Da&pageSize=10", "")
	if code != 200 || !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("list: %d %s %v", code, ct, body)
	}
	for _, unset := range []string{"totalSize", "nextPageToken"} {
		if _, ok := body[unset]; ok {
			t.Errorf("list answer holds unset field %s, which GSM leaves out: %v", unset, body)
		}
	}
	secrets, _ := body["secrets"].([]any)
	if len(secrets) != 1 || secrets[0].(map[string]any)["name"] != "projects/p/secrets/SECRET_A_CREDS" {
		t.Errorf("list with filter = %v", body)
	}
	if _, ok := secrets[0].(map[string]any)["createTime"]; !ok {
		t.Errorf("JSON field names are not the API's lowerCamelCase: %v", secrets[0])
	}

	code, _, body = restCall(t, hc, "GET", base+"/secrets/SECRET_A_CREDS/versions/1:access", "")
	payload, _ := body["payload"].(map[string]any)
	if data, _ := base64.StdEncoding.DecodeString(payload["data"].(string)); code != 200 || string(data) != "alpha" || payload["dataCrc32c"] == nil {
		t.Errorf("access: %d %v", code, body)
	}

	// The official clients add $alt to every call; Google's system
	// parameters are accepted, unknown ones are not.
	code, _, body = restCall(t, hc, "GET", base+"/secrets/SECRET_B_CREDS?%24alt=json%3Benum-encoding%3Dint&prettyPrint=false", "")
	if code != 200 || body["name"] != "projects/p/secrets/SECRET_B_CREDS" {
		t.Errorf("get with system parameters: %d %v", code, body)
	}
	code, _, body = restCall(t, hc, "GET", base+"/secrets/SECRET_B_CREDS?colour=red", "")
	wantGoogleError(t, code, body, 400, "INVALID_ARGUMENT", "colour")
	code, _, body = restCall(t, hc, "POST", base+"/secrets/SECRET_B_CREDS:addVersion", `{"payload": {"data": "eA=="}, "colour": "red"}`)
	wantGoogleError(t, code, body, 400, "INVALID_ARGUMENT", "colour")

	code, _, body = restCall(t, hc, "POST", base+"/secrets/SECRET_B_CREDS:addVersion", `{"payload": {"data": "`+base64.StdEncoding.EncodeToString([]byte("charlie"))+`"}}`)
	if code != 200 || body["name"] != "projects/p/secrets/SECRET_B_CREDS/versions/2" || body["state"] != "ENABLED" {
		t.Errorf("addVersion: %d %v", code, body)
	}

	// Errors, in Google's JSON error shape.
	code, _, body = restCall(t, hc, "GET", base+"/secrets/MISSING", "")
	wantGoogleError(t, code, body, 404, "NOT_FOUND", "Secret [projects/p/secrets/MISSING] not found.")
	code, _, body = restCall(t, hc, "GET", base+"/secrets/SECRET_A_CREDS/versions/latest:access", "")
	wantGoogleError(t, code, body, 400, "FAILED_PRECONDITION", "is in DISABLED state")
	code, _, body = restCall(t, hc, "POST", base+"/secrets/SECRET_A_CREDS/versions/1:disable", `{"etag": "\"stale\""}`)
	wantGoogleError(t, code, body, 400, "FAILED_PRECONDITION", "etag")
	code, _, body = restCall(t, hc, "POST", base+"/secrets?secretId=SECRET_A_CREDS", `{"replication": {"automatic": {}}}`)
	wantGoogleError(t, code, body, 409, "ALREADY_EXISTS", "already exists")
	code, _, body = restCall(t, hc, "POST", base+"/secrets?secretId=bad%20id", `{"replication": {"automatic": {}}}`)
	wantGoogleError(t, code, body, 400, "INVALID_ARGUMENT", "secret_id")
	code, _, body = restCall(t, hc, "POST", base+"/secrets/SECRET_B_CREDS:addVersion", `{"payload": `)
	wantGoogleError(t, code, body, 400, "INVALID_ARGUMENT", "")
	code, _, body = restCall(t, hc, "GET", "http://"+addr+"/v2/nothing", "")
	wantGoogleError(t, code, body, 404, "NOT_FOUND", "/v1/projects/P/secrets")
	code, _, body = restCall(t, hc, "GET", "http://"+addr+"/v1/projects/q/secrets", "")
	wantGoogleError(t, code, body, 404, "NOT_FOUND", "Project [q]")
}

// TestRESTOverH2C sends REST over HTTP/2 without TLS (prior knowledge), the
// way gRPC arrives, on the same port.
func TestRESTOverH2C(t *testing.T) {
	addr, _ := emulator.StartForTest(t, parse(t, restSeed), emulator.Options{})
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true) // HTTP/2 with prior knowledge, no HTTP/1.1
	hc := &http.Client{Transport: &http.Transport{Protocols: &h2c}}
	req, _ := http.NewRequestWithContext(context.Background(), "GET", "http://"+addr+"/v1/projects/p/secrets", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || !bytes.Contains(raw, []byte("SECRET_B_CREDS")) {
		t.Errorf("h2c list: %s %d %q", resp.Proto, resp.StatusCode, raw)
	}
}

// TestIAMEnforce checks calls against the caller header over both
// transports: a secret with a policy serves only its members, a secret
// without one serves everyone.
func TestIAMEnforce(t *testing.T) {
	seed := `{"project": "p", "secrets": [
	  {"name": "LOCKED", "versions": [{"data": "x"}], "iam_policy": {"bindings": [{"role": "roles/secretmanager.secretAccessor", "members": ["user:alice@example.com"]}]}},
	  {"name": "OPEN", "versions": [{"data": "y"}]}]}`
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			addr, srv := emulator.StartForTest(t, parse(t, seed), emulator.Options{IAMEnforce: true})
			c := tr.dial(t, addr)
			as := func(who string) context.Context {
				if who == "" {
					return context.Background()
				}
				return metadata.AppendToOutgoingContext(context.Background(), emulator.CallerHeader, who)
			}
			acc := func(who, name string) error {
				_, err := c.AccessSecretVersion(as(who), &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/p/secrets/" + name + "/versions/1"})
				return err
			}
			for _, tt := range []struct {
				who, secret string
				want        codes.Code
			}{
				{"user:alice@example.com", "LOCKED", codes.OK},
				{"user:bob@example.com", "LOCKED", codes.PermissionDenied},
				{"", "LOCKED", codes.Unauthenticated},
				{"user:bob@example.com", "OPEN", codes.OK},
				{"", "OPEN", codes.OK},
			} {
				if got := codeOf(t, acc(tt.who, tt.secret)); got != tt.want {
					t.Errorf("%q accessing %s: %v, want %v", tt.who, tt.secret, got, tt.want)
				}
			}
			// Alice may read the payload but not destroy it.
			_, err := c.DestroySecretVersion(as("user:alice@example.com"), &secretmanagerpb.DestroySecretVersionRequest{Name: "projects/p/secrets/LOCKED/versions/1"})
			if got := codeOf(t, err); got != codes.PermissionDenied {
				t.Errorf("destroy by an accessor: %v", err)
			}
			if st := srv.Snapshot().Secrets[0].Versions[0].State; st != "ENABLED" {
				t.Errorf("a refused destroy changed the version: %s", st)
			}
		})
	}
}
