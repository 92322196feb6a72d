package gsm

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrConfig marks a configuration problem the user must fix (exit code 2):
// no project, unreadable credentials, a bad endpoint.
var ErrConfig = errors.New("configuration error")

// DefaultTimeout is the documented bound on a whole run (--timeout).
const DefaultTimeout = 2 * time.Minute

// Settings is what the user gave, before resolution. Env is consulted for the
// documented fallbacks so tests can pass a fake environment.
type Settings struct {
	Project         string // --project
	Location        string // --location
	CredentialsFile string // --credentials-file
	Endpoint        string // --endpoint
	Getenv          func(string) string
}

// Config is a resolved connection: everything New needs and nothing ambiguous.
type Config struct {
	Project  string
	Location string
	// Endpoint, when set, is a plaintext emulator address: no TLS, no credentials.
	Endpoint string
	// CredentialsJSON is a key's JSON text; nil means Application Default Credentials.
	CredentialsJSON []byte
	// CredentialsSource names where the key came from, for messages.
	CredentialsSource string
	Retry             RetryPolicy
	// Timeout bounds every call of the run together, retries included
	// (--timeout); zero is no bound beyond Retry.Overall per call.
	Timeout time.Duration
	// tlsEndpoint, for this package's tests only, points the TLS client
	// (the real-GSM path) at a local address, without credentials.
	tlsEndpoint string
}

// Resolve applies cli.md's precedence: --project, GCP_PROJECT_ID,
// GOOGLE_CLOUD_PROJECT, then the key's project_id; GCP_GSM_CREDENTIALS (key
// text) or --credentials-file or ADC; --endpoint or SECRET_MANAGER_EMULATOR_HOST.
func Resolve(s Settings) (Config, error) {
	getenv := s.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Config{Location: s.Location, Retry: DefaultRetry()}
	if c.Location != "" {
		if err := checkLocation(c.Location); err != nil {
			return Config{}, err
		}
	}
	c.Endpoint = s.Endpoint
	endpointFrom := "--endpoint"
	if c.Endpoint == "" {
		c.Endpoint, endpointFrom = getenv("SECRET_MANAGER_EMULATOR_HOST"), "SECRET_MANAGER_EMULATOR_HOST"
	}
	if c.Endpoint != "" {
		if err := checkEndpoint(c.Endpoint); err != nil {
			return Config{}, fmt.Errorf("%w: %s %q %v: give HOST:PORT, e.g. 127.0.0.1:8085", ErrConfig, endpointFrom, c.Endpoint, err)
		}
	}

	var keyProject string
	if c.Endpoint == "" {
		switch {
		case s.CredentialsFile != "":
			data, err := os.ReadFile(s.CredentialsFile)
			if err != nil {
				return Config{}, fmt.Errorf("%w: cannot read --credentials-file %s: %w", ErrConfig, s.CredentialsFile, err)
			}
			c.CredentialsJSON, c.CredentialsSource = data, "--credentials-file "+s.CredentialsFile
		case getenv("GCP_GSM_CREDENTIALS") != "":
			if err := checkKeyText(getenv("GCP_GSM_CREDENTIALS")); err != nil {
				return Config{}, err
			}
			c.CredentialsJSON, c.CredentialsSource = []byte(getenv("GCP_GSM_CREDENTIALS")), "GCP_GSM_CREDENTIALS"
		default:
			if err := checkADCFile(getenv("GOOGLE_APPLICATION_CREDENTIALS")); err != nil {
				return Config{}, err
			}
		}
		if c.CredentialsJSON != nil {
			k, err := parseKey(c.CredentialsJSON)
			if err != nil {
				return Config{}, fmt.Errorf("%w: the credentials in %s are not a Google credentials JSON document (%v): set it to the JSON text of a service-account key", ErrConfig, c.CredentialsSource, err)
			}
			keyProject = k.ProjectID
		}
	}

	for _, p := range []string{s.Project, getenv("GCP_PROJECT_ID"), getenv("GOOGLE_CLOUD_PROJECT"), keyProject} {
		if p != "" {
			c.Project = p
			break
		}
	}
	if c.Project == "" {
		return Config{}, fmt.Errorf("%w: no GCP project: pass --project or set GCP_PROJECT_ID (or GOOGLE_CLOUD_PROJECT)", ErrConfig)
	}
	if err := checkProject(c.Project); err != nil {
		return Config{}, err
	}
	return c, nil
}

type serviceKey struct {
	Type       string `json:"type"`
	ProjectID  string `json:"project_id"`
	PrivateKey string `json:"private_key"` // only checked (checkPrivateKey), never printed
}

// parseKey reads only the non-secret fields of a key; the error never quotes
// the document, which holds a private key.
func parseKey(data []byte) (serviceKey, error) {
	var k serviceKey
	if err := json.Unmarshal(data, &k); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return k, fmt.Errorf("invalid JSON at byte %d", se.Offset)
		}
		return k, errors.New("not a JSON object")
	}
	if k.Type == "" {
		return k, errors.New(`no "type" field`)
	}
	return k, nil
}

func checkProject(p string) error {
	if len(p) > 100 {
		return fmt.Errorf("%w: project %q is too long", ErrConfig, p[:100])
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == ':') {
			return fmt.Errorf("%w: project %q is not a GCP project ID (lowercase letters, digits, '-')", ErrConfig, p)
		}
	}
	return nil
}

// checkEndpoint refuses an address the client could only retry against
// until its budget ran out: a URL, no port, a port out of range.
func checkEndpoint(addr string) error {
	if strings.Contains(addr, "://") {
		return errors.New("is a URL, not an address")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("is not HOST:PORT")
	}
	if host == "" {
		return errors.New("has no host")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return errors.New("has no port between 1 and 65535")
	}
	return nil
}

func checkLocation(l string) error {
	for _, r := range l {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("%w: --location %q is not a GCP location such as us-central1", ErrConfig, l)
		}
	}
	return nil
}
