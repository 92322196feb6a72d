//go:build unix

package secretexec

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

func TestWithoutCredentials(t *testing.T) {
	env := []string{"PATH=/bin", CredentialsEnv + `={"type": "service_account"}`, "GCP_GSM_CREDENTIALS_HINT=kept", "HOME=/home/ci"}
	got := WithoutCredentials(env)
	want := []string{"PATH=/bin", "GCP_GSM_CREDENTIALS_HINT=kept", "HOME=/home/ci"}
	if !slices.Equal(got, want) {
		t.Errorf("WithoutCredentials = %q, want %q", got, want)
	}
}

func TestCredentialValues(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "flag.json")
	adc := filepath.Join(dir, "adc.json")
	fifo := filepath.Join(dir, "fifo")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(file, `{"type": "service_account", "private_key_id": "flag-key-id", "private_key": "flag-pem", "client_email": "a@b.iam.gserviceaccount.com"}`)
	write(adc, `{"type": "authorized_user", "client_id": "id.apps", "client_secret": "adc-secret", "refresh_token": "adc-refresh"}`)
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		CredentialsEnv:                           `{"type": "service_account", "private_key": "env-pem", "private_key_id": 12}`,
		"GOOGLE_APPLICATION_CREDENTIALS":         adc,
		"CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE": fifo,                       // skipped, not read (it would block)
		"GOOGLE_GHA_CREDS_PATH":                  filepath.Join(dir, "none"), // missing: skipped
	}
	got := CredentialValues(t.Context(), func(k string) string { return env[k] }, file)
	want := []string{"env-pem", "flag-pem", "flag-key-id", "adc-secret", "adc-refresh"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("CredentialValues = %q, want %q", got, want)
	}
	if v := KeyValues([]byte("not json")); v != nil {
		t.Errorf("KeyValues of a non-JSON text = %q", v)
	}
}
