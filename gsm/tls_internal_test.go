package gsm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/airbytehq/ci-secrets/internal/scripted"
)

// The TLS path (real GSM) against a server that speaks plaintext gRPC: the
// handshake fails, which is nothing to talk to, so the list fails within
// the Connect budget with the real endpoint's advice, not after Overall.
func TestTLSHandshakeFailureIsUnreachable(t *testing.T) {
	addr, srv := scripted.StartForTest(t, scripted.Handlers{ListSecrets: scripted.Secrets(1)})
	p := DefaultRetry()
	p.Initial = time.Millisecond
	p.Overall = time.Minute
	p.Connect = 300 * time.Millisecond
	c, err := New(context.Background(), Config{Project: scripted.Project, Retry: p, tlsEndpoint: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.ListSecrets(context.Background())
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "no network route to "+addr) ||
		!strings.Contains(err.Error(), "check the network, any proxy (HTTPS_PROXY) and firewall") {
		t.Fatalf("err = %v; want ErrUnreachable with the real endpoint's advice", err)
	}
	if n := srv.Calls()["ListSecrets"]; n != 0 {
		t.Errorf("%d calls reached the server through a failed handshake", n)
	}
}
