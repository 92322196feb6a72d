package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/airbytehq/ci-secrets/internal/wait"
)

// Options tune a server's behaviour beyond its content. The zero value is a
// fast, faultless server.
type Options struct {
	Latency time.Duration // added to every call, faulted ones included
	Jitter  time.Duration // extra latency, uniformly random in [0, Jitter]
	// ErrorRate is the fraction of all calls answered with ErrorCode
	// (default UNAVAILABLE), applied after the more specific Faults.
	ErrorRate float64
	ErrorCode codes.Code
	Faults    []Fault
	Quota     *Quota // nil: no quota
	Seed      int64  // seed of the fault and jitter randomness; 0 = time-based
	// Now is the clock for create/destroy times, expiry, scheduled
	// destruction and quota windows (nil = time.Now); latency always waits in
	// real time, through Sleep.
	Now func() time.Time
	// Sleep waits out the injected latency of one call; it returns early
	// with ctx's error when ctx ends (the caller gave up or the server
	// stopped). nil waits in real time. Tests inject one to count and
	// measure the latency asked for without waiting for it.
	Sleep func(ctx context.Context, d time.Duration) error
	// IAMEnforce checks each call on a secret that has an IAM policy against
	// the caller named in the CallerHeader request header.
	IAMEnforce bool
}

// ErrStopped is returned by Serve once Stop has been called.
var ErrStopped = errors.New("emulator: server stopped")

// Server is an in-memory Secret Manager for one project. It implements
// secretmanagerpb.SecretManagerServiceServer; Serve puts it on gRPC with
// latency, quota and fault injection and call counting in front of every
// method. Calling the methods directly skips that layer. All methods are safe
// for concurrent use.
type Server struct {
	secretmanagerpb.UnimplementedSecretManagerServiceServer

	project  string
	validate *bool // as in the seed, echoed by Dump
	now      func() time.Time

	mu      sync.RWMutex
	secrets []*secret // sorted by (location, id)
	rev     int64     // source of etags

	callsMu sync.Mutex
	calls   map[string]int

	faultMu sync.Mutex
	faults  FaultSettings
	rng     *rand.Rand

	quota *quotaState

	sleep          func(ctx context.Context, d time.Duration) error
	started        time.Time // the time seed entries without a create_time got
	iamEnforce     bool
	extraLocations []string // the seed's, for ListLocations

	lifeMu  sync.Mutex
	stopped chan struct{}
	servers []served
}

type secret struct {
	id, location string
	labels       map[string]string
	replication  *secretmanagerpb.Replication // nil for regional secrets
	created      time.Time
	rev          int64
	versions     []*version // version N is versions[N-1]
	meta         meta
	tags         map[string]string // input only: stored and dumped, never served
	policy       *iampb.Policy     // nil: no policy set
}

// expired reports whether the secret's expire_time has passed: GSM deletes an
// expired secret, so the emulator treats it as gone from then on.
func (sec *secret) expired(now time.Time) bool {
	return !sec.meta.expire.IsZero() && !now.Before(sec.meta.expire)
}

type version struct {
	state     secretmanagerpb.SecretVersion_State
	data      []byte // never mutated in place; nil once destroyed
	crc       *int64 // served instead of the true CRC32C when set
	clientCRC bool   // the client sent data_crc32c with AddSecretVersion
	created   time.Time
	destroyed time.Time
	// scheduled is when a delayed destruction (version_destroy_ttl) takes
	// effect; until then the version is DISABLED.
	scheduled time.Time
	kmsKey    string // the key version that encrypted it (CMEK secrets only)
	rev       int64
}

// stateAt is the version's state at now: a scheduled destruction whose time
// has come counts as done, without waiting for a write to settle it.
func (v *version) stateAt(now time.Time) secretmanagerpb.SecretVersion_State {
	if !v.scheduled.IsZero() && !now.Before(v.scheduled) {
		return secretmanagerpb.SecretVersion_DESTROYED
	}
	return v.state
}

