package emulator

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The Secret fields beyond labels and replication, with GSM's rules for each
// as the API's field comments state them (secretmanagerpb v1.24.0).
const (
	MaxAnnotationsSize = 16 * 1024 // bytes of all keys and values together
	MaxAliases         = 50
	MaxTopics          = 10
	minRotationLead    = 300 * time.Second
	minRotationPeriod  = time.Hour
	maxRotationSpan    = 3153600000 * time.Second // 100 years
	// GSM documents delayed destruction between 1 day and 1000 days.
	minDestroyTTL = 24 * time.Hour
	maxDestroyTTL = 1000 * 24 * time.Hour
)

// meta is the mutable policy of a secret, everything UpdateSecret can change
// besides labels.
type meta struct {
	annotations map[string]string
	expire      time.Time // zero: never expires
	aliases     map[string]int64
	topics      []string
	rotation    *secretmanagerpb.Rotation // nil: no rotation
	destroyTTL  time.Duration             // 0: destroy at once
	cmek        *secretmanagerpb.CustomerManagedEncryption
}

func (m meta) clone() meta {
	c := m
	c.annotations = maps.Clone(m.annotations)
	c.aliases = maps.Clone(m.aliases)
	c.topics = slices.Clone(m.topics)
	if m.rotation != nil {
		c.rotation = proto.Clone(m.rotation).(*secretmanagerpb.Rotation)
	}
	if m.cmek != nil {
		c.cmek = proto.Clone(m.cmek).(*secretmanagerpb.CustomerManagedEncryption)
	}
	return c
}

// mutablePaths are the update_mask paths UpdateSecret honours. The others
// (name, replication, create_time, etag, tags, secret_type) are immutable or
// output only, and refused.
var mutablePaths = []string{
	"labels", "annotations", "topics", "rotation", "rotation.next_rotation_time", "rotation.rotation_period",
	"expire_time", "ttl", "version_aliases", "version_destroy_ttl", "customer_managed_encryption",
}

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

// setField copies one update_mask path from in onto m; an absent field in
// in clears it, as a field mask means.
func setField(m *meta, path string, in *secretmanagerpb.Secret, now time.Time) error {
	switch path {
	case "annotations":
		m.annotations = maps.Clone(in.GetAnnotations())
	case "topics":
		m.topics = topicNames(in.GetTopics())
	case "rotation":
		m.rotation = cloneRotation(in.GetRotation())
	case "rotation.next_rotation_time", "rotation.rotation_period":
		r := cloneRotation(m.rotation)
		if r == nil {
			r = &secretmanagerpb.Rotation{}
		}
		if path == "rotation.next_rotation_time" {
			r.NextRotationTime = in.GetRotation().GetNextRotationTime()
		} else {
			r.RotationPeriod = in.GetRotation().GetRotationPeriod()
		}
		m.rotation = cloneRotation(r)
	case "expire_time", "ttl":
		exp, err := expiration(in, now, true)
		if err != nil {
			return err
		}
		m.expire = exp
	case "version_aliases":
		m.aliases = maps.Clone(in.GetVersionAliases())
	case "version_destroy_ttl":
		m.destroyTTL = 0
		if d := in.GetVersionDestroyTtl(); d != nil {
			if err := d.CheckValid(); err != nil {
				return invalid("version_destroy_ttl is not a valid duration: %v", err)
			}
			m.destroyTTL = d.AsDuration()
		}
	case "customer_managed_encryption":
		m.cmek = nil
		if c := in.GetCustomerManagedEncryption(); c != nil {
			m.cmek = proto.Clone(c).(*secretmanagerpb.CustomerManagedEncryption)
		}
	case "name", "replication", "create_time", "etag", "tags", "secret_type", "policy_member":
		return invalid("update_mask path %q names a field that cannot change after creation", path)
	default:
		return invalid("update_mask path %q is not a mutable Secret field: use one of %s", path, strings.Join(mutablePaths, ", "))
	}
	return nil
}

