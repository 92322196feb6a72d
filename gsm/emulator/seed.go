package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
)

// Seed is the initial content of an emulator: one project and its secrets.
// Its JSON form (ParseSeed, Seed.MarshalJSON, Server.Dump) is documented in
// the README's emulator section:
//
//	{"project": "p", "validate": true, "locations": ["L", ...],
//	 "secrets": [{"name": "S", "labels": {...}, "location": "L",
//	  "annotations": {...}, "create_time": "RFC 3339", "expire_time": "RFC 3339",
//	  "version_aliases": {"A": N}, "topics": ["projects/P/topics/T"],
//	  "rotation": {"nextRotationTime": ..., "rotationPeriod": "3600s"},
//	  "version_destroy_ttl": "86400s", "replication": {...},
//	  "customer_managed_encryption": {"kmsKeyName": ...}, "tags": {...},
//	  "iam_policy": {"bindings": [...]},
//	  "versions": [{"data": "text" | "data_base64": "...",
//	  "state": "ENABLED|DISABLED|DESTROYED", "crc32c": N, "create_time": ...,
//	  "destroy_time": ..., "scheduled_destroy_time": ...,
//	  "kms_key_version_name": ...}]}]}
//
// rotation, replication, customer_managed_encryption and iam_policy are in
// the REST API's JSON form of the same messages.
type Seed struct {
	Project string
	// Validate, when set to false, loads secrets that GSM would refuse (bad
	// IDs, labels, oversize payloads), so tests can play a hostile server.
	// Names must still fit in a resource name and be unique. nil means true.
	Validate *bool
	Secrets  []SeedSecret
	// Locations are regions ListLocations reports besides DefaultLocations
	// and the regions of the secrets.
	Locations []string
}

// SeedSecret is one secret of a Seed.
type SeedSecret struct {
	Name     string // secret ID
	Labels   map[string]string
	Location string // "" = global; otherwise a regional secret
	Versions []SeedVersion

	Annotations    map[string]string
	CreateTime     time.Time // zero: when the server starts
	ExpireTime     time.Time // zero: never expires
	VersionAliases map[string]int64
	Topics         []string // projects/P/topics/T
	Rotation       *secretmanagerpb.Rotation
	// VersionDestroyTTL delays destruction: a destroyed version stays
	// DISABLED that long.
	VersionDestroyTTL time.Duration
	// Replication of a global secret; nil means automatic.
	Replication               *secretmanagerpb.Replication
	CustomerManagedEncryption *secretmanagerpb.CustomerManagedEncryption // regional secrets
	Tags                      map[string]string
	IAMPolicy                 *iampb.Policy
}

// SeedVersion is one version, oldest first in SeedSecret.Versions.
type SeedVersion struct {
	Data  []byte
	State string // "" (= ENABLED), "ENABLED", "DISABLED" or "DESTROYED"
	// CRC32C, when set, is served as payload.data_crc32c instead of the true
	// checksum, to test a client's integrity check.
	CRC32C *int64

	CreateTime           time.Time // zero: when the server starts
	DestroyTime          time.Time // of a DESTROYED version; zero: at start
	ScheduledDestroyTime time.Time // of a DISABLED version awaiting destruction
	KMSKeyVersion        string    // the CMEK key version that encrypted it
}

func (s *Seed) validating() bool { return s.Validate == nil || *s.Validate }

// JSON shapes of the seed file. Every object is decoded strictly.
type seedFile struct {
	Project   string            `json:"project"`
	Validate  *bool             `json:"validate,omitempty"`
	Locations []string          `json:"locations,omitempty"`
	Secrets   []json.RawMessage `json:"secrets"`
	// Calls is written by Server.Dump and ignored on load, so that a dump is
	// a valid seed.
	Calls map[string]int `json:"calls,omitempty"`
}

