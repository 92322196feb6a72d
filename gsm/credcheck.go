package gsm

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// checkKeyText catches the commonest mix-up with GCP_GSM_CREDENTIALS: a path
// to the key file where the key's JSON text belongs. The value is never
// quoted: if it is not a path it may be part of a key.
func checkKeyText(v string) error {
	t := strings.TrimSpace(v)
	if strings.HasPrefix(t, "{") {
		return nil
	}
	looksLikePath := !strings.ContainsAny(t, "{}\"\n") &&
		(strings.HasPrefix(t, "/") || strings.HasPrefix(t, "./") || strings.HasPrefix(t, "~") ||
			strings.HasSuffix(strings.ToLower(t), ".json") || fileExists(t))
	if looksLikePath {
		return fmt.Errorf("%w: GCP_GSM_CREDENTIALS holds what looks like a file path, but it must hold the key's JSON text itself: pass the file with --credentials-file PATH or GOOGLE_APPLICATION_CREDENTIALS=PATH instead (and unset GCP_GSM_CREDENTIALS)", ErrConfig)
	}
	return nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// checkADCFile names GOOGLE_APPLICATION_CREDENTIALS when it points at a file
// that is not there; the client library would otherwise fail later with
// only the path.
func checkADCFile(path string) error {
	if path == "" {
		return nil
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: GOOGLE_APPLICATION_CREDENTIALS names %s, which does not exist: point it at the credentials file (google-github-actions/auth sets it), or unset it to use gcloud's application default credentials", ErrConfig, path)
	case err != nil:
		return fmt.Errorf("%w: cannot read GOOGLE_APPLICATION_CREDENTIALS %s: %w", ErrConfig, path, err)
	case fi.IsDir():
		return fmt.Errorf("%w: GOOGLE_APPLICATION_CREDENTIALS names %s, which is a folder: point it at the credentials JSON file", ErrConfig, path)
	}
	return nil
}

// checkServiceKey checks what a service-account key needs before the token
// source would choke on it; other credential types are left to the library.
func checkServiceKey(k serviceKey) error {
	if k.Type != "service_account" {
		return nil
	}
	return checkPrivateKey(k.PrivateKey)
}

// checkPrivateKey says in one sentence why a service-account key's
// private_key cannot be used, instead of the ASN.1 dump the token source
// prints on first use. It never quotes the key.
func checkPrivateKey(key string) error {
	if strings.TrimSpace(key) == "" {
		return errors.New(`the key has no "private_key": download a new key for the service account`)
	}
	block, _ := pem.Decode([]byte(key))
	if block == nil {
		hint := ""
		if strings.Contains(key, `\n`) {
			hint = ` (its line breaks are the two characters \n, so the JSON was escaped twice)`
		}
		return fmt.Errorf("the private_key is not a PEM block (-----BEGIN PRIVATE KEY-----)%s: use the key file exactly as downloaded", hint)
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		return nil
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return nil
	}
	if _, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return nil
	}
	return errors.New("the private_key is damaged (it does not decode as a private key: truncated or edited): use the key file exactly as downloaded, or create a new key")
}
