package gsm

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
)

func pemOf(t *testing.T, typ string, der []byte) string {
	t.Helper()
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func TestCheckPrivateKey(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(rk)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := x509.MarshalECPrivateKey(ek)
	if err != nil {
		t.Fatal(err)
	}
	good := pemOf(t, "PRIVATE KEY", pkcs8)
	for name, key := range map[string]string{
		"pkcs8": good, "pkcs1": pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk)), "ec": pemOf(t, "EC PRIVATE KEY", ec),
	} {
		if err := checkPrivateKey(key); err != nil {
			t.Errorf("%s: a sound key is refused: %v", name, err)
		}
	}
	truncated := pemOf(t, "PRIVATE KEY", pkcs8[:len(pkcs8)/2])
	for name, tc := range map[string]struct{ key, want string }{
		"truncated":      {truncated, "the private_key is damaged"},
		"empty":          {"", `no "private_key"`},
		"not PEM":        {"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "is not a PEM block"},
		"escaped twice":  {strings.ReplaceAll(good, "\n", `\n`), "escaped twice"},
		"garbage in PEM": {pemOf(t, "PRIVATE KEY", []byte("not der at all")), "damaged"},
	} {
		err := checkPrivateKey(tc.key)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to say %q", name, err, tc.want)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "asn1") || strings.Contains(msg, "\n") || (len(tc.key) > 40 && strings.Contains(msg, tc.key[len(tc.key)/2:len(tc.key)/2+10])) {
			t.Errorf("%s: the error is not one plain sentence free of key text: %q", name, msg)
		}
	}
}

func TestCheckKeyText(t *testing.T) {
	for _, v := range []string{"/home/runner/key.json", "./key.json", "~/keys/ci.json", "ci-key.JSON"} {
		if err := checkKeyText(v); err == nil || !strings.Contains(err.Error(), "--credentials-file") || !strings.Contains(err.Error(), "GOOGLE_APPLICATION_CREDENTIALS") || strings.Contains(err.Error(), v) {
			t.Errorf("GCP_GSM_CREDENTIALS=%s: err = %v; want the fix named and the value not echoed", v, err)
		}
	}
	for _, v := range []string{`{"type": "service_account"}`, "  \n{\"type\": \"x\"}", `not json, not a path`} {
		if err := checkKeyText(v); err != nil {
			t.Errorf("GCP_GSM_CREDENTIALS=%q: err = %v; only a path is this mistake (other text gets the JSON error)", v, err)
		}
	}
}