type seedFileSecret struct {
	Name     string            `json:"name"`
	Location string            `json:"location,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	seedFileMeta
	Versions []json.RawMessage `json:"versions"`
}

// seedFileMeta is the JSON form of a secret's fields beyond name, location
// and labels, shared by reading and writing.
type seedFileMeta struct {
	Annotations               map[string]string `json:"annotations,omitempty"`
	CreateTime                *time.Time        `json:"create_time,omitempty"`
	ExpireTime                *time.Time        `json:"expire_time,omitempty"`
	VersionAliases            map[string]int64  `json:"version_aliases,omitempty"`
	Topics                    []string          `json:"topics,omitempty"`
	Rotation                  json.RawMessage   `json:"rotation,omitempty"`
	VersionDestroyTTL         string            `json:"version_destroy_ttl,omitempty"`
	Replication               json.RawMessage   `json:"replication,omitempty"`
	CustomerManagedEncryption json.RawMessage   `json:"customer_managed_encryption,omitempty"`
	Tags                      map[string]string `json:"tags,omitempty"`
	IAMPolicy                 json.RawMessage   `json:"iam_policy,omitempty"`
}

// The times come first so that a dump keeps data, state and crc32c last, in
// the order earlier dumps had them.
type seedFileVersion struct {
	CreateTime           *time.Time `json:"create_time,omitempty"`
	DestroyTime          *time.Time `json:"destroy_time,omitempty"`
	ScheduledDestroyTime *time.Time `json:"scheduled_destroy_time,omitempty"`
	KMSKeyVersion        string     `json:"kms_key_version_name,omitempty"`
	Data                 *string    `json:"data,omitempty"`
	DataBase64           *string    `json:"data_base64,omitempty"`
	State                string     `json:"state,omitempty"`
	CRC32C               *int64     `json:"crc32c,omitempty"`
}

// LoadSeed reads a seed file (see ParseSeed).
func LoadSeed(path string) (*Seed, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	defer f.Close()
	s, err := ParseSeed(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseSeed reads a seed in its JSON form, strictly: unknown fields, a version
// with both "data" and "data_base64", bad base64, an unknown state, duplicate
// secrets, or (unless "validate" is false) an ID, label or payload GSM would
// refuse, is an error naming the entry by index and name. At most MaxSeedSize
// bytes are read. A top-level "calls" object (as written by Server.Dump) is
// accepted and ignored.
func ParseSeed(r io.Reader) (*Seed, error) { return parseSeed(r, MaxSeedSize) }

func parseSeed(r io.Reader, limit int64) (*Seed, error) {
	raw, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("seed: larger than the limit of %d bytes", limit)
	}
	var f seedFile
	if err := decodeStrict(raw, &f); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	seed := &Seed{Project: f.Project, Validate: f.Validate, Locations: f.Locations, Secrets: make([]SeedSecret, 0, len(f.Secrets))}
	for i, rawSecret := range f.Secrets {
		sec, err := parseSeedSecret(rawSecret)
		if err != nil {
			return nil, fmt.Errorf("seed: %s: %w", entryName(i, sec.Name), err)
		}
		seed.Secrets = append(seed.Secrets, sec)
	}
	if err := seed.check(); err != nil {
		return nil, err
	}
	return seed, nil
}

func parseSeedSecret(raw json.RawMessage) (SeedSecret, error) {
	var fs seedFileSecret
	if err := decodeStrict(raw, &fs); err != nil {
		// Name the entry if at least its name is readable.
		var named struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(raw, &named)
		return SeedSecret{Name: named.Name}, err
	}
	sec := SeedSecret{Name: fs.Name, Labels: fs.Labels, Location: fs.Location, Versions: make([]SeedVersion, 0, len(fs.Versions))}
	if err := fs.seedFileMeta.into(&sec); err != nil {
		return sec, err
	}
	for j, rawVersion := range fs.Versions {
		var fv seedFileVersion
		if err := decodeStrict(rawVersion, &fv); err != nil {
			return sec, fmt.Errorf("versions[%d]: %w", j, err)
		}
		v := SeedVersion{State: fv.State, CRC32C: fv.CRC32C, CreateTime: deref(fv.CreateTime), DestroyTime: deref(fv.DestroyTime),
			ScheduledDestroyTime: deref(fv.ScheduledDestroyTime), KMSKeyVersion: fv.KMSKeyVersion}
		switch {
		case fv.Data != nil && fv.DataBase64 != nil:
			return sec, fmt.Errorf("versions[%d]: give either \"data\" or \"data_base64\", not both", j)
		case fv.Data != nil:
			v.Data = []byte(*fv.Data)
		case fv.DataBase64 != nil:
			b, err := base64.StdEncoding.DecodeString(*fv.DataBase64)
			if err != nil {
				return sec, fmt.Errorf("versions[%d]: \"data_base64\" is not standard base64: %w", j, err)
			}
			v.Data = b
		}
		sec.Versions = append(sec.Versions, v)
	}
	return sec, nil
}

// decodeStrict decodes exactly one JSON value into v, refusing unknown fields
// and trailing data.
func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return errors.New("no JSON object")
		case errors.As(err, &te) && te.Field == "":
			return fmt.Errorf("JSON %s where the seed object belongs (see the seed format in the README)", te.Value)
		case errors.As(err, &te):
			return fmt.Errorf("field %q holds JSON %s, not a %s", te.Field, te.Value, jsonKind(te.Type.Kind().String()))
		}
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the JSON object")
	}
	return nil
}

// jsonKind names a Go kind as JSON calls it.
func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "struct", "map":
		return "JSON object"
	case "slice", "array":
		return "JSON array"
	case "bool":
		return "boolean"
	}
	return "number"
}

func entryName(i int, name string) string {
	if name == "" {
		return fmt.Sprintf("secrets[%d]", i)
	}
	return fmt.Sprintf("secrets[%d] %q", i, name)
}

func secretKey(location, id string) string { return location + "\x00" + id }

// check validates a seed, whether parsed or built in Go: the rules that keep
// resource names well formed and unique always apply, GSM's ID, label and
// payload rules unless Validate is false.
func (s *Seed) check() error {
	if err := validateNameSegment("project", s.Project); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	for i, l := range s.Locations {
		if err := validateNameSegment("location", l); err != nil {
			return fmt.Errorf("seed: locations[%d]: %w", i, err)
		}
	}
	strict := s.validating()
	seen := make(map[string]int, len(s.Secrets))
	for i, sec := range s.Secrets {
		if err := sec.check(strict); err != nil {
			return fmt.Errorf("seed: %s: %w", entryName(i, sec.Name), err)
		}
		k := secretKey(sec.Location, sec.Name)
		if j, dup := seen[k]; dup {
			return fmt.Errorf("seed: %s: duplicate of secrets[%d]", entryName(i, sec.Name), j)
		}
		seen[k] = i
	}
	return nil
}

func (sec *SeedSecret) check(strict bool) error {
	if sec.Name == "" {
		return errors.New("\"name\" is missing")
	}
	if strings.Contains(sec.Name, "/") {
		return fmt.Errorf("name %q contains /", sec.Name)
	}
	if sec.Location != "" {
		if err := validateNameSegment("location", sec.Location); err != nil {
			return err
		}
	}
	if strict {
		if err := validateSecretID(sec.Name); err != nil {
			return err
		}
		if err := validateLabels(sec.Labels); err != nil {
			return err
		}
		if err := sec.checkMeta(); err != nil {
			return err
		}
	}
	for j, v := range sec.Versions {
		if _, err := parseState(v.State); err != nil {
			return fmt.Errorf("versions[%d]: %w", j, err)
		}
		if strict && len(v.Data) > MaxPayloadSize {
			return fmt.Errorf("versions[%d]: payload is %d bytes, over GSM's limit of %d", j, len(v.Data), MaxPayloadSize)
		}
	}
	return nil
}

// clone returns a deep copy, so a server never shares memory with its seed
// (tests start several servers from one seed).
func (s *Seed) clone() *Seed {
	c := &Seed{Project: s.Project, Locations: slices.Clone(s.Locations), Secrets: make([]SeedSecret, len(s.Secrets))}
	if s.Validate != nil {
		v := *s.Validate
		c.Validate = &v
	}
	for i, sec := range s.Secrets {
		cs := sec.cloneMeta()
		cs.Versions = make([]SeedVersion, len(sec.Versions))
		for j, v := range sec.Versions {
			cv := v
			cv.Data = slices.Clone(v.Data)
			if v.CRC32C != nil {
				n := *v.CRC32C
				cv.CRC32C = &n
			}
			cs.Versions[j] = cv
		}
		c.Secrets[i] = cs
	}
	return c
}

// MarshalJSON writes the seed in its file format: "data" for valid UTF-8,
// "data_base64" otherwise, and every version's state.
func (s Seed) MarshalJSON() ([]byte, error) {
	f, err := s.file()
	if err != nil {
		return nil, err
	}
	return json.Marshal(f)
}

// seedOut mirrors seedFile for writing (secrets as values, not raw JSON).
type seedOut struct {
	Project   string          `json:"project"`
	Validate  *bool           `json:"validate,omitempty"`
	Locations []string        `json:"locations,omitempty"`
	Secrets   []seedOutSecret `json:"secrets"`
}

type seedOutSecret struct {
	Name     string            `json:"name"`
	Location string            `json:"location,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	seedFileMeta
	Versions []seedFileVersion `json:"versions"`
}

