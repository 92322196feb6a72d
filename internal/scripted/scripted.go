// Package scripted is a Secret Manager that answers whatever a test tells it
// to, the way a compromised, buggy or stuck endpoint would: a real
// secretmanagerpb.SecretManagerServiceServer over real gRPC on 127.0.0.1,
// whose methods are handler functions a test sets (hang until the caller
// gives up, answer oversized payloads, hand out next_page_token forever,
// name things oddly, carry a call out and lose its answer). The product
// never imports it: it exists so tests can hold the client's promises
// against servers the emulator, which plays GSM faithfully, will not be.
//
// It also holds test doubles for "nothing to talk to": a port that refuses
// connections and a server that speaks HTTP/1 instead of gRPC.
package scripted

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc"
)

// Handlers are the methods the server answers; a nil one answers
// UNIMPLEMENTED, as a server that does not serve it would.
type Handlers struct {
	ListSecrets          func(context.Context, *secretmanagerpb.ListSecretsRequest) (*secretmanagerpb.ListSecretsResponse, error)
	AccessSecretVersion  func(context.Context, *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error)
	ListSecretVersions   func(context.Context, *secretmanagerpb.ListSecretVersionsRequest) (*secretmanagerpb.ListSecretVersionsResponse, error)
	GetSecretVersion     func(context.Context, *secretmanagerpb.GetSecretVersionRequest) (*secretmanagerpb.SecretVersion, error)
	AddSecretVersion     func(context.Context, *secretmanagerpb.AddSecretVersionRequest) (*secretmanagerpb.SecretVersion, error)
	DisableSecretVersion func(context.Context, *secretmanagerpb.DisableSecretVersionRequest) (*secretmanagerpb.SecretVersion, error)
}

// Server serves Handlers and counts the calls it receives.
type Server struct {
	secretmanagerpb.UnimplementedSecretManagerServiceServer
	h Handlers

	mu    sync.Mutex
	calls map[string]int
	gs    *grpc.Server
	lis   net.Listener
	done  chan struct{}
}

// New returns a server answering with h. Start it with Start.
func New(h Handlers) *Server {
	return &Server{h: h, calls: map[string]int{}, done: make(chan struct{})}
}

// Start listens on 127.0.0.1 (a free port) and serves until Stop; it
// returns the address to give the client (HOST:PORT).
func (s *Server) Start() (string, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	// No size limit of our own on what we send: the point is to send what
	// a client must refuse.
	s.gs = grpc.NewServer(grpc.UnaryInterceptor(s.count), grpc.MaxSendMsgSize(1<<31-1))
	secretmanagerpb.RegisterSecretManagerServiceServer(s.gs, s)
	s.lis = lis
	go func() {
		defer close(s.done)
		_ = s.gs.Serve(lis)
	}()
	return lis.Addr().String(), nil
}

// Stop ends every call in flight (hanging handlers see their context
// cancelled) and closes the listener.
func (s *Server) Stop() {
	if s.gs == nil {
		return
	}
	s.gs.Stop()
	<-s.done
}

// StartForTest starts a server answering with h and stops it when the test ends.
func StartForTest(t testing.TB, h Handlers) (addr string, srv *Server) {
	t.Helper()
	srv = New(h)
	addr, err := srv.Start()
	if err != nil {
		t.Fatalf("scripted server: %v", err)
	}
	t.Cleanup(srv.Stop)
	return addr, srv
}

// Calls returns how many requests each method received (by its short name,
// e.g. "AccessSecretVersion"), answered or not.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

func (s *Server) count(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	s.mu.Lock()
	s.calls[info.FullMethod[strings.LastIndex(info.FullMethod, "/")+1:]]++
	s.mu.Unlock()
	return handler(ctx, req)
}

// ListSecrets implements the service.
func (s *Server) ListSecrets(ctx context.Context, req *secretmanagerpb.ListSecretsRequest) (*secretmanagerpb.ListSecretsResponse, error) {
	if s.h.ListSecrets == nil {
		return s.UnimplementedSecretManagerServiceServer.ListSecrets(ctx, req)
	}
	return s.h.ListSecrets(ctx, req)
}

// AccessSecretVersion implements the service.
func (s *Server) AccessSecretVersion(ctx context.Context, req *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	if s.h.AccessSecretVersion == nil {
		return s.UnimplementedSecretManagerServiceServer.AccessSecretVersion(ctx, req)
	}
	return s.h.AccessSecretVersion(ctx, req)
}

// ListSecretVersions implements the service.
func (s *Server) ListSecretVersions(ctx context.Context, req *secretmanagerpb.ListSecretVersionsRequest) (*secretmanagerpb.ListSecretVersionsResponse, error) {
	if s.h.ListSecretVersions == nil {
		return s.UnimplementedSecretManagerServiceServer.ListSecretVersions(ctx, req)
	}
	return s.h.ListSecretVersions(ctx, req)
}

// GetSecretVersion implements the service.
func (s *Server) GetSecretVersion(ctx context.Context, req *secretmanagerpb.GetSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	if s.h.GetSecretVersion == nil {
		return s.UnimplementedSecretManagerServiceServer.GetSecretVersion(ctx, req)
	}
	return s.h.GetSecretVersion(ctx, req)
}

// AddSecretVersion implements the service.
func (s *Server) AddSecretVersion(ctx context.Context, req *secretmanagerpb.AddSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	if s.h.AddSecretVersion == nil {
		return s.UnimplementedSecretManagerServiceServer.AddSecretVersion(ctx, req)
	}
	return s.h.AddSecretVersion(ctx, req)
}

// DisableSecretVersion implements the service.
func (s *Server) DisableSecretVersion(ctx context.Context, req *secretmanagerpb.DisableSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	if s.h.DisableSecretVersion == nil {
		return s.UnimplementedSecretManagerServiceServer.DisableSecretVersion(ctx, req)
	}
	return s.h.DisableSecretVersion(ctx, req)
}

// RefusedAddr returns an address on 127.0.0.1 where nothing listens: a
// port bound and released at once, so connecting to it is refused.
func RefusedAddr() (string, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := lis.Addr().String()
	return addr, lis.Close()
}

// HTTP1 serves plain HTTP/1.1 (a web page, as a proxy or the wrong port
// would) on 127.0.0.1 and returns its address and a stop function: a
// listener that answers, but not in gRPC.
func HTTP1() (addr string, stop func(), err error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html><body>not gRPC</body></html>\n"))
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return
		}
	}()
	return lis.Addr().String(), func() { _ = srv.Close(); <-done }, nil
}
