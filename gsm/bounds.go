package gsm

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/googleapis/gax-go/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// What the client holds against a stuck, unreachable or hostile server: a
// budget for the whole run, a short budget for a server that cannot be
// reached at all, caps on the size of what it accepts, and on paging.

// Errors callers branch on.
var (
	// ErrStopped is a call not made, or given up, because the run's
	// budget is spent: the server stopped answering (or kept answering
	// only failures) for longer than the run may last.
	ErrStopped = errors.New("the server stopped answering")
	// ErrUnreachable is a server no connection could be made to: refused,
	// no such host, a TLS handshake that failed, or something that does
	// not speak gRPC.
	ErrUnreachable = errors.New("cannot reach Secret Manager")
	// ErrBadAnswer is an answer GSM never gives: a message over the size
	// any real answer can have, a page token handed out twice, more pages
	// than GSM can produce, a name that is not a GSM name.
	ErrBadAnswer = errors.New("the server sent an answer Secret Manager never sends")
)

// Caps on what one answer may weigh. gRPC refuses a bigger message from its
// length prefix, before reading it, so memory stays bounded whatever a
// server sends. An access answer is a payload (at most 64 KiB) plus its
// version name and checksum; a list page holds up to 25,000 secrets'
// metadata (names, labels, a few timestamps: about 1 KiB each in practice).
const (
	accessMaxMsg = MaxPayload + 16*1024
	listMaxMsg   = 64 << 20
	smallMaxMsg  = 1 << 20 // one version or secret's metadata
)

// maxPages bounds one listing. GSM serves 25,000 secrets (or 1,000 versions)
// a page; a project needing more than this many pages would also spend
// its whole read quota (600 a minute) on one listing.
const maxPages = 100

// connectTimeout bounds one connection attempt, handshakes and the server's
// HTTP/2 preface included, so a listener that accepts and says nothing
// counts as unreachable instead of holding every call until its deadline.
const connectTimeout = 10 * time.Second

// capped is the per-call option set: no library retries (ours are counted
// and bounded) and a cap on the answer's size.
func capped(maxMsg int) []gax.CallOption {
	return []gax.CallOption{noLibraryRetry, gax.WithGRPCOptions(grpc.MaxCallRecvMsgSize(maxMsg))}
}

// oversized reports whether err is gRPC refusing an answer over its cap.
// grpc-go has no typed error for it, only this text (rpc_util.go); a server
// sending the same text itself only makes its call fail sooner.
func oversized(err error) bool {
	st, ok := status.FromError(err)
	return ok && st.Code() == codes.ResourceExhausted &&
		(strings.HasPrefix(st.Message(), "grpc: received message larger than max") ||
			strings.HasPrefix(st.Message(), "grpc: received message after decompression larger than max"))
}

// oversizedError words a refused answer for the user.
func (c *Client) oversizedError(op string, limit int) error {
	need := "more than any real answer needs"
	if limit == accessMaxMsg {
		need = "more than GSM's 64 KiB payload limit allows"
	}
	return fmt.Errorf("%s: %w: Secret Manager at %s answered with a message over %d bytes, %s; it was refused unread and nothing was written: check that the endpoint is Secret Manager",
		op, ErrBadAnswer, c.endpointName(), limit, need)
}

// observed is set by the interceptor when a call reached a server: a
// transport stream was opened, whatever the server then answered.
type observed struct{ connected bool }

type observedKey struct{}

