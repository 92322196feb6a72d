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
	"time"

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
	if i < 0 || s.secrets[i].expired(s.now()) {
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
	if i < 0 || s.secrets[i].expired(s.now()) {
		return nil, 0, nil, status.Errorf(codes.NotFound, "Secret [%s] not found or has no versions.", r.secretName())
	}
	sec := s.secrets[i]
	n := len(sec.versions) // latest: the most recently created, whatever its state
	if r.version != "latest" {
		var err error
		if n, err = parseVersionNumber(r.version); err != nil {
			a, ok := sec.meta.aliases[r.version]
			if !ok {
				return nil, 0, nil, status.Errorf(codes.NotFound, "Secret Version [%s/versions/%s] not found: %q is neither a version number, \"latest\" nor an alias of this secret.", r.secretName(), r.version, r.version)
			}
			n = int(a)
		}
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
	sec.meta.fill(p)
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
		State:                          v.stateAt(s.now()),
		Etag:                           etag(v.rev),
		ClientSpecifiedPayloadChecksum: v.clientCRC,
	}
	switch {
	case !v.destroyed.IsZero():
		p.DestroyTime = timestamppb.New(v.destroyed)
	case p.State == secretmanagerpb.SecretVersion_DESTROYED: // its scheduled time has passed
		p.DestroyTime = timestamppb.New(v.scheduled)
	case !v.scheduled.IsZero():
		p.ScheduledDestroyTime = timestamppb.New(v.scheduled)
	}
	if v.kmsKey != "" {
		p.CustomerManagedEncryption = &secretmanagerpb.CustomerManagedEncryptionStatus{KmsKeyVersionName: v.kmsKey}
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
	now  time.Time
}

func stamp(t time.Time) ([]string, bool) {
	if t.IsZero() {
		return nil, false
	}
	return []string{t.UTC().Format(time.RFC3339Nano)}, true
}

func (r secretRecord) values(field string) ([]string, bool) {
	sec := r.sec
	for _, m := range []struct {
		prefix string
		get    func(string) (string, bool)
	}{
		{"labels.", func(k string) (string, bool) { v, ok := sec.labels[k]; return v, ok }},
		{"annotations.", func(k string) (string, bool) { v, ok := sec.meta.annotations[k]; return v, ok }},
		{"version_aliases.", func(k string) (string, bool) {
			v, ok := sec.meta.aliases[k]
			return strconv.FormatInt(v, 10), ok
		}},
	} {
		if k, ok := strings.CutPrefix(field, m.prefix); ok {
			v, ok := m.get(k)
			return []string{v}, ok
		}
	}
	auto := sec.replication.GetAutomatic()
	replicas := sec.replication.GetUserManaged().GetReplicas()
	switch field {
	case "name":
		return []string{r.name, sec.id}, true
	case "create_time":
		return stamp(sec.created)
	case "expire_time":
		return stamp(sec.meta.expire)
	case "rotation.next_rotation_time":
		if t := sec.meta.rotation.GetNextRotationTime(); t != nil {
			return stamp(t.AsTime())
		}
		return nil, false
	case "topics.name":
		return sec.meta.topics, len(sec.meta.topics) > 0
	case "replication.automatic":
		return []string{""}, auto != nil
	case "replication.user_managed":
		return []string{""}, len(replicas) > 0
	case "replication.automatic.customer_managed_encryption.kms_key_name":
		k := auto.GetCustomerManagedEncryption().GetKmsKeyName()
		return []string{k}, k != ""
	case "replication.user_managed.replicas.location", "replication.user_managed.replicas.customer_managed_encryption.kms_key_name":
		var out []string
		for _, rp := range replicas {
			v := rp.GetLocation()
			if strings.HasSuffix(field, "kms_key_name") {
				v = rp.GetCustomerManagedEncryption().GetKmsKeyName()
			}
			if v != "" {
				out = append(out, v)
			}
		}
		return out, len(out) > 0
	}
	return nil, false
}

type versionRecord struct {
	name string
	v    *version
	now  time.Time
}

func (r versionRecord) values(field string) ([]string, bool) {
	st := r.v.stateAt(r.now)
	switch field {
	case "name":
		return []string{r.name}, true
	case "state":
		return []string{st.String()}, true
	case "create_time":
		return stamp(r.v.created)
	case "destroy_time":
		if st == secretmanagerpb.SecretVersion_DESTROYED && r.v.destroyed.IsZero() {
			return stamp(r.v.scheduled)
		}
		return stamp(r.v.destroyed)
	case "scheduled_destroy_time":
		if st == secretmanagerpb.SecretVersion_DESTROYED {
			return nil, false
		}
		return stamp(r.v.scheduled)
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
	now := s.now()
	if strings.TrimSpace(req.GetFilter()) == "" {
		for _, sec := range s.secrets[lo:hi] {
			if !sec.expired(now) {
				resp.TotalSize++
			}
		}
	}
	var last string
	for _, sec := range s.secrets[start:hi] {
		if sec.expired(now) || !filter.match(secretRecord{sec, s.secretName(sec), now}) {
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
	if err := checkReplication(rep); err != nil {
		return nil, err
	}
	if in.GetSecretType() != secretmanagerpb.Secret_SECRET_TYPE_UNSPECIFIED {
		return nil, status.Errorf(codes.InvalidArgument, "secret_type %s is not emulated: typed (managed-rotation) secrets are refused rather than served untyped", in.GetSecretType())
	}
	now := s.now()
	m, err := metaFromCreate(in, now)
	if err != nil {
		return nil, err
	}
	for k := range in.GetTags() {
		if k == "" {
			return nil, status.Error(codes.InvalidArgument, "tags: a tag key is empty")
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	sec := &secret{id: req.GetSecretId(), location: r.location, labels: maps.Clone(in.GetLabels()), created: now, meta: m, tags: maps.Clone(in.GetTags())}
	if err := m.check(sec, now, fresh{rotation: true, aliases: true}); err != nil {
		return nil, err
	}
	i, found := slices.BinarySearchFunc(s.secrets, sec, compareSecrets)
	switch {
	case found && !s.secrets[i].expired(now):
		return nil, status.Errorf(codes.AlreadyExists, "Secret [%s/secrets/%s] already exists.", s.parentName(r.location), req.GetSecretId())
	case found: // an expired secret is gone: its ID is free again
		s.secrets = slices.Delete(s.secrets, i, i+1)
	}
	sec.rev = s.nextRev()
	if rep != nil {
		sec.replication = proto.Clone(rep).(*secretmanagerpb.Replication)
	}
	s.secrets = slices.Insert(s.secrets, i, sec)
	return s.secretProto(sec), nil
}

// UpdateSecret changes the fields its update_mask names (every mutable
// Secret field; see mutablePaths), after checking the etag when one is given.
// A field named in the mask but absent from the request is cleared.
func (s *Server) UpdateSecret(_ context.Context, req *secretmanagerpb.UpdateSecretRequest) (*secretmanagerpb.Secret, error) {
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		return nil, status.Errorf(codes.InvalidArgument, "update_mask is required: name the fields to change (%s)", strings.Join(mutablePaths, ", "))
	}
	in := req.GetSecret()
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.lookup(in.GetName())
	if err != nil {
		return nil, err
	}
	if err := checkEtag(in.GetEtag(), sec.rev, s.secretName(sec)); err != nil {
		return nil, err
	}
	now := s.now()
	labels, m := sec.labels, sec.meta.clone()
	for _, p := range paths {
		if p == "labels" {
			if err := validateLabels(in.GetLabels()); err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "invalid labels: %v", err)
			}
			labels = maps.Clone(in.GetLabels())
			continue
		}
		if err := setField(&m, p, in, now); err != nil {
			return nil, err
		}
	}
	// Only what the mask changes meets the rules of the present again: an
	// old next_rotation_time left alone is not refused for having come
	// closer, nor an alias whose version was destroyed since.
	f := fresh{
		rotation: slices.ContainsFunc(paths, func(p string) bool { return strings.HasPrefix(p, "rotation") }),
		aliases:  slices.Contains(paths, "version_aliases"),
	}
	if err := m.check(sec, now, f); err != nil {
		return nil, err
	}
	sec.labels, sec.meta = labels, m
	sec.rev = s.nextRev()
	return s.secretProto(sec), nil
}

// checkEtag enforces an etag a request carries: empty means "whatever the
// current one", anything else must match it, as GSM answers.
func checkEtag(given string, rev int64, name string) error {
	if given != "" && given != etag(rev) {
		return status.Errorf(codes.FailedPrecondition, "The etag provided in the request (%s) does not match the current etag of [%s]: read it again and retry.", given, name)
	}
	return nil
}

// DeleteSecret deletes a secret and all its versions, after checking the
// etag when one is given.
func (s *Server) DeleteSecret(_ context.Context, req *secretmanagerpb.DeleteSecretRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.lookup(req.GetName())
	if err != nil {
		return nil, err
	}
	if err := checkEtag(req.GetEtag(), sec.rev, s.secretName(sec)); err != nil {
		return nil, err
	}
	i := s.find(sec.location, sec.id)
	s.secrets = slices.Delete(s.secrets, i, i+1)
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
	v := &version{
		state:     secretmanagerpb.SecretVersion_ENABLED,
		data:      slices.Clone(p.GetData()),
		clientCRC: p.DataCrc32C != nil,
		created:   s.now(),
		rev:       s.nextRev(),
	}
	if k := sec.meta.cmek.GetKmsKeyName(); k != "" {
		// The emulator has no KMS: every key has one version.
		v.kmsKey = k + "/cryptoKeyVersions/1"
	}
	sec.versions = append(sec.versions, v)
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
	now := s.now()
	if strings.TrimSpace(req.GetFilter()) == "" {
		resp.TotalSize = int32(len(sec.versions))
	}
	last := 0
	for n := start; n >= 1; n-- {
		if !filter.match(versionRecord{s.versionName(sec, n), sec.versions[n-1], now}) {
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
	if st := v.stateAt(s.now()); st != secretmanagerpb.SecretVersion_ENABLED {
		return nil, status.Errorf(codes.FailedPrecondition, "Secret Version [%s] is in %s state.", s.versionName(sec, n), st)
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

// DisableSecretVersion disables a version (a DISABLED one stays so, with a
// fresh etag).
func (s *Server) DisableSecretVersion(_ context.Context, req *secretmanagerpb.DisableSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	return s.transition(req.GetName(), req.GetEtag(), secretmanagerpb.SecretVersion_DISABLED)
}

// EnableSecretVersion enables a DISABLED version, cancelling a scheduled
// destruction (an ENABLED one stays so, with a fresh etag).
func (s *Server) EnableSecretVersion(_ context.Context, req *secretmanagerpb.EnableSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	return s.transition(req.GetName(), req.GetEtag(), secretmanagerpb.SecretVersion_ENABLED)
}

// DestroySecretVersion destroys a version: at once (its data is dropped), or,
// when the secret has a version_destroy_ttl, by disabling it with a
// scheduled_destroy_time that far ahead.
func (s *Server) DestroySecretVersion(_ context.Context, req *secretmanagerpb.DestroySecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	return s.transition(req.GetName(), req.GetEtag(), secretmanagerpb.SecretVersion_DESTROYED)
}

// transition moves a version to state to, after checking the etag when one
// is given. Every accepted call refreshes the etag, a no-op included, as GSM
// does. A DESTROYED version can go nowhere: FAILED_PRECONDITION.
func (s *Server) transition(name, tag string, to secretmanagerpb.SecretVersion_State) (*secretmanagerpb.SecretVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, n, v, err := s.lookupVersion(name)
	if err != nil {
		return nil, err
	}
	now := s.now()
	v.settle(now)
	if v.state == secretmanagerpb.SecretVersion_DESTROYED {
		return nil, status.Errorf(codes.FailedPrecondition, "Secret Version [%s] is in DESTROYED state.", s.versionName(sec, n))
	}
	if err := checkEtag(tag, v.rev, s.versionName(sec, n)); err != nil {
		return nil, err
	}
	switch {
	case to == secretmanagerpb.SecretVersion_DESTROYED && sec.meta.destroyTTL > 0:
		if v.scheduled.IsZero() {
			v.scheduled = now.Add(sec.meta.destroyTTL)
		}
		v.state = secretmanagerpb.SecretVersion_DISABLED
	case to == secretmanagerpb.SecretVersion_DESTROYED:
		v.state, v.data, v.destroyed, v.scheduled = to, nil, now, time.Time{}
	case to == secretmanagerpb.SecretVersion_ENABLED:
		v.state, v.scheduled = to, time.Time{}
	default:
		v.state = to
	}
	v.rev = s.nextRev()
	return s.versionProto(sec, n), nil
}
