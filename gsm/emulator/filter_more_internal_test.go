package emulator

import (
	"strings"
	"testing"
)

// The filter forms issue 13 added: comparisons on times, wildcards anywhere
// in a value, composite values, annotations.* and replication.*.
func TestFilterAdditions(t *testing.T) {
	rec := fakeRecord{
		"name": "projects/p/secrets/SECRET_SOURCE-S3_CREDS", "labels.connector": "source-s3",
		"annotations.owner.team": "ci", "create_time": "2026-03-01T12:00:00Z",
		"replication.automatic": "", "topics.name": "projects/p/topics/t",
	}
	tests := []struct {
		filter string
		want   bool
	}{
		{"create_time>2026-01-01T00:00:00Z", true},
		{`create_time>"2026-03-01T12:00:00Z"`, false},
		{"create_time>=2026-03-01T12:00:00Z", true},
		{"create_time<=2026-03-01T12:00:00Z AND create_time>=2026-03-01T12:00:00Z", true},
		{"create_time=2026-03-01T13:00:00+01:00", true}, // the same instant
		{"create_time!=2026-03-01T12:00:00Z", false},
		{"create_time<2026-03-01T11:59:59.999Z", false},
		{"expire_time<2030-01-01T00:00:00Z", false}, // never expires: no time to compare
		{"expire_time!=2030-01-01T00:00:00Z", true},
		{"expire_time:*", false},
		{"create_time:*", true},
		{"name:SECRET_*_CREDS", true},
		{"name:SECRET_*_TOKEN", false},
		{"name:*S3*", true},
		{"name=projects/*/secrets/SECRET_*", true},
		{"name=*/SECRET_*_CREDS", true},
		{"name=*_CRED", false}, // = matches the whole value
		{"labels.connector=source-*", true},
		{"labels.connector:(source-x OR source-s3)", true},
		{"labels.connector:(source-x OR source-y)", false},
		{"labels.connector:(source AND s3)", true},
		{"labels.connector:(source s3)", true},
		{"labels.connector:(source AND (x OR s3))", true},
		{"labels.connector:(source AND (x OR y))", false},
		{"annotations.owner.team=ci", true},
		{"annotations:owner.team", true},
		{"annotations:nope", false},
		{"replication.automatic:*", true},
		{"replication.user_managed:*", false},
		{"topics.name:projects/p/topics/*", true},
		{"NOT create_time<2026-01-01T00:00:00Z AND name:S3", true},
	}
	for _, tt := range tests {
		checkMatch(t, tt.filter, secretSchema, rec, tt.want)
	}

	ver := fakeRecord{"name": "projects/p/secrets/S/versions/2", "state": "DISABLED", "create_time": "2026-03-01T12:00:00Z"}
	for filter, want := range map[string]bool{
		"state:(DISABLED OR DESTROYED)":       true,
		"state:(ENABLED OR DESTROYED)":        false,
		"state:(disabled)":                    true,
		"NOT state:(ENABLED OR DESTROYED)":    true,
		"create_time>2026-02-01T00:00:00Z":    true,
		"scheduled_destroy_time:*":            false,
		"state=DISABLED AND name:versions/*2": true,
	} {
		checkMatch(t, filter, versionSchema, ver, want)
	}
}

// A filter the emulator cannot evaluate is refused, never answered empty.
func TestFilterAdditionErrors(t *testing.T) {
	for filter, want := range map[string]string{
		"create_time>yesterday":           "not an RFC 3339 timestamp",
		"create_time:2026":                "':' only tests presence",
		"name>SECRET":                     `operator ">" at offset 4 is not supported on "name"`,
		"labels.connector<=a":             "not supported",
		"labels.connector:(a OR b":        "missing ')'",
		"labels.connector:(a OR)":         "missing value",
		"state:(ENABLED OR GONE)":         "not one of",
		"annotations=x":                   "annotations.KEY",
		"replication.automatic.nope:*":    `unknown field "replication.automatic.nope"`,
		"rotation.rotation_period>1h":     "unknown field",
		"labels.connector:" + deep(40):    "nests deeper",
		"create_time>2026-01-01T00:00:00": "not an RFC 3339 timestamp",
	} {
		schema := secretSchema
		if strings.HasPrefix(filter, "state") {
			schema = versionSchema
		}
		_, err := parseFilter(filter, schema)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", filter, err, want)
		}
	}
}

func deep(n int) string { return strings.Repeat("(", n) + "a" + strings.Repeat(")", n) }

// checkMatch parses filter and checks whether it matches rec.
func checkMatch(t *testing.T, filter string, schema filterSchema, rec filterRecord, want bool) {
	t.Helper()
	n, err := parseFilter(filter, schema)
	if err != nil {
		t.Errorf("%q: %v", filter, err)
		return
	}
	if got := n.match(rec); got != want {
		t.Errorf("%q matched %v, want %v", filter, got, want)
	}
}
