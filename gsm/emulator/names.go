package emulator

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ref is a parsed resource name: projects/P[/locations/L][/secrets/S[/versions/V]].
type ref struct {
	project, location, secret, version string
}

func (r ref) parent() string {
	if r.location != "" {
		return "projects/" + r.project + "/locations/" + r.location
	}
	return "projects/" + r.project
}

func (r ref) secretName() string { return r.parent() + "/secrets/" + r.secret }

// parseName splits a resource name and checks it has the expected depth:
// "parent", "secret" or "version".
func parseName(name, kind string) (ref, error) {
	var r ref
	parts := strings.Split(name, "/")
	bad := func() (ref, error) {
		var want string
		switch kind {
		case "parent":
			want = "projects/P or projects/P/locations/L"
		case "secret":
			want = "projects/P/secrets/S or projects/P/locations/L/secrets/S"
		default:
			want = "projects/P/secrets/S/versions/V or projects/P/locations/L/secrets/S/versions/V"
		}
		return ref{}, status.Errorf(codes.InvalidArgument, "%q is not a valid %s resource name: want %s", name, kind, want)
	}
	if len(parts) < 2 || parts[0] != "projects" || parts[1] == "" {
		return bad()
	}
	r.project = parts[1]
	parts = parts[2:]
	if len(parts) >= 2 && parts[0] == "locations" {
		if parts[1] == "" {
			return bad()
		}
		r.location = parts[1]
		parts = parts[2:]
	}
	switch kind {
	case "parent":
		if len(parts) != 0 {
			return bad()
		}
	case "secret":
		if len(parts) != 2 || parts[0] != "secrets" || parts[1] == "" {
			return bad()
		}
		r.secret = parts[1]
	case "version":
		if len(parts) != 4 || parts[0] != "secrets" || parts[1] == "" || parts[2] != "versions" || parts[3] == "" {
			return bad()
		}
		r.secret, r.version = parts[1], parts[3]
		if r.version != "latest" {
			if _, err := parseVersionNumber(r.version); err != nil && validateAlias(r.version) != nil {
				return ref{}, status.Errorf(codes.InvalidArgument, "%q: version %q is neither a version number, \"latest\" nor an alias", name, r.version)
			}
		}
	}
	return r, nil
}

func parseVersionNumber(s string) (int, error) {
	if s == "" || s[0] < '1' || s[0] > '9' || len(s) > 9 {
		return 0, fmt.Errorf("bad version %q", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad version %q", s)
	}
	return n, nil
}

// secretIDOf extracts the secret ID from a secret or version resource name
// (projects/P[/locations/L]/secrets/S[/...]), or "" when name has none. Used
// to match fault rules.
func secretIDOf(name string) string {
	parts := strings.Split(name, "/")
	if len(parts) < 2 || parts[0] != "projects" {
		return ""
	}
	parts = parts[2:]
	if len(parts) >= 2 && parts[0] == "locations" {
		parts = parts[2:]
	}
	if len(parts) >= 2 && parts[0] == "secrets" {
		return parts[1]
	}
	return ""
}

func parseState(s string) (secretmanagerpb.SecretVersion_State, error) {
	switch s {
	case "", "ENABLED":
		return secretmanagerpb.SecretVersion_ENABLED, nil
	case "DISABLED":
		return secretmanagerpb.SecretVersion_DISABLED, nil
	case "DESTROYED":
		return secretmanagerpb.SecretVersion_DESTROYED, nil
	}
	return 0, fmt.Errorf("state %q is not ENABLED, DISABLED or DESTROYED", s)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
