// Package gsm is the only package that talks to Google Secret Manager. It
// builds the client (global or regional endpoint, credentials, or a plaintext
// emulator), wraps the few calls ci-secrets needs in types of its own, and owns
// retries, the disabled-latest fallback, CRC32C verification and per-call
// counters, and what holds against a stuck or hostile server: the run's
// budget (--timeout), the short budget when nothing can be reached, caps on
// answer sizes and on paging, and refusing names GSM never gives. Callers
// never see protobuf types, and nothing here ever logs, formats or returns
// payload bytes in an error; text a server chose reaches an error quoted.
package gsm

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"github.com/googleapis/gax-go/v2"
	"github.com/rs/zerolog"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/airbytehq/ci-secrets/labels"
)

// MaxPageSize is the largest ListSecrets page GSM serves: one read request
// covers a whole CI project.
const MaxPageSize = 25000

// MaxPayload is GSM's payload limit.
const MaxPayload = 64 * 1024

// Errors callers branch on.
var (
	ErrNoEnabledVersion = errors.New("secret has no enabled version")
	ErrChecksum         = errors.New("payload failed its CRC32C check")
	ErrPermission       = errors.New("permission denied")
	ErrNotFound         = errors.New("not found")
	ErrAlreadyExists    = errors.New("already exists")
	// ErrOutcomeUnknown is a write whose answer was lost and whose effect
	// could not be checked: it may or may not have been carried out.
	ErrOutcomeUnknown = errors.New("the outcome of the write is unknown")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Secret is a secret's metadata; no payload.
type Secret struct {
	ID     string // SECRET_SOURCE-S3_CREDS
	Name   string // projects/P/secrets/SECRET_SOURCE-S3_CREDS
	Labels map[string]string
}

// Payload is one version's data. It prints as a redacted summary under every
// fmt verb, so a stray %v in a log line cannot leak it.
type Payload struct {
	Secret  string // secret ID
	Version string // version number, e.g. "3"
	// Verified is false only when the server sent no checksum (very old versions).
	Verified bool
	data     []byte
}

// Data returns the payload bytes. Callers must not log them.
func (p *Payload) Data() []byte { return p.data }

// Format redacts the data whatever the verb.
func (p Payload) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "gsm.Payload{secret: %s, version: %s, data: [%d bytes redacted]}", p.Secret, p.Version, len(p.data))
}

// MarshalZerologObject logs the payload's identity, never its data.
func (p Payload) MarshalZerologObject(e *zerolog.Event) {
	e.Str("secret", p.Secret).Str("version", p.Version).Int("bytes", len(p.data))
}

// Version is one secret version's metadata.
type Version struct {
	Number string
	State  string // ENABLED, DISABLED, DESTROYED
}

type counter = atomic.Int64

type stats struct {
	read, access, write, fallbacks, retries counter
}

// Stats is what a run has cost so far. Requests count every attempt, retries
// included, since that is what quota is charged for.
type Stats struct {
	ReadRequests   int64 `json:"read_requests"`
	AccessRequests int64 `json:"access_requests"`
	WriteRequests  int64 `json:"write_requests"`
	Fallbacks      int64 `json:"fallbacks"`
	Retries        int64 `json:"retries"`
}

// Client is a Secret Manager client for one project (and location).
type Client struct {
	sm     *secretmanager.Client
	parent string // projects/P or projects/P/locations/L
	cfg    Config
	retry  RetryPolicy
	stats  stats
	// lastOK is when a call last succeeded (unix nanoseconds; New counts as
	// one): retries stop once the server has answered nothing for a whole
	// Overall budget, however recently the operation itself began.
	lastOK atomic.Int64
	// lastConn is when a call last reached a server (unix nanoseconds),
	// whatever it answered: the Connect budget counts from it.
	lastConn atomic.Int64
	// deadline ends the run's calls (Config.Timeout, as extended; unix
	// nanoseconds, zero for none) and timeout is that bound's length, for
	// messages: atomic, since ExtendTimeout may move them during a run.
	deadline, timeout atomic.Int64
	// halted, once set, is the error every later call fails with.
	halted atomic.Pointer[error]
	// warnedRetry is set once the user has been told that calls are retried.
	warnedRetry atomic.Bool
}

