package ghactions_test

import (
	"fmt"
	"os"

	"github.com/airbytehq/ci-secrets/ghactions"
)

func ExampleMaskValues() {
	payload := []byte(`{
  "host": "db.internal",
  "port": 5432,
  "ssl": true,
  "user": "ci",
  "password": "hunter22",
  "ssh_key": "-----BEGIN KEY-----\nMIIEabcd\n-----END KEY-----",
  "oauth": "{\"refresh_token\": \"1//0gXyZ\"}"
}`)
	for _, v := range ghactions.MaskValues(payload) {
		fmt.Println(v)
	}
	// Output:
	// db.internal
	// hunter22
	// -----BEGIN KEY-----
	// MIIEabcd
	// -----END KEY-----
	// {"refresh_token": "1//0gXyZ"}
	// 1//0gXyZ
}

func ExampleMasker() {
	m := ghactions.NewMasker(os.Stdout)
	_ = m.Mask(ghactions.MaskValues([]byte(`{"password": "100%-secret"}`)))
	_ = m.Mask([]string{"100%-secret"}) // already masked: nothing printed
	// Output:
	// ::add-mask::100%25-secret
}