// metaFromCreate reads every policy field of a new secret.
func metaFromCreate(in *secretmanagerpb.Secret, now time.Time) (meta, error) {
	var m meta
	for _, p := range []string{"annotations", "topics", "rotation", "version_aliases", "version_destroy_ttl", "customer_managed_encryption"} {
		if err := setField(&m, p, in, now); err != nil {
			return meta{}, err
		}
	}
	exp, err := expiration(in, now, in.GetExpiration() != nil)
	if err != nil {
		return meta{}, err
	}
	m.expire = exp
	return m, nil
}

func cloneRotation(r *secretmanagerpb.Rotation) *secretmanagerpb.Rotation {
	if r == nil || r.GetNextRotationTime() == nil && r.GetRotationPeriod() == nil {
		return nil
	}
	return &secretmanagerpb.Rotation{NextRotationTime: r.GetNextRotationTime(), RotationPeriod: r.GetRotationPeriod()}
}

func topicNames(ts []*secretmanagerpb.Topic) []string {
	if len(ts) == 0 {
		return nil
	}
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.GetName()
	}
	return out
}

// expiration reads the expiration oneof: ttl becomes an expire_time from now,
// as GSM answers it; an expire_time must lie in the future. Without either,
// the secret never expires.
func expiration(in *secretmanagerpb.Secret, now time.Time, set bool) (time.Time, error) {
	if !set {
		return time.Time{}, nil
	}
	switch e := in.GetExpiration().(type) {
	case *secretmanagerpb.Secret_Ttl:
		if err := e.Ttl.CheckValid(); err != nil || e.Ttl.AsDuration() <= 0 {
			return time.Time{}, invalid("ttl %v is not a positive duration", e.Ttl.AsDuration())
		}
		return now.Add(e.Ttl.AsDuration()), nil
	case *secretmanagerpb.Secret_ExpireTime:
		if err := e.ExpireTime.CheckValid(); err != nil {
			return time.Time{}, invalid("expire_time is not a valid timestamp: %v", err)
		}
		t := e.ExpireTime.AsTime()
		if !t.After(now) {
			return time.Time{}, invalid("expire_time %s is not in the future (now is %s)", t.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
		return t, nil
	}
	return time.Time{}, nil
}

// fresh says which of a secret's fields a client is setting now: the rules
// that compare with the present (a rotation's lead time, an alias on a
// destroyed version) hold for those only, not for what was set earlier or
// comes from a seed written earlier.
type fresh struct{ rotation, aliases bool }

// check validates a secret's policy against GSM's rules.
func (m meta) check(sec *secret, now time.Time, f fresh) error {
	if err := validateAnnotations(m.annotations); err != nil {
		return invalid("invalid annotations: %v", err)
	}
	if len(m.topics) > MaxTopics {
		return invalid("%d topics, over the limit of %d", len(m.topics), MaxTopics)
	}
	for _, t := range m.topics {
		if err := validateTopic(t); err != nil {
			return invalid("invalid topic: %v", err)
		}
	}
	if err := m.checkRotation(now, f.rotation); err != nil {
		return err
	}
	if m.destroyTTL != 0 && (m.destroyTTL < minDestroyTTL || m.destroyTTL > maxDestroyTTL) {
		return invalid("version_destroy_ttl %v is outside GSM's range of 1 day to 1000 days", m.destroyTTL)
	}
	if err := checkAliases(m.aliases, sec, f.aliases); err != nil {
		return err
	}
	if m.cmek != nil {
		if sec.location == "" {
			return invalid("customer_managed_encryption is for regional secrets; a global secret sets it in replication.automatic or replication.user_managed.replicas")
		}
		if err := validateKMSKey(m.cmek.GetKmsKeyName(), sec.location); err != nil {
			return invalid("invalid customer_managed_encryption: %v", err)
		}
	}
	return nil
}

func (m meta) checkRotation(now time.Time, future bool) error {
	r := m.rotation
	if r == nil {
		return nil
	}
	if len(m.topics) == 0 {
		return invalid("rotation needs at least one topic to notify: set topics as well")
	}
	next := r.GetNextRotationTime()
	if next == nil {
		return invalid("rotation.next_rotation_time must be set (also when rotation_period is)")
	}
	if err := next.CheckValid(); err != nil {
		return invalid("rotation.next_rotation_time is not a valid timestamp: %v", err)
	}
	if future {
		if lead := next.AsTime().Sub(now); lead < minRotationLead || lead > maxRotationSpan {
			return invalid("rotation.next_rotation_time %s must be between 5 minutes and 100 years from now", next.AsTime().Format(time.RFC3339))
		}
	}
	if p := r.GetRotationPeriod(); p != nil {
		d := p.AsDuration()
		if err := p.CheckValid(); err != nil || p.GetNanos() != 0 || d < minRotationPeriod || d > maxRotationSpan {
			return invalid("rotation.rotation_period %v must be whole seconds between 1 hour and 100 years", d)
		}
	}
	return nil
}

// validateAnnotations applies GSM's rules: keys 1-63 characters and at most
// 128 bytes, starting and ending with a letter or digit, with letters,
// digits, '-', '_' and '.' between; keys and values together under 16 KiB.
func validateAnnotations(a map[string]string) error {
	size := 0
	for _, k := range sortedKeys(a) {
		size += len(k) + len(a[k])
		if k == "" || utf8.RuneCountInString(k) > 63 || len(k) > 128 {
			return fmt.Errorf("annotation key %.70q must be 1 to 63 characters", k)
		}
		for i := 0; i < len(k); i++ {
			c := k[i]
			alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
			edge := i == 0 || i == len(k)-1
			if !alnum && (edge || c != '-' && c != '_' && c != '.') {
				return fmt.Errorf("annotation key %q: letters and digits at both ends, and only letters, digits, '-', '_' and '.' between", k)
			}
		}
		if !utf8.ValidString(a[k]) {
			return fmt.Errorf("value of annotation %q is not valid UTF-8", k)
		}
	}
	if size >= MaxAnnotationsSize {
		return fmt.Errorf("annotation keys and values total %d bytes; GSM allows less than %d", size, MaxAnnotationsSize)
	}
	return nil
}

// validateTopic checks a Pub/Sub topic name, projects/P/topics/T, with
// Pub/Sub's topic ID rule: 3-255 characters starting with a letter, of
// letters, digits and -_.~+%, not starting with "goog".
func validateTopic(name string) error {
	parts := strings.Split(name, "/")
	if len(parts) != 4 || parts[0] != "projects" || parts[1] == "" || parts[2] != "topics" {
		return fmt.Errorf("%q is not a topic name of the form projects/PROJECT/topics/TOPIC", name)
	}
	id := parts[3]
	if len(id) < 3 || len(id) > 255 || !isLetter(id[0]) || strings.HasPrefix(id, "goog") {
		return fmt.Errorf("topic ID %q must be 3-255 characters, start with a letter and not with \"goog\"", id)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !isLetter(c) && !(c >= '0' && c <= '9') && !strings.ContainsRune("-_.~+%", rune(c)) {
			return fmt.Errorf("topic ID %q contains %q: only letters, digits and -_.~+%% are allowed", id, rune(c))
		}
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// validateAlias checks GSM's alias rule: up to 63 letters, digits, '-' and
// '_', starting with a letter, and neither "latest" nor "NEW".
func validateAlias(a string) error {
	if a == "" || len(a) > 63 || !isLetter(a[0]) || a == "latest" || a == "NEW" {
		return fmt.Errorf("alias %.70q must be 1-63 characters starting with a letter, and not \"latest\" or \"NEW\"", a)
	}
	for i := 0; i < len(a); i++ {
		if c := a[i]; !isLetter(c) && !(c >= '0' && c <= '9') && c != '-' && c != '_' {
			return fmt.Errorf("alias %q contains %q: only letters, digits, '-' and '_' are allowed", a, rune(c))
		}
	}
	return nil
}

// checkAliases validates version_aliases: each names a version that exists
// and, for aliases being set (set), is not destroyed.
func checkAliases(aliases map[string]int64, sec *secret, set bool) error {
	if len(aliases) > MaxAliases {
		return invalid("%d version aliases, over the limit of %d", len(aliases), MaxAliases)
	}
	for _, a := range sortedKeys(aliases) {
		if err := validateAlias(a); err != nil {
			return invalid("invalid version_aliases: %v", err)
		}
		n := aliases[a]
		if n < 1 || n > int64(len(sec.versions)) {
			return invalid("version alias %q points at version %d, which does not exist (the secret has %d versions)", a, n, len(sec.versions))
		}
		if set && sec.versions[n-1].state == secretmanagerpb.SecretVersion_DESTROYED {
			return status.Errorf(codes.FailedPrecondition, "version alias %q points at version %d, which is DESTROYED", a, n)
		}
	}
	return nil
}

// validateKMSKey checks a Cloud KMS key name,
// projects/P/locations/L/keyRings/R/cryptoKeys/K, whose location must be
// the one the data lives in ("global" for automatic replication).
func validateKMSKey(name, location string) error {
	p := strings.Split(name, "/")
	if len(p) != 8 || p[0] != "projects" || p[2] != "locations" || p[4] != "keyRings" || p[6] != "cryptoKeys" || slices.Contains(p, "") {
		return fmt.Errorf("kms_key_name %q is not of the form projects/P/locations/L/keyRings/R/cryptoKeys/K", name)
	}
	if p[3] != location {
		return fmt.Errorf("kms_key_name %q is in location %q; it must be in %q, where the data is kept", name, p[3], location)
	}
	return nil
}

// checkReplication validates a global secret's replication policy.
func checkReplication(rep *secretmanagerpb.Replication) error {
	switch r := rep.GetReplication().(type) {
	case *secretmanagerpb.Replication_Automatic_:
		if c := r.Automatic.GetCustomerManagedEncryption(); c != nil {
			if err := validateKMSKey(c.GetKmsKeyName(), "global"); err != nil {
				return invalid("invalid replication.automatic.customer_managed_encryption: %v", err)
			}
		}
	case *secretmanagerpb.Replication_UserManaged_:
		reps := r.UserManaged.GetReplicas()
		if len(reps) == 0 {
			return invalid("replication.user_managed needs at least one replica")
		}
		seen := map[string]bool{}
		for i, rp := range reps {
			loc := rp.GetLocation()
			if err := validateNameSegment("location", loc); err != nil {
				return invalid("replication.user_managed.replicas[%d]: %v", i, err)
			}
			if seen[loc] {
				return invalid("replication.user_managed.replicas[%d]: location %q is listed twice", i, loc)
			}
			seen[loc] = true
			if c := rp.GetCustomerManagedEncryption(); c != nil {
				if err := validateKMSKey(c.GetKmsKeyName(), loc); err != nil {
					return invalid("replication.user_managed.replicas[%d].customer_managed_encryption: %v", i, err)
				}
			}
		}
	}
	return nil
}

// fill writes m into the Secret proto a client sees.
func (m meta) fill(p *secretmanagerpb.Secret) {
	p.Annotations = maps.Clone(m.annotations)
	p.VersionAliases = maps.Clone(m.aliases)
	for _, t := range m.topics {
		p.Topics = append(p.Topics, &secretmanagerpb.Topic{Name: t})
	}
	if !m.expire.IsZero() {
		p.Expiration = &secretmanagerpb.Secret_ExpireTime{ExpireTime: timestamppb.New(m.expire)}
	}
	if m.rotation != nil {
		p.Rotation = cloneRotation(m.rotation)
	}
	if m.destroyTTL != 0 {
		p.VersionDestroyTtl = durationpb.New(m.destroyTTL)
	}
	if m.cmek != nil {
		p.CustomerManagedEncryption = proto.Clone(m.cmek).(*secretmanagerpb.CustomerManagedEncryption)
	}
}
