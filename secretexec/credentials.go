package secretexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// CredentialsEnv carries the Secret Manager key's JSON text (cli.md). It is
// ci-secrets' own variable: a command run by exec has no use for it, and a
// test that prints its environment would put a key that reads every CI
// secret in the log.
const CredentialsEnv = "GCP_GSM_CREDENTIALS"

// maxKeyFile bounds how much of a credentials file is read: a key is a few
// KiB, and a path variable may name anything.
const maxKeyFile = 1 << 20

// keyFields are the string fields of a Google credentials document that
// grant access: a service-account key's private key and its ID, an
// authorized user's client secret and refresh token. Identities
// (client_email, client_id, project_id) stay readable: logs need them and
// they open nothing.
func keyFields() []string {
	return []string{"private_key", "private_key_id", "client_secret", "refresh_token"}
}

// keyFileEnvs name files of Google credentials a command may read and
// print: Application Default Credentials, and the copies that gcloud and
// google-github-actions/auth point at.
func keyFileEnvs() []string {
	return []string{"GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE", "GOOGLE_GHA_CREDS_PATH"}
}

// WithoutCredentials is env (KEY=VALUE entries) without CredentialsEnv.
// The path variables stay: the command may need Application Default
// Credentials of its own, and the file they name stays readable anyway;
// what it holds is redacted instead (CredentialValues).
func WithoutCredentials(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != CredentialsEnv {
			out = append(out, kv)
		}
	}
	return out
}

// KeyValues are the secret values of a Google credentials JSON document
// (keyFields); none for a document that is not one.
func KeyValues(doc []byte) []string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(doc, &fields) != nil {
		return nil
	}
	var out []string
	for _, k := range keyFields() {
		var s string
		if json.Unmarshal(fields[k], &s) == nil && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// CredentialValues gathers the key material exec's command could print:
// that of CredentialsEnv's text, of credentialsFile (--credentials-file,
// may be empty) and of the files the path variables name. A file that
// cannot be read holds nothing the command could print from it either; it
// is skipped.
func CredentialValues(ctx context.Context, getenv func(string) string, credentialsFile string) []string {
	values := KeyValues([]byte(getenv(CredentialsEnv)))
	files := []string{credentialsFile}
	for _, name := range keyFileEnvs() {
		files = append(files, getenv(name))
	}
	for _, path := range files {
		if path == "" || ctx.Err() != nil {
			continue
		}
		if doc, err := readKeyFile(path); err == nil {
			values = append(values, KeyValues(doc)...)
		}
	}
	return values
}

func readKeyFile(path string) ([]byte, error) {
	// Checked before opening: opening a FIFO blocks, a device never ends.
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(doc) > maxKeyFile {
		return nil, fmt.Errorf("%s is larger than a credentials file", path)
	}
	return doc, nil
}