// New connects. For an emulator endpoint it speaks plaintext gRPC without
// credentials; otherwise TLS with the given key or ADC.
func New(ctx context.Context, cfg Config) (*Client, error) {
	var opts []option.ClientOption
	switch {
	case cfg.Endpoint != "":
		opts = append(opts,
			option.WithEndpoint(cfg.Endpoint),
			option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	case cfg.tlsEndpoint != "":
		opts = append(opts, option.WithEndpoint(cfg.tlsEndpoint), option.WithoutAuthentication())
	default:
		if cfg.Location != "" {
			opts = append(opts, option.WithEndpoint(fmt.Sprintf("secretmanager.%s.rep.googleapis.com:443", cfg.Location)))
		}
		if cfg.CredentialsJSON != nil {
			k, err := parseKey(cfg.CredentialsJSON)
			if err != nil {
				return nil, fmt.Errorf("%w: credentials in %s: %v", ErrConfig, cfg.CredentialsSource, err)
			}
			if err := checkServiceKey(k); err != nil {
				return nil, fmt.Errorf("%w: the key in %s cannot be used: %v", ErrConfig, cfg.CredentialsSource, err)
			}
			opts = append(opts, option.WithAuthCredentialsJSON(option.CredentialsType(k.Type), cfg.CredentialsJSON))
		}
	}
	opts = append(opts,
		option.WithGRPCDialOption(grpc.WithChainUnaryInterceptor(observe)),
		option.WithGRPCDialOption(grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.DefaultConfig, MinConnectTimeout: connectTimeout})))
	sm, err := secretmanager.NewClient(ctx, opts...)
	if err != nil {
		hint := "run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS to a credentials file, set GCP_GSM_CREDENTIALS to a service-account key's JSON text, or pass --credentials-file"
		return nil, fmt.Errorf("%w: cannot create a Secret Manager client (%v): %s", ErrConfig, err, hint)
	}
	parent := "projects/" + cfg.Project
	if cfg.Location != "" {
		parent += "/locations/" + cfg.Location
	}
	retry := cfg.Retry
	if retry == (RetryPolicy{}) {
		retry = DefaultRetry()
	}
	if retry.Connect <= 0 {
		retry.Connect = DefaultRetry().Connect
	}
	c := &Client{sm: sm, parent: parent, cfg: cfg, retry: retry}
	now := time.Now()
	if cfg.Timeout > 0 {
		c.deadline.Store(now.Add(cfg.Timeout).UnixNano())
		c.timeout.Store(int64(cfg.Timeout))
	}
	c.lastOK.Store(now.UnixNano())
	c.lastConn.Store(now.UnixNano())
	return c, nil
}

// Close releases the connection.
func (c *Client) Close() error { return c.sm.Close() }

// Project is the project this client reads.
func (c *Client) Project() string { return c.cfg.Project }

// Stats returns the calls made so far.
func (c *Client) Stats() Stats {
	return Stats{
		ReadRequests:   c.stats.read.Load(),
		AccessRequests: c.stats.access.Load(),
		WriteRequests:  c.stats.write.Load(),
		Fallbacks:      c.stats.fallbacks.Load(),
		Retries:        c.stats.retries.Load(),
	}
}

// noLibraryRetry turns off the generated client's own retries: ours are
// counted, bounded, and do not wait seconds per fault.
var noLibraryRetry = gax.WithRetry(func() gax.Retryer { return nil })

func (c *Client) secretName(id string) string { return c.parent + "/secrets/" + id }

// ListSecrets returns every secret whose name contains SECRET_, sorted by ID,
// in as few read requests as GSM allows (one per 25,000 secrets). Name
// matching against the full convention is left to labels.Classify.
func (c *Client) ListSecrets(ctx context.Context) ([]Secret, error) {
	return c.ListSecretsFiltered(ctx, labels.ListFilter)
}

