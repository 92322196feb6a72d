package gsm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc/codes"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/gsm/emulator"
	"github.com/airbytehq/ci-secrets/internal/scripted"
)

// These tests hold the client against servers GSM never is: stuck,
// unreachable, oversized, paging forever, naming things oddly. They run the
// real client over real gRPC against internal/scripted, and assert what
// happened and how many requests it cost, never how long it took.

// dialPolicy connects the real client to addr (project scripted.Project)
// with the given retry policy and run timeout.
func dialPolicy(t *testing.T, addr string, p gsm.RetryPolicy, timeout time.Duration) *gsm.Client {
	t.Helper()
	cfg, err := gsm.Resolve(gsm.Settings{Endpoint: addr, Project: scripted.Project, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Retry = p
	cfg.Timeout = timeout
	c, err := gsm.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// accessAll reads secrets 0..n-1 with the given concurrency, as a sync
// does, and returns each one's error.
func accessAll(c *gsm.Client, n, concurrency int) []error {
	errs := make([]error, n)
	work := make(chan int)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for i := range work {
				_, errs[i] = c.Access(context.Background(), scripted.SecretID(i))
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	return errs
}

// A server that lists and then never answers: once the run's budget is
// spent every secret fails with "the server stopped answering", and only the
// first wave of reads ever reached the server; the secrets queued behind
// them were failed without a request.
func TestStuckServerFailsEverySecretOnce(t *testing.T) {
	const n, concurrency = 200, 32
	h, err := scripted.Mode([]string{"stuck", fmt.Sprint(n)})
	if err != nil {
		t.Fatal(err)
	}
	addr, srv := scripted.StartForTest(t, h)
	c := dialPolicy(t, addr, fastRetry(), 500*time.Millisecond)
	secrets, err := c.ListSecrets(context.Background())
	if err != nil || len(secrets) != n {
		t.Fatalf("list: %d secrets, %v", len(secrets), err)
	}
	errs := accessAll(c, n, concurrency)
	for i, err := range errs {
		if !errors.Is(err, gsm.ErrStopped) || !strings.Contains(err.Error(), "the server stopped answering") ||
			!strings.Contains(err.Error(), "read "+scripted.SecretID(i)) || !strings.Contains(err.Error(), "--timeout") {
			t.Fatalf("secret %d: err = %v; want ErrStopped naming the secret and --timeout", i, err)
		}
	}
	if got := srv.Calls()["AccessSecretVersion"]; got < 1 || got > concurrency {
		t.Errorf("%d access requests reached the stuck server; want at most one per reader (%d): the queued secrets must fail without a request", got, concurrency)
	}
	t.Logf("example: %v", errs[n-1])
}

// Nothing to talk to: refused, no such host, not gRPC. Each fails the list
// within the Connect budget with ErrUnreachable, naming the endpoint and what
// to check, although the Overall budget would allow a minute of retries.
func TestUnreachableFailsWithinConnectBudget(t *testing.T) {
	refused, err := scripted.RefusedAddr()
	if err != nil {
		t.Fatal(err)
	}
	http1, stop, err := scripted.HTTP1()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	for _, tc := range []struct{ name, addr string }{
		{"refused", refused},
		{"no such host", "no-such-host.invalid:8085"},
		{"HTTP/1 server", http1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := fastRetry()
			p.Overall = time.Minute
			p.Connect = 300 * time.Millisecond
			c := dialPolicy(t, tc.addr, p, 0)
			_, err := c.ListSecrets(context.Background())
			if !errors.Is(err, gsm.ErrUnreachable) {
				t.Fatalf("err = %v; want ErrUnreachable", err)
			}
			for _, want := range []string{tc.addr, "is the emulator running?", "list secrets in projects/" + scripted.Project} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q: %v", want, err)
				}
			}
			// Every read afterwards fails at once, without trying again.
			before := c.Stats().ReadRequests
			if _, err := c.ListSecrets(context.Background()); !errors.Is(err, gsm.ErrUnreachable) || c.Stats().ReadRequests != before {
				t.Errorf("second list: %v after %d more requests", err, c.Stats().ReadRequests-before)
			}
		})
	}
}

// A server that is there and answers UNAVAILABLE keeps the long budget: the
// client retries past the Connect budget and reports the server's answer,
// not an unreachable endpoint.
func TestAnsweredUnavailableKeepsLongBudget(t *testing.T) {
	addr, srv := scripted.StartForTest(t, scripted.Handlers{
		ListSecrets: scripted.Fail[*secretmanagerpb.ListSecretsRequest, *secretmanagerpb.ListSecretsResponse](codes.Unavailable),
	})
	p := fastRetry()
	p.Connect = time.Nanosecond // any transport failure would end at once
	p.Overall = 300 * time.Millisecond
	c := dialPolicy(t, addr, p, 0)
	_, err := c.ListSecrets(context.Background())
	if err == nil || errors.Is(err, gsm.ErrUnreachable) || !strings.Contains(err.Error(), "Unavailable") {
		t.Fatalf("err = %v; want the server's UNAVAILABLE after retries", err)
	}
	if n := srv.Calls()["ListSecrets"]; n < 2 {
		t.Errorf("%d ListSecrets calls: an answered UNAVAILABLE was not retried", n)
	}
}

// An access answer over GSM's payload limit plus envelope is refused unread,
// not retried, and fails that secret only; one at the limit is served.
func TestOversizedAccessRefused(t *testing.T) {
	const n = 3
	addr, srv := scripted.StartForTest(t, scripted.Handlers{
		ListSecrets: scripted.Secrets(n),
		AccessSecretVersion: func(ctx context.Context, req *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
			size := gsm.MaxPayload
			if strings.Contains(req.GetName(), scripted.SecretID(1)+"/") {
				size = 1 << 20
			}
			return scripted.Payload(scripted.JSONPayload(size))(ctx, req)
		},
	})
	c := dialPolicy(t, addr, fastRetry(), 0)
	errs := accessAll(c, n, 1)
	for i, err := range errs {
		if i == 1 {
			if !errors.Is(err, gsm.ErrBadAnswer) || !strings.Contains(err.Error(), "read "+scripted.SecretID(1)) || !strings.Contains(err.Error(), addr) {
				t.Errorf("oversized: err = %v; want ErrBadAnswer naming the secret and the endpoint", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("secret %d (a 64 KiB payload): %v", i, err)
		}
	}
	if got := srv.Calls()["AccessSecretVersion"]; got != n {
		t.Errorf("%d access requests for %d secrets: the oversized answer was retried", got, n)
	}
}

// A list page over the cap fails the list with a clear error.
func TestOversizedListRefused(t *testing.T) {
	huge := strings.Repeat("x", 65<<20)
	addr, srv := scripted.StartForTest(t, scripted.Handlers{
		ListSecrets: func(context.Context, *secretmanagerpb.ListSecretsRequest) (*secretmanagerpb.ListSecretsResponse, error) {
			return &secretmanagerpb.ListSecretsResponse{Secrets: []*secretmanagerpb.Secret{
				{Name: "projects/" + scripted.Project + "/secrets/SECRET_X_CREDS", Annotations: map[string]string{"a": huge}},
			}}, nil
		},
	})
	c := dialPolicy(t, addr, fastRetry(), 0)
	_, err := c.ListSecrets(context.Background())
	if !errors.Is(err, gsm.ErrBadAnswer) || !strings.Contains(err.Error(), "list secrets in") {
		t.Fatalf("err = %v; want ErrBadAnswer for the list", err)
	}
	if got := srv.Calls()["ListSecrets"]; got != 1 {
		t.Errorf("%d ListSecrets calls, want 1", got)
	}
}

// Paging stops on a repeated token at once, and on fresh tokens forever after
// a bounded number of pages; the error names the endpoint.
func TestEndlessPagingStops(t *testing.T) {
	for _, tc := range []struct {
		mode      string
		calls     int
		errSubstr string
	}{
		{"repeat-token", 2, "a second time"},
		{"endless-pages", 100, "still had a next page after 100 pages"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			h, _ := scripted.Mode([]string{tc.mode})
			addr, srv := scripted.StartForTest(t, h)
			c := dialPolicy(t, addr, fastRetry(), 0)
			_, err := c.ListSecrets(context.Background())
			if !errors.Is(err, gsm.ErrBadAnswer) || !strings.Contains(err.Error(), tc.errSubstr) || !strings.Contains(err.Error(), addr) {
				t.Fatalf("err = %v", err)
			}
			if got := srv.Calls()["ListSecrets"]; got != tc.calls {
				t.Errorf("%d ListSecrets requests, want %d", got, tc.calls)
			}
			t.Logf("%d requests: %v", srv.Calls()["ListSecrets"], err)
		})
	}
}

// A version name that is not a number of the secret asked for fails the
// read, and its text reaches the error only quoted: no control character.
func TestOddVersionNameRefused(t *testing.T) {
	for _, name := range []string{"1\n::stop-commands::abc", "1\r::add-mask::x", "../../2", ""} {
		addr, _ := scripted.StartForTest(t, scripted.Handlers{ListSecrets: scripted.Secrets(1), AccessSecretVersion: scripted.VersionNamed(name)})
		c := dialPolicy(t, addr, fastRetry(), 0)
		_, err := c.Access(context.Background(), scripted.SecretID(0))
		if !errors.Is(err, gsm.ErrBadAnswer) {
			t.Errorf("version %q: err = %v; want ErrBadAnswer", name, err)
			continue
		}
		if strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("version %q: the error holds a raw control character: %q", name, err.Error())
		}
	}
}

// Secret names that are not GSM names are left out of the listing.
func TestOddSecretNamesSkipped(t *testing.T) {
	addr, _ := scripted.StartForTest(t, scripted.Handlers{
		ListSecrets: func(context.Context, *secretmanagerpb.ListSecretsRequest) (*secretmanagerpb.ListSecretsResponse, error) {
			p := "projects/" + scripted.Project + "/secrets/"
			return &secretmanagerpb.ListSecretsResponse{Secrets: []*secretmanagerpb.Secret{
				{Name: p + "SECRET_OK_CREDS"},
				{Name: p + "SECRET_X_CREDS\n::stop-commands::abc"},
				{Name: p + "SECRET_Y_CREDS/../.."},
				{Name: ""},
			}}, nil
		},
	})
	c := dialPolicy(t, addr, fastRetry(), 0)
	got, err := c.ListSecrets(context.Background())
	if err != nil || len(got) != 1 || got[0].ID != "SECRET_OK_CREDS" {
		t.Fatalf("list = %+v, %v; want only SECRET_OK_CREDS", got, err)
	}
}

// A disable whose answer was lost is checked before it is reported: the
// version is DISABLED, so the disable succeeded, in one request.
func TestDisableLostAnswerChecked(t *testing.T) {
	c, srv := connect(t, parseSeed(t, seedJSON), emulator.Options{Faults: []emulator.Fault{
		{Method: "DisableSecretVersion", Rate: 1, Code: codes.Unavailable, After: true},
	}})
	if err := c.DisableVersion(context.Background(), "SECRET_B_CREDS", "1"); err != nil {
		t.Fatalf("disable: %v; the version is disabled, the lost answer must not be reported", err)
	}
	calls := srv.Calls()
	if calls["DisableSecretVersion"] != 1 || calls["GetSecretVersion"] != 1 {
		t.Errorf("calls = %v; want one disable and one check", calls)
	}
	vs, err := c.ListVersions(context.Background(), "SECRET_B_CREDS", "", 0)
	if err != nil || len(vs) != 2 || vs[1].State != "DISABLED" {
		t.Errorf("versions = %+v, %v", vs, err)
	}
}

// When the check cannot be made either, the outcome is unknown, not "still
// enabled".
func TestDisableLostAnswerUncheckable(t *testing.T) {
	addr, srv := scripted.StartForTest(t, scripted.Handlers{
		// The disable is carried out, its answer lost, and the state
		// cannot be read back.
		DisableSecretVersion: scripted.LoseAnswer(codes.Unavailable, func(_ context.Context, req *secretmanagerpb.DisableSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
			return &secretmanagerpb.SecretVersion{Name: req.GetName(), State: secretmanagerpb.SecretVersion_DISABLED}, nil
		}),
		GetSecretVersion: scripted.Fail[*secretmanagerpb.GetSecretVersionRequest, *secretmanagerpb.SecretVersion](codes.PermissionDenied),
	})
	p := fastRetry()
	p.StateSpacing = time.Millisecond
	p.Overall = 200 * time.Millisecond
	c := dialPolicy(t, addr, p, 0)
	err := c.DisableVersion(context.Background(), "SECRET_X_CREDS", "1")
	if !errors.Is(err, gsm.ErrOutcomeUnknown) || !strings.Contains(err.Error(), "gcloud secrets versions describe 1 --secret=SECRET_X_CREDS") {
		t.Fatalf("err = %v; want ErrOutcomeUnknown saying how to look", err)
	}
	// Every disable the server received is checked; an attempt cut short
	// by the budget before it arrived is checked too (it might have).
	if calls := srv.Calls(); calls["DisableSecretVersion"] < 1 || calls["GetSecretVersion"] < calls["DisableSecretVersion"] {
		t.Errorf("calls = %v: every lost disable is checked", calls)
	}
}

// Version listings are held to the same rules as the secrets listing: a
// version name that is not a number of the secret fails the list, and a
// page token handed out twice stops it.
func TestVersionListingBounds(t *testing.T) {
	parent := "projects/" + scripted.Project + "/secrets/SECRET_X_CREDS"
	for _, tc := range []struct {
		name  string
		page  func(*secretmanagerpb.ListSecretVersionsRequest) *secretmanagerpb.ListSecretVersionsResponse
		want  string
		calls int
	}{
		{"odd version name", func(*secretmanagerpb.ListSecretVersionsRequest) *secretmanagerpb.ListSecretVersionsResponse {
			return &secretmanagerpb.ListSecretVersionsResponse{Versions: []*secretmanagerpb.SecretVersion{{Name: parent + "/versions/2\n::stop-commands::x"}}}
		}, `listed the version name "projects/scripted-project/secrets/SECRET_X_CREDS/versions/2\n::stop-commands::x"`, 1},
		{"repeated token", func(req *secretmanagerpb.ListSecretVersionsRequest) *secretmanagerpb.ListSecretVersionsResponse {
			return &secretmanagerpb.ListSecretVersionsResponse{Versions: []*secretmanagerpb.SecretVersion{{Name: parent + "/versions/1"}}, NextPageToken: "again"}
		}, `handed out the page token "again" a second time`, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, srv := scripted.StartForTest(t, scripted.Handlers{
				ListSecretVersions: func(_ context.Context, req *secretmanagerpb.ListSecretVersionsRequest) (*secretmanagerpb.ListSecretVersionsResponse, error) {
					return tc.page(req), nil
				},
			})
			c := dialPolicy(t, addr, fastRetry(), 0)
			_, err := c.ListVersions(context.Background(), "SECRET_X_CREDS", "", 0)
			if !errors.Is(err, gsm.ErrBadAnswer) || !strings.Contains(err.Error(), tc.want) || strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("err = %v; want ErrBadAnswer with %s", err, tc.want)
			}
			if got := srv.Calls()["ListSecretVersions"]; got != tc.calls {
				t.Errorf("%d requests, want %d", got, tc.calls)
			}
		})
	}
}