// settle applies a scheduled destruction whose time has come; callers hold
// mu for writing.
func (v *version) settle(now time.Time) {
	if v.stateAt(now) == secretmanagerpb.SecretVersion_DESTROYED && v.state != secretmanagerpb.SecretVersion_DESTROYED {
		v.state, v.data, v.destroyed, v.scheduled = secretmanagerpb.SecretVersion_DESTROYED, nil, v.scheduled, time.Time{}
	}
}

// New builds a server holding a deep copy of seed. It validates the seed as
// ParseSeed does (so a Seed built in Go gets the same checks) and the options.
func New(seed *Seed, opts Options) (*Server, error) {
	if seed == nil {
		return nil, errors.New("emulator: nil seed")
	}
	if err := seed.check(); err != nil {
		return nil, err
	}
	fs, err := FaultSettings{Latency: opts.Latency, Jitter: opts.Jitter, ErrorRate: opts.ErrorRate, ErrorCode: opts.ErrorCode, Faults: opts.Faults}.normalize()
	if err != nil {
		return nil, err
	}
	q, err := newQuotaState(opts.Quota)
	if err != nil {
		return nil, err
	}
	rs := uint64(opts.Seed)
	if rs == 0 {
		rs = uint64(time.Now().UnixNano())
	}
	s := &Server{
		project: seed.Project,
		now:     opts.Now,
		calls:   make(map[string]int),
		faults:  fs,
		rng:     rand.New(rand.NewPCG(rs, rs^0x9e3779b97f4a7c15)),
		quota:   q,
		stopped: make(chan struct{}),

		iamEnforce: opts.IAMEnforce,
		sleep:      opts.Sleep,
	}
	if s.sleep == nil {
		s.sleep = wait.Sleep
	}
	if s.now == nil {
		s.now = time.Now
	}
	c := seed.clone()
	s.validate = c.Validate
	now := s.now()
	s.started = now
	s.extraLocations = c.Locations
	for _, ss := range c.Secrets {
		sec := ss.toServer(now)
		sec.rev = s.nextRev()
		if sec.policy != nil && len(sec.policy.Etag) == 0 {
			sec.policy.Etag = policyEtag(s.nextRev())
		}
		for _, sv := range ss.Versions {
			st, _ := parseState(sv.State) // checked above
			v := &version{state: st, data: sv.Data, crc: sv.CRC32C, created: sv.CreateTime, destroyed: sv.DestroyTime,
				kmsKey: sv.KMSKeyVersion, rev: s.nextRev()}
			if v.created.IsZero() {
				v.created = now
			}
			switch {
			case st == secretmanagerpb.SecretVersion_DESTROYED:
				v.data, v.scheduled = nil, time.Time{}
				if v.destroyed.IsZero() {
					v.destroyed = now
				}
			case st == secretmanagerpb.SecretVersion_DISABLED:
				v.destroyed, v.scheduled = time.Time{}, sv.ScheduledDestroyTime
			default:
				v.destroyed = time.Time{}
			}
			sec.versions = append(sec.versions, v)
		}
		s.secrets = append(s.secrets, sec)
	}
	slices.SortFunc(s.secrets, compareSecrets)
	return s, nil
}