// ListSecretsFiltered is ListSecrets with another server-side filter (doctor
// also lists labelled secrets whose names miss the convention).
func (c *Client) ListSecretsFiltered(ctx context.Context, filter string) ([]Secret, error) {
	const role = "roles/secretmanager.viewer (permission secretmanager.secrets.list) on the project"
	op := "list secrets in " + c.parent
	var out []Secret
	pages := c.newPager(op)
	skipped := 0
	token := ""
	for {
		var page []*secretmanagerpb.Secret
		var next string
		err := c.do(ctx, &c.stats.read, func(ctx context.Context) error {
			page = page[:0]
			it := c.sm.ListSecrets(ctx, &secretmanagerpb.ListSecretsRequest{
				Parent:   c.parent,
				Filter:   filter,
				PageSize: MaxPageSize,
			}, capped(listMaxMsg)...)
			var err error
			page, next, err = onePage(it.InternalFetch, MaxPageSize, token)
			return err
		})
		if oversized(err) {
			return nil, c.oversizedError(op, listMaxMsg)
		}
		if err != nil {
			return nil, c.explain(err, op, role)
		}
		for _, s := range page {
			id := s.GetName()[strings.LastIndex(s.GetName(), "/")+1:]
			if !validID(id) || !strings.HasSuffix(s.GetName(), "/secrets/"+id) {
				// Not a name GSM gives: it could not be read by that name,
				// and it must not reach a log as it is.
				skipped++
				if skipped <= 10 {
					zerolog.Ctx(ctx).Warn().Str("name", quoteServerText(s.GetName())).Str("endpoint", c.endpointName()).
						Msg("the listing holds a secret name that is not a Secret Manager name; it is ignored")
				}
				continue
			}
			out = append(out, Secret{ID: id, Name: s.GetName(), Labels: s.GetLabels()})
		}
		if next == "" {
			break
		}
		if err := pages.next(next); err != nil {
			return nil, err
		}
		token = next
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Access reads the newest enabled version of a secret. It asks for `latest`
// first (one access request); only when that version is disabled or destroyed
// does it spend a read request listing enabled versions.
func (c *Client) Access(ctx context.Context, secretID string) (*Payload, error) {
	p, err := c.accessVersion(ctx, secretID, "latest")
	if !notEnabled(err) {
		return p, err
	}
	c.stats.fallbacks.Add(1)
	zerolog.Ctx(ctx).Debug().Str("secret", secretID).Msg("latest version is not enabled; looking for the newest enabled one")
	// The newest enabled version can itself be disabled between the list and
	// the access; one more round settles that race.
	for range 2 {
		v, err := c.newestEnabled(ctx, secretID)
		if err != nil {
			return nil, err
		}
		p, err = c.accessVersion(ctx, secretID, v)
		if !notEnabled(err) {
			return p, err
		}
	}
	return nil, fmt.Errorf("read %s: %w (versions keep changing state while being read; try again)", secretID, ErrNoEnabledVersion)
}

func notEnabled(err error) bool {
	var ae *accessError
	return errors.As(err, &ae)
}

// accessError is a version that exists but is disabled or destroyed.
type accessError struct {
	msg string
	err error
}

func (e *accessError) Error() string { return e.msg }
func (e *accessError) Unwrap() error { return e.err }

func (c *Client) accessVersion(ctx context.Context, secretID, version string) (*Payload, error) {
	name := c.secretName(secretID) + "/versions/" + version
	var resp *secretmanagerpb.AccessSecretVersionResponse
	err := c.do(ctx, &c.stats.access, func(ctx context.Context) error {
		var err error
		resp, err = c.sm.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: name}, capped(accessMaxMsg)...)
		return err
	})
	if oversized(err) {
		return nil, c.oversizedError("read "+secretID+" version "+version, accessMaxMsg)
	}
	if err != nil {
		if status.Code(err) == codes.FailedPrecondition {
			return nil, &accessError{msg: fmt.Sprintf("read %s version %s: not enabled", secretID, version), err: err}
		}
		err = c.explain(err, "read "+secretID+" version "+version,
			"roles/secretmanager.secretAccessor (permission secretmanager.versions.access) on the secret")
		if errors.Is(err, ErrNotFound) && version == "latest" {
			err = fmt.Errorf("%w: the secret has no version, or was deleted after it was listed; add a version to it, or run again", err)
		}
		return nil, err
	}
	data := resp.GetPayload().GetData()
	num, ok := versionNumber(resp.GetName(), secretID)
	if !ok || (version != "latest" && num != version) {
		return nil, fmt.Errorf("read %s version %s: %w: Secret Manager at %s answered with the version name %s, which is not a version of this secret; nothing was written",
			secretID, version, ErrBadAnswer, c.endpointName(), quoteServerText(resp.GetName()))
	}
	p := &Payload{Secret: secretID, Version: num, data: data}
	if want := resp.GetPayload().DataCrc32C; want != nil {
		if got := int64(crc32.Checksum(data, castagnoli)); got != *want {
			return nil, fmt.Errorf("read %s version %s: %w (server sent %d, data hashes to %d): the data was corrupted in transit or at rest; nothing was written", secretID, num, ErrChecksum, *want, got)
		}
		p.Verified = true
	} else {
		zerolog.Ctx(ctx).Debug().Str("secret", secretID).Str("version", num).Msg("payload has no CRC32C checksum; it cannot be verified")
	}
	return p, nil
}

