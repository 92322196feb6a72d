package emulator_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/iam/apiv1/iampb"
	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/genproto/googleapis/cloud/location"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

// fakeClock is the emulator's injected clock: tests move time on by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// transport names one way the official Go client reaches the emulator.
type transport struct {
	name string
	dial func(t testing.TB, addr string) *secretmanager.Client
}

var transports = []transport{
	{"grpc", dial},
	{"rest", dialREST},
}

// dialREST returns the official client's REST transport talking to addr
// over plain HTTP/1.1, with its retries off.
func dialREST(t testing.TB, addr string) *secretmanager.Client {
	t.Helper()
	c, err := secretmanager.NewRESTClient(context.Background(),
		option.WithEndpoint("http://"+addr),
		option.WithoutAuthentication(),
	)
	if err != nil {
		t.Fatal(err)
	}
	*c.CallOptions = secretmanager.CallOptions{}
	t.Cleanup(func() { c.Close() })
	return c
}

// codeOf reads the code of an error as each transport carries it: the gRPC
// status, or the "status" of Google's JSON error body (the REST client maps
// only the HTTP status, which merges FAILED_PRECONDITION into
// INVALID_ARGUMENT, so the body is the faithful answer).
func codeOf(t testing.TB, err error) codes.Code {
	t.Helper()
	if err == nil {
		return codes.OK
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		var body struct {
			Error struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
				Status  string `json:"status"`
			} `json:"error"`
		}
		if jerr := json.Unmarshal([]byte(ge.Body), &body); jerr != nil {
			t.Fatalf("REST error body is not Google's JSON error shape: %v: %q", jerr, ge.Body)
		}
		if body.Error.Code != ge.Code || body.Error.Message == "" {
			t.Fatalf("REST error body %q disagrees with HTTP status %d or has no message", ge.Body, ge.Code)
		}
		if c, ok := code.Code_value[body.Error.Status]; ok {
			return codes.Code(c)
		}
		t.Fatalf("REST error status %q is not a google.rpc.Code name", body.Error.Status)
	}
	return status.Code(err)
}

// conformance is the state a run of the table shares between steps.
type conformance struct {
	c     *secretmanager.Client
	clock *fakeClock
	ctx   context.Context
	last  proto.Message // the previous step's answer
	etags map[string]string
}

// step is one call and its expected answer: the code, and for OK answers
// the fields check looks at.
type step struct {
	name  string
	call  func(k *conformance) (proto.Message, error)
	code  codes.Code
	check func(k *conformance, m proto.Message) error
}

const (
	cp   = "projects/conf"
	csec = cp + "/secrets/S"
	creg = cp + "/locations/us-east1/secrets/R"
	ckey = "projects/conf/locations/us-east1/keyRings/ring/cryptoKeys/key"
)

func secretOf(m proto.Message) *secretmanagerpb.Secret { return m.(*secretmanagerpb.Secret) }
func versionOf(m proto.Message) *secretmanagerpb.SecretVersion {
	return m.(*secretmanagerpb.SecretVersion)
}

func want(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}