func (s *Seed) file() (*seedOut, error) {
	out := &seedOut{Project: s.Project, Validate: s.Validate, Locations: s.Locations, Secrets: make([]seedOutSecret, 0, len(s.Secrets))}
	for _, sec := range s.Secrets {
		m, err := metaOut(&sec)
		if err != nil {
			return nil, fmt.Errorf("secret %q: %w", sec.Name, err)
		}
		o := seedOutSecret{Name: sec.Name, Location: sec.Location, Labels: sec.Labels, seedFileMeta: m, Versions: make([]seedFileVersion, 0, len(sec.Versions))}
		for _, v := range sec.Versions {
			st, err := parseState(v.State)
			if err != nil {
				return nil, fmt.Errorf("secret %q: %w", sec.Name, err)
			}
			fv := seedFileVersion{State: st.String(), CRC32C: v.CRC32C, CreateTime: ref0(v.CreateTime), DestroyTime: ref0(v.DestroyTime),
				ScheduledDestroyTime: ref0(v.ScheduledDestroyTime), KMSKeyVersion: v.KMSKeyVersion}
			if st != secretmanagerpb.SecretVersion_DESTROYED {
				if utf8.Valid(v.Data) {
					d := string(v.Data)
					fv.Data = &d
				} else {
					d := base64.StdEncoding.EncodeToString(v.Data)
					fv.DataBase64 = &d
				}
			}
			o.Versions = append(o.Versions, fv)
		}
		out.Secrets = append(out.Secrets, o)
	}
	return out, nil
}
