package emulator

import (
	"context"
	"net"
	"testing"
)

// StartForTest starts a server on 127.0.0.1:0 for a test or benchmark and
// returns its address (host:port, for option.WithEndpoint or
// SECRET_MANAGER_EMULATOR_HOST) and the server. It fails the test on a bad
// seed or options, and stops the server in t.Cleanup.
//
// It lives in a non-test file so that other packages' tests can use it;
// importing "testing" registers no flags, so binaries linking this package
// are unaffected.
func StartForTest(t testing.TB, seed *Seed, opts Options) (addr string, srv *Server) {
	t.Helper()
	srv, err := New(seed, opts)
	if err != nil {
		t.Fatalf("emulator: %v", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("emulator: listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), lis) }()
	t.Cleanup(func() {
		srv.Stop()
		// Stop closes every connection, so Serve returns at once; if it
		// ever did not, go test's -timeout reports the stuck goroutine.
		if err := <-served; err != nil && err != ErrStopped {
			t.Errorf("emulator: serve: %v", err)
		}
	})
	return lis.Addr().String(), srv
}
