package emulator

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"hash/crc32"
	"maps"
	"slices"
	"strconv"
	"strings"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Names the server answers with. GSM answers with the project number; the
// emulator keeps the project ID it was seeded with.
func (s *Server) parentName(location string) string {
	if location != "" {
		return "projects/" + s.project + "/locations/" + location
	}
	return "projects/" + s.project
}

func (s *Server) secretName(sec *secret) string {
	return s.parentName(sec.location) + "/secrets/" + sec.id
}

func (s *Server) versionName(sec *secret, n int) string {
	return s.secretName(sec) + "/versions/" + strconv.Itoa(n)
}

func etag(rev int64) string { return `"` + strconv.FormatInt(rev, 16) + `"` }

// checkProject refuses a project other than the server's. GSM usually answers
// PERMISSION_DENIED for a project the caller cannot see; the emulator says
// NOT_FOUND, which is what the caller needs to hear.
func (s *Server) checkProject(r ref) error {
	if r.project != s.project {
		return status.Errorf(codes.NotFound, "Project [%s] not found: this emulator serves project %q.", r.project, s.project)
	}
	return nil
}

// locationRange returns the index range of the secrets in location; callers
// hold mu.
func (s *Server) locationRange(location string) (lo, hi int) {
	lo, _ = slices.BinarySearchFunc(s.secrets, location, func(sec *secret, loc string) int {
		return strings.Compare(sec.location, loc)
	})
	hi = lo
	for hi < len(s.secrets) && s.secrets[hi].location == location {
		hi++
	}
	return lo, hi
}

// find returns the index of a secret, or -1; callers hold mu.
func (s *Server) find(location, id string) int {
	i, ok := slices.BinarySearchFunc(s.secrets, &secret{location: location, id: id}, compareSecrets)
	if !ok {
		return -1
	}
	return i
}

// lookup resolves a secret resource name; callers hold mu.
func (s *Server) lookup(name string) (*secret, error) {
	r, err := parseName(name, "secret")
	if err != nil {
		return nil, err
	}
	if err := s.checkProject(r); err != nil {
		return nil, err
	}
	i := s.find(r.location, r.secret)
	if i < 0 {
		return nil, status.Errorf(codes.NotFound, "Secret [%s] not found.", r.secretName())
	}
	return s.secrets[i], nil
}

// lookupVersion resolves a version resource name, "latest" included, to the
// secret, the version number and the version; callers hold mu.
func (s *Server) lookupVersion(name string) (*secret, int, *version, error) {
	r, err := parseName(name, "version")
	if err != nil {
		return nil, 0, nil, err
	}
	if err := s.checkProject(r); err != nil {
		return nil, 0, nil, err
	}
	i := s.find(r.location, r.secret)
	if i < 0 {
		return nil, 0, nil, status.Errorf(codes.NotFound, "Secret [%s] not found or has no versions.", r.secretName())
	}
	sec := s.secrets[i]
	n := len(sec.versions) // latest: the most recently created, whatever its state
	if r.version != "latest" {
		n, _ = parseVersionNumber(r.version)
	}
	if n < 1 || n > len(sec.versions) {
		return nil, 0, nil, status.Errorf(codes.NotFound, "Secret Version [%s/versions/%s] not found.", r.secretName(), r.version)
	}
	return sec, n, sec.versions[n-1], nil
}

func (s *Server) secretProto(sec *secret) *secretmanagerpb.Secret {
	p := &secretmanagerpb.Secret{
		Name:       s.secretName(sec),
		Labels:     maps.Clone(sec.labels),
		CreateTime: timestamppb.New(sec.created),
		Etag:       etag(sec.rev),
	}
	if sec.replication != nil {
		p.Replication = proto.Clone(sec.replication).(*secretmanagerpb.Replication)
	}
	return p
}

func (s *Server) versionProto(sec *secret, n int) *secretmanagerpb.SecretVersion {
	v := sec.versions[n-1]
	p := &secretmanagerpb.SecretVersion{
		Name:                           s.versionName(sec, n),
		CreateTime:                     timestamppb.New(v.created),
		State:                          v.state,
		Etag:                           etag(v.rev),
		ClientSpecifiedPayloadChecksum: v.clientCRC,
	}
	if !v.destroyed.IsZero() {
		p.DestroyTime = timestamppb.New(v.destroyed)
	}
	return p
}