func compareSecrets(a, b *secret) int {
	if c := strings.Compare(a.location, b.location); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

func automatic() *secretmanagerpb.Replication {
	return &secretmanagerpb.Replication{Replication: &secretmanagerpb.Replication_Automatic_{Automatic: &secretmanagerpb.Replication_Automatic{}}}
}

// nextRev returns a fresh revision for an etag; callers hold mu or own s.
func (s *Server) nextRev() int64 { s.rev++; return s.rev }

// Project returns the project the server holds.
func (s *Server) Project() string { return s.project }

// Serve serves the Secret Manager API on lis until ctx is done (then it
// stops gracefully, hard after 2 s) or Stop is called, and returns nil in both
// cases. One listener speaks gRPC (HTTP/2 without TLS, "h2c") and the REST
// mapping over HTTP/1.1 or h2c. It may be called for several listeners.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	gs := grpc.NewServer(grpc.UnaryInterceptor(s.intercept))
	s.registerServices(gs)
	h, err := newHandler(gs)
	if err != nil {
		lis.Close()
		return fmt.Errorf("emulator: build the REST transcoder: %w", err)
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	hs := &http.Server{Handler: h, Protocols: &protocols, ReadHeaderTimeout: 10 * time.Second}
	s.lifeMu.Lock()
	select {
	case <-s.stopped:
		s.lifeMu.Unlock()
		lis.Close()
		return ErrStopped
	default:
	}
	s.servers = append(s.servers, served{gs, hs})
	s.lifeMu.Unlock()

	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			if hs.Shutdown(sctx) != nil {
				hs.Close()
			}
			gs.Stop()
		case <-s.stopped: // Stop stops hs itself
		case <-done:
		}
	}()
	err = hs.Serve(lis)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// served is one Serve call's pair of servers: gs runs the methods, hs owns
// the connections.
type served struct {
	gs *grpc.Server
	hs *http.Server
}

// Stop stops the server hard, as if it died: listeners close, in-flight calls
// are cancelled (their clients see UNAVAILABLE or CANCELLED) and later calls
// cannot connect. A write already past the fault and quota checks may still
// land while its caller sees an error, as when a real server dies. The state
// stays readable (Dump, Calls, Snapshot). Stop is idempotent.
func (s *Server) Stop() {
	s.lifeMu.Lock()
	select {
	case <-s.stopped:
	default:
		close(s.stopped)
	}
	ss := slices.Clone(s.servers)
	s.lifeMu.Unlock()
	for _, sv := range ss {
		sv.hs.Close()
		sv.gs.Stop()
	}
}

// intercept is the network in front of every method: count, latency, quota,
// faults. A refused call never reaches the method.
func (s *Server) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	method := info.FullMethod[strings.LastIndex(info.FullMethod, "/")+1:]
	markReached(ctx)
	s.callsMu.Lock()
	s.calls[method]++
	s.callsMu.Unlock()

	s.faultMu.Lock()
	fs := s.faults // Faults is replaced, never mutated, by SetFaults
	delay := fs.Latency
	if fs.Jitter > 0 {
		delay += time.Duration(s.rng.Int64N(int64(fs.Jitter) + 1))
	}
	s.faultMu.Unlock()

	if delay > 0 {
		wctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-s.stopped:
				cancel()
			case <-wctx.Done():
			}
		}()
		err := s.sleep(wctx, delay)
		cancel()
		select {
		case <-s.stopped:
			return nil, status.Error(codes.Unavailable, "emulator stopped")
		default:
		}
		if err != nil && ctx.Err() != nil {
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		if err != nil {
			return nil, status.Errorf(codes.Internal, "emulator: latency: %v", err)
		}
	}
	select {
	case <-s.stopped:
		return nil, status.Error(codes.Unavailable, "emulator stopped")
	default:
	}

	resource := resourceOf(req)
	if s.iamEnforce {
		if err := s.authorize(ctx, method, resource); err != nil {
			return nil, err
		}
	}
	if k := kindOf(method); !s.quota.take(s.now(), k) {
		return nil, quotaError(k, s.project, "")
	}

	s.faultMu.Lock()
	code, after := fs.pick(method, secretIDOf(resource), s.rng.Float64)
	s.faultMu.Unlock()
	if code == codes.OK {
		return handler(ctx, req)
	}
	if after {
		if _, err := handler(ctx, req); err != nil {
			return nil, err
		}
	}
	return nil, faultError(code, method, resource, s.project)
}