// newestEnabled finds the newest ENABLED version with one read request.
func (c *Client) newestEnabled(ctx context.Context, secretID string) (string, error) {
	vs, err := c.listVersions(ctx, secretID, "state:ENABLED", 1)
	if err != nil {
		return "", err
	}
	if len(vs) == 0 {
		return "", fmt.Errorf("read %s: %w: its latest version is disabled or destroyed and no older version is enabled; enable a version or add a new one", secretID, ErrNoEnabledVersion)
	}
	return vs[0].Number, nil
}

// ListVersions lists a secret's versions, newest first, optionally filtered
// (e.g. "state:ENABLED"). max > 0 stops after that many.
func (c *Client) ListVersions(ctx context.Context, secretID, filter string, max int) ([]Version, error) {
	return c.listVersions(ctx, secretID, filter, max)
}

func (c *Client) listVersions(ctx context.Context, secretID, filter string, max int) ([]Version, error) {
	const role = "roles/secretmanager.viewer (permission secretmanager.versions.list) on the secret"
	op := "list versions of " + secretID
	pageSize := 1000
	if max > 0 && max < pageSize {
		pageSize = max
	}
	var out []Version
	pages := c.newPager(op)
	token := ""
	for {
		var page []*secretmanagerpb.SecretVersion
		var next string
		err := c.do(ctx, &c.stats.read, func(ctx context.Context) error {
			page = page[:0]
			it := c.sm.ListSecretVersions(ctx, &secretmanagerpb.ListSecretVersionsRequest{
				Parent: c.secretName(secretID), Filter: filter, PageSize: int32(pageSize),
			}, capped(listMaxMsg)...)
			var err error
			page, next, err = onePage(it.InternalFetch, pageSize, token)
			return err
		})
		if oversized(err) {
			return nil, c.oversizedError(op, listMaxMsg)
		}
		if err != nil {
			return nil, c.explain(err, op, role)
		}
		for _, v := range page {
			num, ok := versionNumber(v.GetName(), secretID)
			if !ok {
				return nil, fmt.Errorf("%s: %w: Secret Manager at %s listed the version name %s, which is not a version of this secret",
					op, ErrBadAnswer, c.endpointName(), quoteServerText(v.GetName()))
			}
			out = append(out, Version{Number: num, State: v.GetState().String()})
		}
		// GSM returns newest first; sort anyway so the contract holds
		// whatever the server does.
		if next == "" || (max > 0 && len(out) >= max) {
			break
		}
		if err := pages.next(next); err != nil {
			return nil, err
		}
		token = next
	}
	sort.SliceStable(out, func(i, j int) bool { return versionLess(out[j].Number, out[i].Number) })
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return out, nil
}

func versionLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// explain turns a gRPC failure into a sentence that says what to do.
func (c *Client) explain(err error, op, role string) error {
	if errors.Is(err, ErrStopped) || errors.Is(err, ErrUnreachable) {
		return fmt.Errorf("%s: %w", op, err)
	}
	st, _ := status.FromError(err)
	switch status.Code(err) {
	case codes.PermissionDenied:
		return fmt.Errorf("%s: %w: the caller needs %s (project %s)", op, ErrPermission, role, c.cfg.Project)
	case codes.Unauthenticated:
		return fmt.Errorf("%s: the credentials were rejected (%s): check GCP_GSM_CREDENTIALS, --credentials-file or `gcloud auth application-default login`", op, quoteServerText(st.Message()))
	case codes.NotFound:
		return fmt.Errorf("%s: %w (%s)", op, ErrNotFound, quoteServerText(st.Message()))
	case codes.AlreadyExists:
		return fmt.Errorf("%s: %w (%s)", op, ErrAlreadyExists, quoteServerText(st.Message()))
	case codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded:
		return fmt.Errorf("%s: still %s after retrying for up to %s: %w", op, status.Code(err), c.retry.Overall, sanitized(err))
	case codes.Canceled:
		return fmt.Errorf("%s: %w", op, context.Canceled)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", op, context.Canceled)
	}
	return fmt.Errorf("%s: %w", op, sanitized(err))
}