// pageSize applies GSM's page size rules: 0 lets the server choose
// (DefaultPageSize), above MaxPageSize is capped (as the API documents),
// negative is refused.
func pageSize(n int32) (int, error) {
	switch {
	case n < 0:
		return 0, status.Errorf(codes.InvalidArgument, "page_size %d is negative", n)
	case n == 0:
		return DefaultPageSize, nil
	case n > MaxPageSize:
		return MaxPageSize, nil
	}
	return int(n), nil
}

// pageToken is the opaque continuation of a list: the request it belongs to
// and the last item served (keyset paging, stable under concurrent writes).
type pageToken struct {
	Kind   string `json:"k"`
	Parent string `json:"p"`
	Filter string `json:"f"`
	After  string `json:"a"`
}

func encodeToken(t pageToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeToken returns the last item of the previous page, or "" when token
// is empty.
func decodeToken(token, kind, parent, filter string) (string, error) {
	if token == "" {
		return "", nil
	}
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.Kind != kind || t.After == "" {
		return "", status.Error(codes.InvalidArgument, "page_token is not a token this server issued")
	}
	if t.Parent != parent || t.Filter != filter {
		return "", status.Error(codes.InvalidArgument, "page_token belongs to a request with another parent or filter")
	}
	return t.After, nil
}

func invalidFilter(filter string, err error) error {
	return status.Errorf(codes.InvalidArgument, "invalid filter %q: %v", filter, err)
}

// secretRecord exposes a secret to the filter.
type secretRecord struct {
	sec  *secret
	name string
}

func (r secretRecord) values(field string) ([]string, bool) {
	if field == "name" {
		return []string{r.name, r.sec.id}, true
	}
	if k, ok := strings.CutPrefix(field, "labels."); ok {
		v, ok := r.sec.labels[k]
		return []string{v}, ok
	}
	return nil, false
}

type versionRecord struct {
	name  string
	state secretmanagerpb.SecretVersion_State
}

func (r versionRecord) values(field string) ([]string, bool) {
	switch field {
	case "name":
		return []string{r.name}, true
	case "state":
		return []string{r.state.String()}, true
	}
	return nil, false
}

// ListSecrets lists the secrets of one parent (the global ones under
// projects/P, the regional ones under projects/P/locations/L), sorted by ID.
func (s *Server) ListSecrets(_ context.Context, req *secretmanagerpb.ListSecretsRequest) (*secretmanagerpb.ListSecretsResponse, error) {
	r, err := parseName(req.GetParent(), "parent")
	if err != nil {
		return nil, err
	}
	if err := s.checkProject(r); err != nil {
		return nil, err
	}
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	filter, err := parseFilter(req.GetFilter(), secretSchema)
	if err != nil {
		return nil, invalidFilter(req.GetFilter(), err)
	}
	after, err := decodeToken(req.GetPageToken(), "secrets", req.GetParent(), req.GetFilter())
	if err != nil {
		return nil, err
	}

	s.mu.RLock()
	defer s.mu.RUnlock()
	lo, hi := s.locationRange(r.location)
	start := lo
	if after != "" {
		start, _ = slices.BinarySearchFunc(s.secrets[lo:hi], after, func(sec *secret, id string) int {
			if sec.id <= id {
				return -1
			}
			return 1
		})
		start += lo
	}
	resp := &secretmanagerpb.ListSecretsResponse{}
	if strings.TrimSpace(req.GetFilter()) == "" {
		resp.TotalSize = int32(hi - lo)
	}
	var last string
	for _, sec := range s.secrets[start:hi] {
		if !filter.match(secretRecord{sec, s.secretName(sec)}) {
			continue
		}
		if len(resp.Secrets) == size { // one more match exists: hand out a token
			resp.NextPageToken = encodeToken(pageToken{Kind: "secrets", Parent: req.GetParent(), Filter: req.GetFilter(), After: last})
			break
		}
		resp.Secrets = append(resp.Secrets, s.secretProto(sec))
		last = sec.id
	}
	return resp, nil
}

// GetSecret returns a secret's metadata.
func (s *Server) GetSecret(_ context.Context, req *secretmanagerpb.GetSecretRequest) (*secretmanagerpb.Secret, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sec, err := s.lookup(req.GetName())
	if err != nil {
		return nil, err
	}
	return s.secretProto(sec), nil
}

// CreateSecret creates a secret without versions. Global secrets need a
// replication policy; regional secrets must not carry one.
func (s *Server) CreateSecret(_ context.Context, req *secretmanagerpb.CreateSecretRequest) (*secretmanagerpb.Secret, error) {
	r, err := parseName(req.GetParent(), "parent")
	if err != nil {
		return nil, err
	}
	if err := s.checkProject(r); err != nil {
		return nil, err
	}
	if err := validateSecretID(req.GetSecretId()); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "invalid secret_id: %v", err)
	}
	in := req.GetSecret()
	if err := validateLabels(in.GetLabels()); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "invalid labels: %v", err)
	}
	rep := in.GetReplication()
	switch {
	case r.location == "" && rep.GetReplication() == nil:
		return nil, status.Error(codes.InvalidArgument, "Secret.replication is required for a global secret (automatic or user_managed)")
	case r.location != "" && rep != nil:
		return nil, status.Errorf(codes.InvalidArgument, "Secret.replication must not be set for a regional secret (location %s)", r.location)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	i, found := slices.BinarySearchFunc(s.secrets, &secret{location: r.location, id: req.GetSecretId()}, compareSecrets)
	if found {
		return nil, status.Errorf(codes.AlreadyExists, "Secret [%s/secrets/%s] already exists.", s.parentName(r.location), req.GetSecretId())
	}
	sec := &secret{id: req.GetSecretId(), location: r.location, labels: maps.Clone(in.GetLabels()), created: s.now(), rev: s.nextRev()}
	if rep != nil {
		sec.replication = proto.Clone(rep).(*secretmanagerpb.Replication)
	}
	s.secrets = slices.Insert(s.secrets, i, sec)
	return s.secretProto(sec), nil
}