// resourceOf returns the resource name a request is about: the secret for
// CreateSecret (its parent joined with the new ID), else name, parent or
// resource.
func resourceOf(req any) string {
	switch r := req.(type) {
	case *secretmanagerpb.CreateSecretRequest:
		return r.GetParent() + "/secrets/" + r.GetSecretId()
	case *secretmanagerpb.UpdateSecretRequest:
		return r.GetSecret().GetName()
	case interface{ GetName() string }:
		return r.GetName()
	case interface{ GetParent() string }:
		return r.GetParent()
	case interface{ GetResource() string }:
		return r.GetResource()
	}
	return ""
}

// SetFaults replaces the latency, jitter, error rate and fault rules of a
// running server; it takes effect for calls that start afterwards.
func (s *Server) SetFaults(fs FaultSettings) error {
	n, err := fs.normalize()
	if err != nil {
		return err
	}
	s.faultMu.Lock()
	s.faults = n
	s.faultMu.Unlock()
	return nil
}

// Faults returns the current injection settings.
func (s *Server) Faults() FaultSettings {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	fs := s.faults
	fs.Faults = slices.Clone(fs.Faults)
	return fs
}

// Calls returns the number of requests received per method short name
// ("ListSecrets", "AccessSecretVersion", ...), counting every request that
// reached the server, including refused and faulted ones.
func (s *Server) Calls() map[string]int {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	return maps.Clone(s.calls)
}

// ResetCalls sets every call count back to zero.
func (s *Server) ResetCalls() {
	s.callsMu.Lock()
	clear(s.calls)
	s.callsMu.Unlock()
}

// Snapshot returns the current content as a Seed (versions oldest first,
// destroyed versions without data); New(Snapshot()) rebuilds it.
func (s *Server) Snapshot() *Seed {
	s.mu.RLock()
	defer s.mu.RUnlock()
	seed := &Seed{Project: s.project, Locations: slices.Clone(s.extraLocations), Secrets: make([]SeedSecret, 0, len(s.secrets))}
	if s.validate != nil {
		v := *s.validate
		seed.Validate = &v
	}
	now := s.now()
	for _, sec := range s.secrets {
		if sec.expired(now) { // gone, as in GSM
			continue
		}
		// Times the seed left to the start stay left out, so a dump of an
		// untouched seed reads like the seed.
		atStart := func(t time.Time) time.Time {
			if t.Equal(s.started) {
				return time.Time{}
			}
			return t
		}
		ss := fromServer(sec)
		ss.CreateTime = atStart(ss.CreateTime)
		ss.Versions = make([]SeedVersion, 0, len(sec.versions))
		for _, v := range sec.versions {
			st := v.stateAt(now)
			sv := SeedVersion{Data: slices.Clone(v.data), State: st.String(), CreateTime: atStart(v.created), KMSKeyVersion: v.kmsKey}
			switch {
			case st == secretmanagerpb.SecretVersion_DESTROYED:
				sv.Data, sv.DestroyTime = nil, v.destroyed
				if sv.DestroyTime.IsZero() {
					sv.DestroyTime = v.scheduled
				}
				sv.DestroyTime = atStart(sv.DestroyTime)
			default:
				sv.ScheduledDestroyTime = v.scheduled
			}
			if v.crc != nil {
				n := *v.crc
				sv.CRC32C = &n
			}
			ss.Versions = append(ss.Versions, sv)
		}
		seed.Secrets = append(seed.Secrets, ss)
	}
	return seed
}

// Dump writes the current content in the seed format (indented JSON; data as
// "data" when valid UTF-8, else "data_base64"; every version's state) plus a
// "calls" object with the per-method request counts. ParseSeed loads it back.
func (s *Server) Dump(w io.Writer) error {
	f, err := s.Snapshot().file()
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		*seedOut
		Calls map[string]int `json:"calls"`
	}{f, s.Calls()})
}