// observe is a client interceptor that records whether each call of ours
// reached a server, which is what tells a server answering UNAVAILABLE
// (retried for the long budget) from no server at all (the short one).
func observe(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	o, _ := ctx.Value(observedKey{}).(*observed)
	if o == nil {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	var p peer.Peer
	err := invoker(ctx, method, req, reply, cc, append(opts, grpc.Peer(&p))...)
	if p.Addr != nil {
		o.connected = true
	}
	return err
}

// transportFailure reports whether a call that reached no server failed
// for that reason.
func transportFailure(err error, o *observed) bool {
	if o.connected {
		return false
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return true
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// endpointName is the address calls go to, for messages.
func (c *Client) endpointName() string {
	switch {
	case c.cfg.Endpoint != "":
		return c.cfg.Endpoint
	case c.cfg.tlsEndpoint != "":
		return c.cfg.tlsEndpoint
	case c.cfg.Location != "":
		return fmt.Sprintf("secretmanager.%s.rep.googleapis.com:443", c.cfg.Location)
	}
	return "secretmanager.googleapis.com:443"
}

// unreachable words a server no connection could be made to, saying what
// to check.
func (c *Client) unreachable(err error) error {
	why := quoteServerText(status.Convert(err).Message())
	// How long no connection could be made: the Connect budget, or less
	// when an operation's own budget ended first.
	since := time.Since(time.Unix(0, c.lastConn.Load())).Round(100 * time.Millisecond)
	if c.cfg.Endpoint != "" {
		return fmt.Errorf("%w: nothing answered gRPC at %s for %s (%s): is the emulator running? check --endpoint or SECRET_MANAGER_EMULATOR_HOST",
			ErrUnreachable, c.cfg.Endpoint, since, why)
	}
	return fmt.Errorf("%w: no network route to %s for %s (%s): check the network, any proxy (HTTPS_PROXY) and firewall, then run again",
		ErrUnreachable, c.endpointName(), since, why)
}

// stoppedError words a run whose budget is spent.
func (c *Client) stoppedError(reason string, last error) error {
	msg := fmt.Sprintf("%s; nothing more is asked of %s in this run", reason, c.endpointName())
	if last != nil {
		msg += fmt.Sprintf(" (its last answer: %s)", codeName(status.Code(last)))
	}
	return fmt.Errorf("%w: %s", ErrStopped, msg)
}

// halt records the reason every later call fails at once; the first
// reason stays.
func (c *Client) halt(err error) error {
	c.halted.CompareAndSwap(nil, &err)
	return *c.halted.Load()
}

// haltedErr is the reason calls are no longer made, or nil.
func (c *Client) haltedErr() error {
	if p := c.halted.Load(); p != nil {
		return *p
	}
	if c.runSpent(time.Now()) {
		return c.halt(c.stoppedError(fmt.Sprintf("the run's --timeout of %s is spent", c.Timeout()), nil))
	}
	return nil
}

// runContext bounds ctx by the run's deadline, if any.
func (c *Client) runContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl := c.Deadline()
	if dl.IsZero() {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, dl)
}

// runSpent reports whether the run's deadline has passed at t.
func (c *Client) runSpent(t time.Time) bool {
	dl := c.Deadline()
	return !dl.IsZero() && !t.Before(dl)
}

// pager guards one listing against a server that pages forever.
type pager struct {
	c     *Client
	op    string
	seen  map[string]bool
	pages int
}

func (c *Client) newPager(op string) *pager { return &pager{c: c, op: op, seen: map[string]bool{}} }

// next accepts the page token a server handed out, or says why it cannot
// be right.
func (p *pager) next(token string) error {
	p.pages++
	switch {
	case p.seen[token]:
		return fmt.Errorf("%s: %w: Secret Manager at %s handed out the page token %s a second time, after %d pages; the listing would never end, so it was stopped",
			p.op, ErrBadAnswer, p.c.endpointName(), quoteServerText(token), p.pages)
	case p.pages >= maxPages:
		return fmt.Errorf("%s: %w: Secret Manager at %s still had a next page after %d pages, more than a project can fill; the listing was stopped",
			p.op, ErrBadAnswer, p.c.endpointName(), p.pages)
	}
	p.seen[token] = true
	return nil
}

// quoteServerText makes text a server chose safe to put in a message: Go
// quoting escapes every control character, and long text is cut.
func quoteServerText(s string) string {
	const max = 200
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}

// validID reports whether id is made of GSM's secret-ID characters,
// [A-Za-z0-9_-]. GSM's 255-character limit is not enforced on what a
// server lists: a longer ID is harmless (it never reaches a path), only the
// characters matter; 4096 just bounds what a message may quote.
func validID(id string) bool {
	if id == "" || len(id) > 4096 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// versionNumber returns the version number at the end of a version name
// under secretID, or false when the name is not one GSM would give.
// Names come back with the project number where the request had its ID,
// so only the part from /secrets/ on is compared.
func versionNumber(name, secretID string) (string, bool) {
	i := strings.LastIndex(name, "/secrets/"+secretID+"/versions/")
	if i < 0 {
		return "", false
	}
	num := name[i+len("/secrets/"+secretID+"/versions/"):]
	if num == "" || len(num) > 20 || strings.Trim(num, "0123456789") != "" {
		return "", false
	}
	return num, true
}

// serverError is a gRPC error whose text, which the server chose, prints
// quoted (control characters escaped); errors.Is, errors.As and
// status.Code see the original.
type serverError struct{ err error }

func (e *serverError) Error() string {
	st := status.Convert(e.err)
	return "rpc error: code = " + st.Code().String() + " desc = " + quoteServerText(st.Message())
}

func (e *serverError) Unwrap() error { return e.err }

// sanitized wraps a gRPC error so that it prints as a serverError; any
// other error is returned as it is.
func sanitized(err error) error {
	if _, ok := status.FromError(err); !ok || err == nil {
		return err
	}
	var se *serverError
	if errors.As(err, &se) {
		return err
	}
	return &serverError{err}
}

// onePage makes exactly one list request. The library's iterators (and
// iterator.Pager) keep requesting pages until they hold a full page of
// items, so a server answering one item and a next_page_token at a time
// would get thousands of requests inside what looks like one call; only
// the iterator's InternalFetch is one request per page, which the paging
// bounds need to count.
func onePage[T any](fetch func(pageSize int, token string) ([]T, string, error), pageSize int, token string) ([]T, string, error) {
	return fetch(pageSize, token)
}