// UpdateSecret updates a secret's labels; "labels" is the only update_mask
// path the emulator supports.
func (s *Server) UpdateSecret(_ context.Context, req *secretmanagerpb.UpdateSecretRequest) (*secretmanagerpb.Secret, error) {
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		return nil, status.Error(codes.InvalidArgument, "update_mask is required")
	}
	for _, p := range paths {
		if p != "labels" {
			return nil, status.Errorf(codes.InvalidArgument, "update_mask path %q is not supported by the emulator (only \"labels\")", p)
		}
	}
	in := req.GetSecret()
	if err := validateLabels(in.GetLabels()); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "invalid labels: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.lookup(in.GetName())
	if err != nil {
		return nil, err
	}
	sec.labels = maps.Clone(in.GetLabels())
	sec.rev = s.nextRev()
	return s.secretProto(sec), nil
}

// DeleteSecret deletes a secret and all its versions.
func (s *Server) DeleteSecret(_ context.Context, req *secretmanagerpb.DeleteSecretRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.lookup(req.GetName())
	if err != nil {
		return nil, err
	}
	s.secrets = slices.Delete(s.secrets, s.find(sec.location, sec.id), s.find(sec.location, sec.id)+1)
	return &emptypb.Empty{}, nil
}

// AddSecretVersion adds an ENABLED version. The payload is at most
// MaxPayloadSize bytes; a data_crc32c, when given, must match the data.
func (s *Server) AddSecretVersion(_ context.Context, req *secretmanagerpb.AddSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	p := req.GetPayload()
	if p == nil {
		return nil, status.Error(codes.InvalidArgument, "payload is required")
	}
	if len(p.GetData()) > MaxPayloadSize {
		return nil, status.Errorf(codes.InvalidArgument, "Secret Payload cannot be larger than 64KiB: it is %d bytes.", len(p.GetData()))
	}
	if p.DataCrc32C != nil && *p.DataCrc32C != int64(crc32.Checksum(p.GetData(), castagnoli)) {
		return nil, status.Error(codes.InvalidArgument, "checksum mismatch: payload.data_crc32c does not match the CRC32C of payload.data")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.lookup(req.GetParent())
	if err != nil {
		return nil, err
	}
	sec.versions = append(sec.versions, &version{
		state:     secretmanagerpb.SecretVersion_ENABLED,
		data:      slices.Clone(p.GetData()),
		clientCRC: p.DataCrc32C != nil,
		created:   s.now(),
		rev:       s.nextRev(),
	})
	return s.versionProto(sec, len(sec.versions)), nil
}

// GetSecretVersion returns a version's metadata; "latest" is allowed.
func (s *Server) GetSecretVersion(_ context.Context, req *secretmanagerpb.GetSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sec, n, _, err := s.lookupVersion(req.GetName())
	if err != nil {
		return nil, err
	}
	return s.versionProto(sec, n), nil
}

// ListSecretVersions lists a secret's versions newest first.
func (s *Server) ListSecretVersions(_ context.Context, req *secretmanagerpb.ListSecretVersionsRequest) (*secretmanagerpb.ListSecretVersionsResponse, error) {
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	filter, err := parseFilter(req.GetFilter(), versionSchema)
	if err != nil {
		return nil, invalidFilter(req.GetFilter(), err)
	}
	after, err := decodeToken(req.GetPageToken(), "versions", req.GetParent(), req.GetFilter())
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	sec, err := s.lookup(req.GetParent())
	if err != nil {
		return nil, err
	}
	start := len(sec.versions)
	if after != "" {
		n, err := parseVersionNumber(after)
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, "page_token is not a token this server issued")
		}
		start = min(start, n-1)
	}
	resp := &secretmanagerpb.ListSecretVersionsResponse{}
	if strings.TrimSpace(req.GetFilter()) == "" {
		resp.TotalSize = int32(len(sec.versions))
	}
	last := 0
	for n := start; n >= 1; n-- {
		if !filter.match(versionRecord{s.versionName(sec, n), sec.versions[n-1].state}) {
			continue
		}
		if len(resp.Versions) == size {
			resp.NextPageToken = encodeToken(pageToken{Kind: "versions", Parent: req.GetParent(), Filter: req.GetFilter(), After: strconv.Itoa(last)})
			break
		}
		resp.Versions = append(resp.Versions, s.versionProto(sec, n))
		last = n
	}
	return resp, nil
}

