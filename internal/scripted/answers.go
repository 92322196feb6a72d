package scripted

import (
	"context"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Project is the project the canned answers serve.
const Project = "scripted-project"

// SecretID is the name of the i-th secret the canned listings serve; it is
// labelled connector=source-s<i>.
func SecretID(i int) string { return fmt.Sprintf("SECRET_SOURCE-S%d_CREDS", i) }

func secret(i int) *secretmanagerpb.Secret {
	return &secretmanagerpb.Secret{
		Name:   "projects/" + Project + "/secrets/" + SecretID(i),
		Labels: map[string]string{"connector": fmt.Sprintf("source-s%d", i)},
	}
}

// Secrets lists n CI secrets on one page, as GSM would.
func Secrets(n int) func(context.Context, *secretmanagerpb.ListSecretsRequest) (*secretmanagerpb.ListSecretsResponse, error) {
	page := make([]*secretmanagerpb.Secret, n)
	for i := range page {
		page[i] = secret(i)
	}
	return func(context.Context, *secretmanagerpb.ListSecretsRequest) (*secretmanagerpb.ListSecretsResponse, error) {
		return &secretmanagerpb.ListSecretsResponse{Secrets: page}, nil
	}
}

// EndlessPages lists one secret per page and always hands out a
// next_page_token: a fresh one each time, or, with repeat, the same one.
func EndlessPages(repeat bool) func(context.Context, *secretmanagerpb.ListSecretsRequest) (*secretmanagerpb.ListSecretsResponse, error) {
	return func(_ context.Context, req *secretmanagerpb.ListSecretsRequest) (*secretmanagerpb.ListSecretsResponse, error) {
		n := 0
		if t := req.GetPageToken(); t != "" {
			n, _ = strconv.Atoi(strings.TrimPrefix(t, "page-"))
		}
		next := "page-" + strconv.Itoa(n+1)
		if repeat {
			next = "page-1"
		}
		return &secretmanagerpb.ListSecretsResponse{Secrets: []*secretmanagerpb.Secret{secret(n)}, NextPageToken: next}, nil
	}
}

// Payload answers every access with data as version 1, with its CRC32C.
func Payload(data []byte) func(context.Context, *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	sum := int64(crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	return func(_ context.Context, req *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
		name := req.GetName()
		return &secretmanagerpb.AccessSecretVersionResponse{
			Name:    name[:strings.LastIndex(name, "/")+1] + "1",
			Payload: &secretmanagerpb.SecretPayload{Data: data, DataCrc32C: &sum},
		}, nil
	}
}

// VersionNamed answers every access with a small valid payload whose
// version is named version (a hostile server's "1\n::stop-commands::x").
func VersionNamed(version string) func(context.Context, *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	data := []byte(`{"k": "scripted-odd-name-value"}`)
	sum := int64(crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	return func(_ context.Context, req *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
		name := req.GetName()
		return &secretmanagerpb.AccessSecretVersionResponse{
			Name:    name[:strings.LastIndex(name, "/")+1] + version,
			Payload: &secretmanagerpb.SecretPayload{Data: data, DataCrc32C: &sum},
		}, nil
	}
}

// JSONPayload is a valid JSON object of exactly size bytes (at least 10).
func JSONPayload(size int) []byte {
	b := make([]byte, 0, size)
	b = append(b, `{"k": "`...)
	for len(b) < size-2 {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}

// Hang never answers: it returns only when the caller gives up (or the
// server stops), as a server stuck behind a dead backend does.
func Hang[Req, Resp any](ctx context.Context, _ Req) (Resp, error) {
	<-ctx.Done()
	var zero Resp
	return zero, status.FromContextError(ctx.Err()).Err()
}

// Fail answers every call with code.
func Fail[Req, Resp any](code codes.Code) func(context.Context, Req) (Resp, error) {
	return func(context.Context, Req) (Resp, error) {
		var zero Resp
		return zero, status.Errorf(code, "scripted %v", code)
	}
}

// LoseAnswer carries a call out with inner and then answers code instead of
// its result, as when a connection drops after the server committed it.
func LoseAnswer[Req, Resp any](code codes.Code, inner func(context.Context, Req) (Resp, error)) func(context.Context, Req) (Resp, error) {
	return func(ctx context.Context, req Req) (Resp, error) {
		var zero Resp
		if _, err := inner(ctx, req); err != nil {
			return zero, err
		}
		return zero, status.Errorf(code, "scripted: the answer was lost after the call was carried out")
	}
}

// Mode builds the handlers of a named scenario, for scripts and tests that
// choose one by name (`scripted-server stuck 200`):
//
//	stuck N              N secrets listed, every access hangs
//	stuck-list           the listing hangs (until the caller gives up)
//	unavailable N        N secrets listed, every access answers UNAVAILABLE
//	oversized N BYTES    N secrets listed, every access answers BYTES bytes
//	endless-pages        a fresh next_page_token on every ListSecrets page
//	repeat-token         the same next_page_token on every page
//	odd-version N NAME   N secrets listed, accesses name their version NAME
func Mode(args []string) (Handlers, error) {
	if len(args) == 0 {
		return Handlers{}, fmt.Errorf("no mode given")
	}
	num := func(i int) (int, error) {
		if len(args) <= i {
			return 0, fmt.Errorf("mode %s needs %d arguments", args[0], i)
		}
		n, err := strconv.Atoi(args[i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("mode %s: %q is not a count", args[0], args[i])
		}
		return n, nil
	}
	switch args[0] {
	case "stuck", "unavailable":
		n, err := num(1)
		if err != nil {
			return Handlers{}, err
		}
		h := Handlers{ListSecrets: Secrets(n), AccessSecretVersion: Hang[*secretmanagerpb.AccessSecretVersionRequest, *secretmanagerpb.AccessSecretVersionResponse]}
		if args[0] == "unavailable" {
			h.AccessSecretVersion = Fail[*secretmanagerpb.AccessSecretVersionRequest, *secretmanagerpb.AccessSecretVersionResponse](codes.Unavailable)
		}
		return h, nil
	case "stuck-list":
		return Handlers{ListSecrets: Hang[*secretmanagerpb.ListSecretsRequest, *secretmanagerpb.ListSecretsResponse]}, nil
	case "oversized":
		n, err := num(1)
		if err != nil {
			return Handlers{}, err
		}
		size, err := num(2)
		if err != nil {
			return Handlers{}, err
		}
		return Handlers{ListSecrets: Secrets(n), AccessSecretVersion: Payload(JSONPayload(max(size, 10)))}, nil
	case "endless-pages", "repeat-token":
		return Handlers{ListSecrets: EndlessPages(args[0] == "repeat-token")}, nil
	case "odd-version":
		n, err := num(1)
		if err != nil {
			return Handlers{}, err
		}
		if len(args) < 3 {
			return Handlers{}, fmt.Errorf("mode odd-version needs a version name")
		}
		return Handlers{ListSecrets: Secrets(n), AccessSecretVersion: VersionNamed(args[2])}, nil
	}
	return Handlers{}, fmt.Errorf("unknown mode %q", args[0])
}
