package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// The seed's secret fields beyond name, location, labels and payloads: their
// JSON form, checks, copies, and the way into and out of a running server.

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func ref0(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// protoField decodes one of the seed's message-valued fields, strictly.
func protoField(name string, raw json.RawMessage, m proto.Message) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if err := protojson.Unmarshal(raw, m); err != nil {
		return fmt.Errorf("%q is not a valid %s in the REST API's JSON form: %w", name, m.ProtoReflect().Descriptor().Name(), err)
	}
	return nil
}

func protoJSON(m proto.Message) (json.RawMessage, error) {
	if m == nil || !m.ProtoReflect().IsValid() {
		return nil, nil
	}
	return protojson.Marshal(m)
}

// into copies the JSON fields onto sec.
func (f seedFileMeta) into(sec *SeedSecret) error {
	sec.Annotations, sec.VersionAliases, sec.Topics, sec.Tags = f.Annotations, f.VersionAliases, f.Topics, f.Tags
	sec.CreateTime, sec.ExpireTime = deref(f.CreateTime), deref(f.ExpireTime)
	if f.VersionDestroyTTL != "" {
		d, err := time.ParseDuration(f.VersionDestroyTTL)
		if err != nil || d < 0 {
			return fmt.Errorf("\"version_destroy_ttl\" %q is not a duration such as \"86400s\"", f.VersionDestroyTTL)
		}
		sec.VersionDestroyTTL = d
	}
	for _, p := range []struct {
		name string
		raw  json.RawMessage
		set  func() proto.Message
	}{
		{"rotation", f.Rotation, func() proto.Message { sec.Rotation = &secretmanagerpb.Rotation{}; return sec.Rotation }},
		{"replication", f.Replication, func() proto.Message { sec.Replication = &secretmanagerpb.Replication{}; return sec.Replication }},
		{"customer_managed_encryption", f.CustomerManagedEncryption, func() proto.Message {
			sec.CustomerManagedEncryption = &secretmanagerpb.CustomerManagedEncryption{}
			return sec.CustomerManagedEncryption
		}},
		{"iam_policy", f.IAMPolicy, func() proto.Message { sec.IAMPolicy = &iampb.Policy{}; return sec.IAMPolicy }},
	} {
		if len(p.raw) == 0 || string(p.raw) == "null" {
			continue
		}
		if err := protoField(p.name, p.raw, p.set()); err != nil {
			return err
		}
	}
	return nil
}

// metaOut is the JSON form of sec's fields.
func metaOut(sec *SeedSecret) (seedFileMeta, error) {
	f := seedFileMeta{
		Annotations: sec.Annotations, VersionAliases: sec.VersionAliases, Topics: sec.Topics, Tags: sec.Tags,
		CreateTime: ref0(sec.CreateTime), ExpireTime: ref0(sec.ExpireTime),
	}
	if sec.VersionDestroyTTL != 0 {
		f.VersionDestroyTTL = strconv.FormatFloat(sec.VersionDestroyTTL.Seconds(), 'f', -1, 64) + "s"
	}
	var err error
	for _, p := range []struct {
		dst *json.RawMessage
		m   proto.Message
	}{
		{&f.Rotation, sec.Rotation}, {&f.Replication, sec.Replication},
		{&f.CustomerManagedEncryption, sec.CustomerManagedEncryption}, {&f.IAMPolicy, sec.IAMPolicy},
	} {
		if p.m == nil || isNilProto(p.m) {
			continue
		}
		if *p.dst, err = protoJSON(p.m); err != nil {
			return f, err
		}
	}
	return f, nil
}

func isNilProto(m proto.Message) bool { return !m.ProtoReflect().IsValid() }

// toServer builds the server's view of a seed secret (versions excluded);
// now stands in for missing create times.
func (sec *SeedSecret) toServer(now time.Time) *secret {
	out := &secret{
		id: sec.Name, location: sec.Location, labels: maps.Clone(sec.Labels), created: sec.CreateTime,
		tags: maps.Clone(sec.Tags),
		meta: meta{
			annotations: maps.Clone(sec.Annotations), expire: sec.ExpireTime, aliases: maps.Clone(sec.VersionAliases),
			topics: slices.Clone(sec.Topics), rotation: cloneRotation(sec.Rotation), destroyTTL: sec.VersionDestroyTTL,
		},
	}
	if out.created.IsZero() {
		out.created = now
	}
	if sec.CustomerManagedEncryption != nil {
		out.meta.cmek = proto.Clone(sec.CustomerManagedEncryption).(*secretmanagerpb.CustomerManagedEncryption)
	}
	switch {
	case sec.Replication != nil:
		out.replication = proto.Clone(sec.Replication).(*secretmanagerpb.Replication)
	case sec.Location == "":
		out.replication = automatic()
	}
	if sec.IAMPolicy != nil {
		out.policy = proto.Clone(sec.IAMPolicy).(*iampb.Policy)
	}
	return out
}

// fromServer is the seed form of a server secret (versions excluded).
func fromServer(sec *secret) SeedSecret {
	m := sec.meta.clone()
	ss := SeedSecret{
		Name: sec.id, Location: sec.location, Labels: maps.Clone(sec.labels), CreateTime: sec.created,
		Annotations: m.annotations, ExpireTime: m.expire, VersionAliases: m.aliases, Topics: m.topics,
		Rotation: m.rotation, VersionDestroyTTL: m.destroyTTL, CustomerManagedEncryption: m.cmek, Tags: maps.Clone(sec.tags),
	}
	// Plain automatic replication is what a seed gets by default: left out.
	if r := sec.replication; r != nil && (r.GetAutomatic() == nil || r.GetAutomatic().GetCustomerManagedEncryption() != nil) {
		ss.Replication = proto.Clone(r).(*secretmanagerpb.Replication)
	}
	if sec.policy != nil {
		ss.IAMPolicy = proto.Clone(sec.policy).(*iampb.Policy)
	}
	return ss
}

// cloneMeta deep-copies sec without its versions.
func (sec SeedSecret) cloneMeta() SeedSecret {
	c := fromServer(sec.toServer(sec.CreateTime))
	c.CreateTime = sec.CreateTime
	if sec.Replication == nil {
		c.Replication = nil
	}
	return c
}

// checkMeta applies GSM's rules to the fields beyond labels, except those
// that compare with the clock: a seed (or a dump) may be loaded long after
// it was written.
func (sec *SeedSecret) checkMeta() error {
	s := sec.toServer(time.Time{})
	for _, v := range sec.Versions {
		st, _ := parseState(v.State)
		s.versions = append(s.versions, &version{state: st})
	}
	if sec.Location != "" && sec.Replication != nil {
		return errors.New("\"replication\" must not be set for a regional secret")
	}
	for _, err := range []error{checkReplication(s.replication), s.meta.check(s, time.Time{}, fresh{}), policyErr(sec.IAMPolicy)} {
		if err != nil {
			return errors.New(status.Convert(err).Message())
		}
	}
	return nil
}

func policyErr(p *iampb.Policy) error {
	if p == nil {
		return nil
	}
	return checkPolicy(p)
}