// AccessSecretVersion returns a version's payload with its CRC32C (or the
// seeded override). "latest" is the most recently created version: when it
// is DISABLED or DESTROYED the call fails with FAILED_PRECONDITION, as GSM's
// does; it never falls back to an older version.
func (s *Server) AccessSecretVersion(_ context.Context, req *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sec, n, v, err := s.lookupVersion(req.GetName())
	if err != nil {
		return nil, err
	}
	if v.state != secretmanagerpb.SecretVersion_ENABLED {
		return nil, status.Errorf(codes.FailedPrecondition, "Secret Version [%s] is in %s state.", s.versionName(sec, n), v.state)
	}
	sum := int64(crc32.Checksum(v.data, castagnoli))
	if v.crc != nil {
		sum = *v.crc
	}
	return &secretmanagerpb.AccessSecretVersionResponse{
		Name:    s.versionName(sec, n),
		Payload: &secretmanagerpb.SecretPayload{Data: slices.Clone(v.data), DataCrc32C: &sum},
	}, nil
}

// DisableSecretVersion disables an ENABLED version (a DISABLED one stays so).
func (s *Server) DisableSecretVersion(_ context.Context, req *secretmanagerpb.DisableSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	return s.transition(req.GetName(), secretmanagerpb.SecretVersion_DISABLED)
}

// EnableSecretVersion enables a DISABLED version (an ENABLED one stays so).
func (s *Server) EnableSecretVersion(_ context.Context, req *secretmanagerpb.EnableSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	return s.transition(req.GetName(), secretmanagerpb.SecretVersion_ENABLED)
}

// DestroySecretVersion destroys a version for good: its data is dropped.
func (s *Server) DestroySecretVersion(_ context.Context, req *secretmanagerpb.DestroySecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	return s.transition(req.GetName(), secretmanagerpb.SecretVersion_DESTROYED)
}

// transition moves a version to state to. A DESTROYED version can go nowhere:
// FAILED_PRECONDITION. Etags are not checked.
func (s *Server) transition(name string, to secretmanagerpb.SecretVersion_State) (*secretmanagerpb.SecretVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, n, v, err := s.lookupVersion(name)
	if err != nil {
		return nil, err
	}
	if v.state == secretmanagerpb.SecretVersion_DESTROYED {
		return nil, status.Errorf(codes.FailedPrecondition, "Secret Version [%s] is in DESTROYED state.", s.versionName(sec, n))
	}
	if v.state != to {
		v.state = to
		v.rev = s.nextRev()
		if to == secretmanagerpb.SecretVersion_DESTROYED {
			v.data, v.destroyed = nil, s.now()
		}
	}
	return s.versionProto(sec, n), nil
}