func update(sec *secretmanagerpb.Secret, paths ...string) func(k *conformance) (proto.Message, error) {
	return func(k *conformance) (proto.Message, error) {
		return k.c.UpdateSecret(k.ctx, &secretmanagerpb.UpdateSecretRequest{Secret: sec, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
	}
}

func getVersion(name string) func(k *conformance) (proto.Message, error) {
	return func(k *conformance) (proto.Message, error) {
		return k.c.GetSecretVersion(k.ctx, &secretmanagerpb.GetSecretVersionRequest{Name: name})
	}
}

func access(name string) func(k *conformance) (proto.Message, error) {
	return func(k *conformance) (proto.Message, error) {
		return k.c.AccessSecretVersion(k.ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: name})
	}
}

// drain reads an iterator to its end.
func drain[T any](next func() (T, error)) ([]T, error) {
	var out []T
	for {
		x, err := next()
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
}

// listSecrets returns what a filter lists, as one ListSecretsResponse.
func listSecrets(filter string) func(k *conformance) (proto.Message, error) {
	return func(k *conformance) (proto.Message, error) {
		s, err := drain(k.c.ListSecrets(k.ctx, &secretmanagerpb.ListSecretsRequest{Parent: cp, Filter: filter}).Next)
		return &secretmanagerpb.ListSecretsResponse{Secrets: s}, err
	}
}

func listVersions(filter string) func(k *conformance) (proto.Message, error) {
	return func(k *conformance) (proto.Message, error) {
		v, err := drain(k.c.ListSecretVersions(k.ctx, &secretmanagerpb.ListSecretVersionsRequest{Parent: csec, Filter: filter}).Next)
		return &secretmanagerpb.ListSecretVersionsResponse{Versions: v}, err
	}
}

func secretIDs(m proto.Message) []string {
	var ids []string
	for _, s := range m.(*secretmanagerpb.ListSecretsResponse).GetSecrets() {
		ids = append(ids, s.GetName()[strings.LastIndex(s.GetName(), "/")+1:])
	}
	return ids
}

func versionIDs(m proto.Message) []string {
	var ids []string
	for _, v := range m.(*secretmanagerpb.ListSecretVersionsResponse).GetVersions() {
		ids = append(ids, v.GetName()[strings.LastIndex(v.GetName(), "/")+1:])
	}
	return ids
}

func listed(ids ...string) func(k *conformance, m proto.Message) error {
	return func(k *conformance, m proto.Message) error {
		got := secretIDs(m)
		return want(slices.Equal(got, ids), "listed %v, want %v", got, ids)
	}
}

// remember stores the answer's etag under key.
func remember(key string) func(k *conformance, m proto.Message) error {
	return func(k *conformance, m proto.Message) error {
		e := m.(interface{ GetEtag() string }).GetEtag()
		if e == "" {
			return errors.New("answer has no etag")
		}
		if old, ok := k.etags[key]; ok && old == e {
			return fmt.Errorf("etag %s did not change", e)
		}
		k.etags[key] = e
		return nil
	}
}

func conformanceTable() []step {
	rotation := &secretmanagerpb.Rotation{NextRotationTime: timestamppb.New(t0.Add(time.Hour)), RotationPeriod: durationpb.New(2 * time.Hour)}
	topics := []*secretmanagerpb.Topic{{Name: "projects/conf/topics/rotations"}}
	auto := &secretmanagerpb.Replication{Replication: &secretmanagerpb.Replication_Automatic_{Automatic: &secretmanagerpb.Replication_Automatic{}}}
	create := func(id string, sec *secretmanagerpb.Secret) func(k *conformance) (proto.Message, error) {
		return func(k *conformance) (proto.Message, error) {
			parent := cp
			if strings.HasPrefix(id, "locations/") {
				parent, id = cp+"/"+id[:strings.LastIndex(id, "/")], id[strings.LastIndex(id, "/")+1:]
			}
			return k.c.CreateSecret(k.ctx, &secretmanagerpb.CreateSecretRequest{Parent: parent, SecretId: id, Secret: sec})
		}
	}
	add := func(name, data string) func(k *conformance) (proto.Message, error) {
		return func(k *conformance) (proto.Message, error) {
			return k.c.AddSecretVersion(k.ctx, &secretmanagerpb.AddSecretVersionRequest{Parent: name, Payload: &secretmanagerpb.SecretPayload{Data: []byte(data)}})
		}
	}
	withEtag := func(key string, do func(k *conformance, etag string) (proto.Message, error)) func(k *conformance) (proto.Message, error) {
		return func(k *conformance) (proto.Message, error) { return do(k, k.etags[key]) }
	}
	disable := func(name, key string) func(k *conformance) (proto.Message, error) {
		return withEtag(key, func(k *conformance, e string) (proto.Message, error) {
			return k.c.DisableSecretVersion(k.ctx, &secretmanagerpb.DisableSecretVersionRequest{Name: name, Etag: e})
		})
	}
	destroy := func(name, key string) func(k *conformance) (proto.Message, error) {
		return withEtag(key, func(k *conformance, e string) (proto.Message, error) {
			return k.c.DestroySecretVersion(k.ctx, &secretmanagerpb.DestroySecretVersionRequest{Name: name, Etag: e})
		})
	}
	enable := func(name, key string) func(k *conformance) (proto.Message, error) {
		return withEtag(key, func(k *conformance, e string) (proto.Message, error) {
			return k.c.EnableSecretVersion(k.ctx, &secretmanagerpb.EnableSecretVersionRequest{Name: name, Etag: e})
		})
	}
	advance := func(d time.Duration, then func(k *conformance) (proto.Message, error)) func(k *conformance) (proto.Message, error) {
		return func(k *conformance) (proto.Message, error) { k.clock.Advance(d); return then(k) }
	}
	state := func(s secretmanagerpb.SecretVersion_State) func(k *conformance, m proto.Message) error {
		return func(k *conformance, m proto.Message) error {
			return want(versionOf(m).GetState() == s, "state %v, want %v", versionOf(m).GetState(), s)
		}
	}
	const day = 24 * time.Hour

	return []step{
		{name: "create with every field", code: codes.OK,
			call: create("S", &secretmanagerpb.Secret{
				Replication: auto, Labels: map[string]string{"connector": "source-s3"},
				Annotations: map[string]string{"owner.team": "ci", "note": "free text: any value"},
				Topics:      topics, Rotation: rotation, VersionDestroyTtl: durationpb.New(2 * day),
				Expiration: &secretmanagerpb.Secret_Ttl{Ttl: durationpb.New(10 * day)},
			}),
			check: func(k *conformance, m proto.Message) error {
				s := secretOf(m)
				return errors.Join(
					want(s.GetName() == csec, "name %q", s.GetName()),
					want(s.GetAnnotations()["owner.team"] == "ci" && len(s.GetAnnotations()) == 2, "annotations %v", s.GetAnnotations()),
					want(len(s.GetTopics()) == 1 && s.GetTopics()[0].GetName() == topics[0].GetName(), "topics %v", s.GetTopics()),
					want(s.GetRotation().GetNextRotationTime().AsTime().Equal(t0.Add(time.Hour)) && s.GetRotation().GetRotationPeriod().AsDuration() == 2*time.Hour, "rotation %v", s.GetRotation()),
					want(s.GetVersionDestroyTtl().AsDuration() == 2*day, "version_destroy_ttl %v", s.GetVersionDestroyTtl()),
					want(s.GetExpireTime().AsTime().Equal(t0.Add(10*day)), "ttl became expire_time %v, want %v", s.GetExpireTime().AsTime(), t0.Add(10*day)),
					want(s.GetCreateTime().AsTime().Equal(t0), "create_time %v", s.GetCreateTime().AsTime()),
					want(s.GetReplication().GetAutomatic() != nil, "replication %v", s.GetReplication()),
					remember("S")(k, m),
				)
			}},
		{name: "create again", code: codes.AlreadyExists, call: create("S", &secretmanagerpb.Secret{Replication: auto})},
		{name: "create without replication", code: codes.InvalidArgument, call: create("X", &secretmanagerpb.Secret{})},
		{name: "rotation needs topics", code: codes.InvalidArgument, call: create("X", &secretmanagerpb.Secret{Replication: auto, Rotation: rotation})},
		{name: "rotation too soon", code: codes.InvalidArgument, call: create("X", &secretmanagerpb.Secret{Replication: auto, Topics: topics,
			Rotation: &secretmanagerpb.Rotation{NextRotationTime: timestamppb.New(t0.Add(time.Minute))}})},
		{name: "topic format", code: codes.InvalidArgument, call: create("X", &secretmanagerpb.Secret{Replication: auto, Topics: []*secretmanagerpb.Topic{{Name: "rotations"}}})},
		{name: "annotation key", code: codes.InvalidArgument, call: create("X", &secretmanagerpb.Secret{Replication: auto, Annotations: map[string]string{"-bad": "v"}})},
		{name: "expire_time in the past", code: codes.InvalidArgument, call: create("X", &secretmanagerpb.Secret{Replication: auto,
			Expiration: &secretmanagerpb.Secret_ExpireTime{ExpireTime: timestamppb.New(t0.Add(-time.Second))}})},
		{name: "version_destroy_ttl out of range", code: codes.InvalidArgument, call: create("X", &secretmanagerpb.Secret{Replication: auto, VersionDestroyTtl: durationpb.New(time.Minute)})},
		{name: "aliases need versions", code: codes.InvalidArgument, call: create("X", &secretmanagerpb.Secret{Replication: auto, VersionAliases: map[string]int64{"current": 1}})},
		{name: "cmek on a global secret", code: codes.InvalidArgument, call: create("X", &secretmanagerpb.Secret{Replication: auto,
			CustomerManagedEncryption: &secretmanagerpb.CustomerManagedEncryption{KmsKeyName: ckey}})},
		{name: "cmek key in another region", code: codes.InvalidArgument, call: create("locations/us-west1/R", &secretmanagerpb.Secret{
			CustomerManagedEncryption: &secretmanagerpb.CustomerManagedEncryption{KmsKeyName: ckey}})},
		{name: "typed secret refused", code: codes.InvalidArgument, call: create("X", &secretmanagerpb.Secret{Replication: auto, SecretType: secretmanagerpb.Secret_ACCESS_KEY})},
		{name: "regional secret with cmek", code: codes.OK, call: create("locations/us-east1/R", &secretmanagerpb.Secret{
			CustomerManagedEncryption: &secretmanagerpb.CustomerManagedEncryption{KmsKeyName: ckey}}),
			check: func(k *conformance, m proto.Message) error {
				return want(secretOf(m).GetCustomerManagedEncryption().GetKmsKeyName() == ckey, "cmek %v", secretOf(m).GetCustomerManagedEncryption())
			}},
		{name: "regional version records its key", code: codes.OK, call: add(creg, "r1"), check: func(k *conformance, m proto.Message) error {
			return want(versionOf(m).GetCustomerManagedEncryption().GetKmsKeyVersionName() == ckey+"/cryptoKeyVersions/1", "cmek status %v", versionOf(m).GetCustomerManagedEncryption())
		}},
		{name: "add v1", code: codes.OK, call: add(csec, "one"), check: remember("v1")},
		{name: "add v2", code: codes.OK, call: add(csec, "two")},
		{name: "update with a stale etag", code: codes.FailedPrecondition,
			call: update(&secretmanagerpb.Secret{Name: csec, Etag: `"stale"`, Labels: map[string]string{"a": "b"}}, "labels")},
		{name: "update an unknown path", code: codes.InvalidArgument, call: update(&secretmanagerpb.Secret{Name: csec}, "bogus")},
		{name: "update an immutable path", code: codes.InvalidArgument, call: update(&secretmanagerpb.Secret{Name: csec}, "replication")},
		{name: "alias a version", code: codes.OK,
			call: withEtag("S", func(k *conformance, e string) (proto.Message, error) {
				return update(&secretmanagerpb.Secret{Name: csec, Etag: e, VersionAliases: map[string]int64{"current": 2, "previous": 1}}, "version_aliases")(k)
			}),
			check: func(k *conformance, m proto.Message) error {
				return errors.Join(want(secretOf(m).GetVersionAliases()["current"] == 2, "aliases %v", secretOf(m).GetVersionAliases()), remember("S")(k, m))
			}},
		{name: "alias to a missing version", code: codes.InvalidArgument, call: update(&secretmanagerpb.Secret{Name: csec, VersionAliases: map[string]int64{"next": 9}}, "version_aliases")},
		{name: "get by alias", code: codes.OK, call: getVersion(csec + "/versions/current"), check: func(k *conformance, m proto.Message) error {
			return want(versionOf(m).GetName() == csec+"/versions/2", "name %q", versionOf(m).GetName())
		}},
		{name: "access by alias", code: codes.OK, call: access(csec + "/versions/previous"), check: func(k *conformance, m proto.Message) error {
			r := m.(*secretmanagerpb.AccessSecretVersionResponse)
			return want(string(r.GetPayload().GetData()) == "one" && r.GetName() == csec+"/versions/1", "access by alias gave %q", r.GetName())
		}},
		{name: "unknown alias", code: codes.NotFound, call: getVersion(csec + "/versions/nope")},
		{name: "update every mutable path", code: codes.OK,
			call: update(&secretmanagerpb.Secret{Name: csec, Labels: map[string]string{"connector": "source-s3", "filename": "f"},
				Annotations: map[string]string{"owner.team": "ci2"}, Topics: topics, Expiration: &secretmanagerpb.Secret_Ttl{Ttl: durationpb.New(20 * day)},
				Rotation:          &secretmanagerpb.Rotation{NextRotationTime: timestamppb.New(t0.Add(3 * time.Hour))},
				VersionDestroyTtl: durationpb.New(3 * day), VersionAliases: map[string]int64{"current": 2, "previous": 1}},
				"labels", "annotations", "topics", "ttl", "rotation.next_rotation_time", "version_destroy_ttl", "version_aliases"),
			check: func(k *conformance, m proto.Message) error {
				s := secretOf(m)
				return errors.Join(
					want(s.GetLabels()["filename"] == "f" && s.GetAnnotations()["owner.team"] == "ci2", "labels %v annotations %v", s.GetLabels(), s.GetAnnotations()),
					want(s.GetExpireTime().AsTime().Equal(t0.Add(20*day)), "expire_time %v", s.GetExpireTime().AsTime()),
					want(s.GetRotation().GetNextRotationTime().AsTime().Equal(t0.Add(3*time.Hour)) && s.GetRotation().GetRotationPeriod().AsDuration() == 2*time.Hour,
						"rotation.next_rotation_time alone changed? %v", s.GetRotation()),
					want(s.GetVersionDestroyTtl().AsDuration() == 3*day, "version_destroy_ttl %v", s.GetVersionDestroyTtl()),
					remember("S")(k, m),
				)
			}},
		{name: "disable with a stale etag", code: codes.FailedPrecondition, call: func(k *conformance) (proto.Message, error) {
			return k.c.DisableSecretVersion(k.ctx, &secretmanagerpb.DisableSecretVersionRequest{Name: csec + "/versions/1", Etag: `"0"`})
		}},
		{name: "disable v1", code: codes.OK, call: disable(csec+"/versions/1", "v1"), check: func(k *conformance, m proto.Message) error {
			return errors.Join(state(secretmanagerpb.SecretVersion_DISABLED)(k, m), remember("v1")(k, m))
		}},
		{name: "disable v1 again refreshes the etag", code: codes.OK, call: disable(csec+"/versions/1", "v1"), check: remember("v1")},
		{name: "enable with the etag before the no-op", code: codes.FailedPrecondition, call: func(k *conformance) (proto.Message, error) {
			return k.c.EnableSecretVersion(k.ctx, &secretmanagerpb.EnableSecretVersionRequest{Name: csec + "/versions/1", Etag: `"1"`})
		}},
		{name: "destroy with a TTL schedules it", code: codes.OK, call: destroy(csec+"/versions/1", "v1"), check: func(k *conformance, m proto.Message) error {
			v := versionOf(m)
			return errors.Join(state(secretmanagerpb.SecretVersion_DISABLED)(k, m),
				want(v.GetScheduledDestroyTime().AsTime().Equal(t0.Add(3*day)), "scheduled_destroy_time %v", v.GetScheduledDestroyTime()),
				want(v.GetDestroyTime() == nil, "destroy_time set before the TTL passed"), remember("v1")(k, m))
		}},
		{name: "a scheduled version cannot be read", code: codes.FailedPrecondition, call: access(csec + "/versions/1")},
		{name: "filter composite state", code: codes.OK, call: listVersions("state:(DISABLED OR DESTROYED)"), check: func(k *conformance, m proto.Message) error {
			return want(slices.Equal(versionIDs(m), []string{"1"}), "versions %v", versionIDs(m))
		}},
		{name: "filter scheduled_destroy_time", code: codes.OK, call: listVersions(fmt.Sprintf("scheduled_destroy_time>=%q", t0.Add(3*day).Format(time.RFC3339))), check: func(k *conformance, m proto.Message) error {
			return want(slices.Equal(versionIDs(m), []string{"1"}), "versions %v", versionIDs(m))
		}},
		{name: "after the TTL it is destroyed", code: codes.OK, call: advance(3*day+time.Second, getVersion(csec+"/versions/1")), check: func(k *conformance, m proto.Message) error {
			v := versionOf(m)
			return errors.Join(state(secretmanagerpb.SecretVersion_DESTROYED)(k, m),
				want(v.GetDestroyTime().AsTime().Equal(t0.Add(3*day)), "destroy_time %v", v.GetDestroyTime()),
				want(v.GetScheduledDestroyTime() == nil, "scheduled_destroy_time still set"))
		}},
		{name: "a destroyed version cannot be enabled", code: codes.FailedPrecondition, call: enable(csec+"/versions/1", "v1")},
		{name: "an alias cannot be set on a destroyed version", code: codes.FailedPrecondition,
			call: update(&secretmanagerpb.Secret{Name: csec, VersionAliases: map[string]int64{"gone": 1}}, "version_aliases")},
		{name: "an older alias on it does not block other updates", code: codes.OK,
			call: update(&secretmanagerpb.Secret{Name: csec, Labels: map[string]string{"connector": "source-s3"}}, "labels"),
			check: func(k *conformance, m proto.Message) error {
				return want(secretOf(m).GetVersionAliases()["previous"] == 1, "aliases %v", secretOf(m).GetVersionAliases())
			}},
		{name: "regional: a new key and an expiry", code: codes.OK,
			call: update(&secretmanagerpb.Secret{Name: creg, CustomerManagedEncryption: &secretmanagerpb.CustomerManagedEncryption{KmsKeyName: ckey + "2"},
				Expiration: &secretmanagerpb.Secret_ExpireTime{ExpireTime: timestamppb.New(t0.Add(30 * day))}}, "customer_managed_encryption", "expire_time"),
			check: func(k *conformance, m proto.Message) error {
				s := secretOf(m)
				return want(s.GetCustomerManagedEncryption().GetKmsKeyName() == ckey+"2" && s.GetExpireTime().AsTime().Equal(t0.Add(30*day)), "regional update %v", s)
			}},
		{name: "regional: the mask clears what the request leaves out", code: codes.OK,
			call: update(&secretmanagerpb.Secret{Name: creg}, "customer_managed_encryption", "expire_time"),
			check: func(k *conformance, m proto.Message) error {
				s := secretOf(m)
				return want(s.GetCustomerManagedEncryption() == nil && s.GetExpireTime() == nil, "cleared %v", s)
			}},
		{name: "filter with an unquoted time on versions", code: codes.OK, call: listVersions("create_time>=2026-03-01T12:00:00Z AND state:DESTROYED"),
			check: func(k *conformance, m proto.Message) error {
				return want(slices.Equal(versionIDs(m), []string{"1"}), "versions %v", versionIDs(m))
			}},
		{name: "filter create_time", code: codes.OK, call: listSecrets(fmt.Sprintf("create_time>%q", t0.Add(-time.Hour).Format(time.RFC3339))), check: listed("S")},
		{name: "filter create_time misses", code: codes.OK, call: listSecrets(fmt.Sprintf("create_time<%s", t0.Format(time.RFC3339))), check: listed()},
		{name: "filter inner wildcard", code: codes.OK, call: listSecrets("name:projects/*/secrets/S"), check: listed("S")},
		{name: "filter replication", code: codes.OK, call: listSecrets("replication.automatic:*"), check: listed("S")},
		{name: "filter annotations", code: codes.OK, call: listSecrets("annotations.owner.team=ci2 AND annotations:owner.team"), check: listed("S")},
		{name: "filter composite value", code: codes.OK, call: listSecrets("labels.connector:(source-x OR source-s3)"), check: listed("S")},
		{name: "filter comparison on text", code: codes.InvalidArgument, call: listSecrets("name>S")},
		{name: "filter unknown field", code: codes.InvalidArgument, call: listSecrets("colour:red")},
		{name: "empty IAM policy", code: codes.OK, call: func(k *conformance) (proto.Message, error) {
			return k.c.GetIamPolicy(k.ctx, &iampb.GetIamPolicyRequest{Resource: csec})
		}, check: func(k *conformance, m proto.Message) error {
			p := m.(*iampb.Policy)
			return want(len(p.GetBindings()) == 0 && len(p.GetEtag()) > 0, "default policy %v", p)
		}},
		{name: "everything granted without a policy", code: codes.OK, call: func(k *conformance) (proto.Message, error) {
			return k.c.TestIamPermissions(k.ctx, &iampb.TestIamPermissionsRequest{Resource: csec, Permissions: []string{"secretmanager.versions.access", "secretmanager.secrets.delete"}})
		}, check: func(k *conformance, m proto.Message) error {
			got := m.(*iampb.TestIamPermissionsResponse).GetPermissions()
			return want(len(got) == 2, "granted %v", got)
		}},
		{name: "set a policy", code: codes.OK, call: func(k *conformance) (proto.Message, error) {
			return k.c.SetIamPolicy(k.ctx, &iampb.SetIamPolicyRequest{Resource: csec, Policy: &iampb.Policy{Bindings: []*iampb.Binding{
				{Role: "roles/secretmanager.secretAccessor", Members: []string{"serviceAccount:ci@conf.iam.gserviceaccount.com"}},
			}}})
		}, check: func(k *conformance, m proto.Message) error {
			k.etags["policy"] = string(m.(*iampb.Policy).GetEtag())
			return want(len(m.(*iampb.Policy).GetBindings()) == 1, "policy %v", m)
		}},
		{name: "set a policy with a stale etag", code: codes.Aborted, call: func(k *conformance) (proto.Message, error) {
			return k.c.SetIamPolicy(k.ctx, &iampb.SetIamPolicyRequest{Resource: csec, Policy: &iampb.Policy{Etag: []byte("old")}})
		}},
		{name: "get the policy back", code: codes.OK, call: func(k *conformance) (proto.Message, error) {
			return k.c.GetIamPolicy(k.ctx, &iampb.GetIamPolicyRequest{Resource: csec})
		}, check: func(k *conformance, m proto.Message) error {
			p := m.(*iampb.Policy)
			return want(string(p.GetEtag()) == k.etags["policy"] && p.GetBindings()[0].GetRole() == "roles/secretmanager.secretAccessor", "policy %v", p)
		}},
		{name: "test permissions as the bound caller", code: codes.OK, call: func(k *conformance) (proto.Message, error) {
			ctx := metadata.AppendToOutgoingContext(k.ctx, emulator.CallerHeader, "serviceAccount:ci@conf.iam.gserviceaccount.com")
			return k.c.TestIamPermissions(ctx, &iampb.TestIamPermissionsRequest{Resource: csec, Permissions: []string{"secretmanager.versions.access", "secretmanager.secrets.delete"}})
		}, check: func(k *conformance, m proto.Message) error {
			got := m.(*iampb.TestIamPermissionsResponse).GetPermissions()
			return want(slices.Equal(got, []string{"secretmanager.versions.access"}), "granted %v", got)
		}},
		{name: "test an unknown permission", code: codes.InvalidArgument, call: func(k *conformance) (proto.Message, error) {
			return k.c.TestIamPermissions(k.ctx, &iampb.TestIamPermissionsRequest{Resource: csec, Permissions: []string{"storage.objects.get"}})
		}},
		{name: "list locations", code: codes.OK, call: func(k *conformance) (proto.Message, error) {
			l, err := drain(k.c.ListLocations(k.ctx, &location.ListLocationsRequest{Name: cp}).Next)
			return &location.ListLocationsResponse{Locations: l}, err
		}, check: func(k *conformance, m proto.Message) error {
			var ids []string
			for _, l := range m.(*location.ListLocationsResponse).GetLocations() {
				ids = append(ids, l.GetLocationId())
			}
			return want(slices.Contains(ids, "us-east1") && slices.Contains(ids, "seed-region-1") && slices.IsSorted(ids), "locations %v", ids)
		}},
		{name: "get a location", code: codes.OK, call: func(k *conformance) (proto.Message, error) {
			return k.c.GetLocation(k.ctx, &location.GetLocationRequest{Name: cp + "/locations/us-central1"})
		}, check: func(k *conformance, m proto.Message) error {
			return want(m.(*location.Location).GetName() == cp+"/locations/us-central1", "location %v", m)
		}},
		{name: "get an unknown location", code: codes.NotFound, call: func(k *conformance) (proto.Message, error) {
			return k.c.GetLocation(k.ctx, &location.GetLocationRequest{Name: cp + "/locations/mars-north1"})
		}},
		{name: "delete with a stale etag", code: codes.FailedPrecondition, call: func(k *conformance) (proto.Message, error) {
			return nil, k.c.DeleteSecret(k.ctx, &secretmanagerpb.DeleteSecretRequest{Name: creg, Etag: `"0"`})
		}},
		{name: "delete", code: codes.OK, call: func(k *conformance) (proto.Message, error) {
			s, err := k.c.GetSecret(k.ctx, &secretmanagerpb.GetSecretRequest{Name: creg})
			if err != nil {
				return nil, err
			}
			return nil, k.c.DeleteSecret(k.ctx, &secretmanagerpb.DeleteSecretRequest{Name: creg, Etag: s.GetEtag()})
		}},
		{name: "deleted", code: codes.NotFound, call: func(k *conformance) (proto.Message, error) {
			return k.c.GetSecret(k.ctx, &secretmanagerpb.GetSecretRequest{Name: creg})
		}},
		{name: "an expired secret is gone", code: codes.NotFound, call: advance(20*day, func(k *conformance) (proto.Message, error) {
			return k.c.GetSecret(k.ctx, &secretmanagerpb.GetSecretRequest{Name: csec})
		})},
		{name: "and its ID is free again", code: codes.OK, call: create("S", &secretmanagerpb.Secret{Replication: auto})},
	}
}

// TestConformance runs one table of calls and expected answers through the
// official Go client over gRPC and over REST, each against its own emulator
// with an injected clock.
func TestConformance(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			clock := &fakeClock{now: t0}
			addr, _ := emulator.StartForTest(t, &emulator.Seed{Project: "conf", Locations: []string{"seed-region-1"}}, emulator.Options{Now: clock.Now})
			k := &conformance{c: tr.dial(t, addr), clock: clock, ctx: context.Background(), etags: map[string]string{}}
			for i, st := range conformanceTable() {
				m, err := st.call(k)
				if got := codeOf(t, err); got != st.code {
					t.Fatalf("step %d %q: code %v (%v), want %v", i, st.name, got, err, st.code)
				}
				if st.check != nil {
					if err := st.check(k, m); err != nil {
						t.Fatalf("step %d %q: %v", i, st.name, err)
					}
				}
				k.last = m
			}
		})
	}
}
