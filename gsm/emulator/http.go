package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"connectrpc.com/vanguard"
	"google.golang.org/genproto/googleapis/cloud/location"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
)

// The HTTP side of the emulator: one handler answers gRPC (h2c) and the REST
// mapping that the API's google.api.http annotations define, transcoded by
// vanguard from the descriptors the generated packages carry. Only the REST
// error body is reshaped here, into Google's JSON error form; routes, verbs,
// query parameters and JSON field names come from the descriptors.

// systemParams are Google's standard query parameters, which every Google
// REST API accepts besides the request's own fields. The official clients send
// $alt on every call; vanguard would refuse them as unknown fields.
var systemParams = []string{"$alt", "alt", "$.xgafv", "prettyPrint", "fields", "$fields", "key", "quotaUser", "$callback", "callback", "upload_protocol", "uploadType"}

// newHandler builds the handler serving gs over gRPC and REST.
func newHandler(gs *grpc.Server) (http.Handler, error) {
	var services []*vanguard.Service
	for name := range gs.GetServiceInfo() {
		services = append(services, vanguard.NewService(name, gs))
	}
	tc, err := vanguard.NewTranscoder(services,
		vanguard.WithDefaultServiceOptions(vanguard.WithTargetProtocols(vanguard.ProtocolGRPC), vanguard.WithTargetCodecs(vanguard.CodecProto)),
		// As GSM answers: unset fields left out, unknown request fields
		// refused (INVALID_ARGUMENT), not silently dropped.
		vanguard.WithCodec(func(res vanguard.TypeResolver) vanguard.Codec {
			return &vanguard.JSONCodec{
				MarshalOptions:   protojson.MarshalOptions{Resolver: res},
				UnmarshalOptions: protojson.UnmarshalOptions{Resolver: res},
			}
		}),
		vanguard.WithUnknownHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeGoogleError(w, codes.NotFound, "The emulator serves no "+r.Method+" "+strconv.Quote(r.URL.Path)+": REST paths are the Secret Manager v1 mapping, e.g. GET /v1/projects/P/secrets", nil)
		})),
	)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// gRPC, gRPC-Web and Connect calls name the service in the path;
		// only the REST mapping (/v1/...) gets Google's REST error shape.
		if strings.HasPrefix(r.URL.Path, "/google.") {
			// Plain gRPC needs no transcoding: straight to the server,
			// sparing the transcoder's buffering. gRPC-Web and Connect
			// go through vanguard.
			if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc-web") {
				gs.ServeHTTP(w, r)
				return
			}
			tc.ServeHTTP(w, r)
			return
		}
		if q := r.URL.Query(); hasAny(q, systemParams) {
			for _, p := range systemParams {
				q.Del(p)
			}
			r.URL.RawQuery = q.Encode()
		}
		rw := &restWriter{w: w}
		tc.ServeHTTP(rw, r.WithContext(context.WithValue(r.Context(), reachedKey{}, &rw.reached)))
		rw.finish()
	}), nil
}

func hasAny(q map[string][]string, keys []string) bool {
	for _, k := range keys {
		if _, ok := q[k]; ok {
			return true
		}
	}
	return false
}

// restWriter holds back a REST error answer so that finish can rewrite
// vanguard's google.rpc.Status body ({"code":5,"message":...}) into the
// shape Google's REST APIs and their clients use:
// {"error":{"code":404,"message":...,"status":"NOT_FOUND","details":[...]}}.
type restWriter struct {
	w       http.ResponseWriter
	reached atomic.Bool // the request was decoded and reached a method (markReached)
	status  int
	errBody *bytes.Buffer // non-nil while an error answer is held back
}

func (rw *restWriter) Header() http.Header { return rw.w.Header() }

func (rw *restWriter) WriteHeader(code int) {
	if rw.status != 0 {
		return
	}
	rw.status = code
	if code >= 400 && strings.HasPrefix(rw.w.Header().Get("Content-Type"), "application/json") {
		rw.errBody = &bytes.Buffer{}
		return
	}
	rw.w.WriteHeader(code)
}

func (rw *restWriter) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.errBody != nil {
		return rw.errBody.Write(b)
	}
	return rw.w.Write(b)
}

func (rw *restWriter) Flush() {
	if rw.errBody != nil {
		return
	}
	if f, ok := rw.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (rw *restWriter) finish() {
	if rw.errBody == nil {
		return
	}
	var st spb.Status
	if err := protojson.Unmarshal(rw.errBody.Bytes(), &st); err != nil || st.GetCode() == 0 {
		// Not a status body (vanguard's own request errors are, so this is
		// unexpected): pass it on unchanged rather than invent a message.
		rw.w.WriteHeader(rw.status)
		_, _ = rw.w.Write(rw.errBody.Bytes())
		return
	}
	c := codes.Code(st.GetCode())
	if !rw.reached.Load() && (c == codes.Unknown || c == codes.Internal) {
		// vanguard could not decode the request (bad JSON, an unknown
		// query parameter): GSM calls that INVALID_ARGUMENT.
		c = codes.InvalidArgument
	}
	writeGoogleError(rw.w, c, st.GetMessage(), &st)
}

type reachedKey struct{}

// markReached records, for a REST request, that it was decoded and reached
// a method, so that an error answered before (vanguard could not read the
// request) is known for the client's fault it is.
func markReached(ctx context.Context) {
	if r, ok := ctx.Value(reachedKey{}).(*atomic.Bool); ok {
		r.Store(true)
	}
}

// googleError is the JSON error body of Google's REST APIs.
type googleError struct {
	Error struct {
		Code    int               `json:"code"`
		Message string            `json:"message"`
		Status  string            `json:"status"`
		Details []json.RawMessage `json:"details,omitempty"`
	} `json:"error"`
}

// httpStatus maps a code to the HTTP status Google's REST APIs answer with
// (google/rpc/code.proto).
func httpStatus(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.Canceled:
		return 499
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeGoogleError(w http.ResponseWriter, c codes.Code, msg string, st *spb.Status) {
	var ge googleError
	ge.Error.Code = httpStatus(c)
	ge.Error.Message = msg
	ge.Error.Status = codeName(c)
	for _, d := range st.GetDetails() {
		if b, err := protojson.Marshal(d); err == nil {
			ge.Error.Details = append(ge.Error.Details, b)
		}
	}
	body, err := json.Marshal(ge)
	if err != nil { // cannot happen with these types; answer something valid
		body = []byte(`{"error":{"code":500,"message":"emulator: cannot encode the error","status":"INTERNAL"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Del("Content-Encoding")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(ge.Error.Code)
	_, _ = w.Write(body)
}

// registerServices puts the Secret Manager service and its Locations mixin on
// gs.
func (s *Server) registerServices(gs *grpc.Server) {
	secretmanagerpb.RegisterSecretManagerServiceServer(gs, s)
	location.RegisterLocationsServer(gs, locations{s})
}
