package emulator

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Limits GSM enforces (gsm-facts.md).
const (
	MaxPayloadSize  = 64 * 1024 // bytes per version
	MaxSecretIDLen  = 255
	MaxLabels       = 64
	MaxLabelLen     = 63 // characters, for keys and values alike
	MaxPageSize     = 25000
	DefaultPageSize = 100
	MaxSeedSize     = 64 << 20 // bytes of seed JSON ParseSeed reads
)

// validateSecretID checks GSM's secret ID rule: 1 to 255 characters of
// [A-Za-z0-9_-].
func validateSecretID(id string) error {
	if id == "" {
		return fmt.Errorf("secret ID is empty")
	}
	if len(id) > MaxSecretIDLen {
		return fmt.Errorf("secret ID %.40q... is %d characters, over the limit of %d", id, len(id), MaxSecretIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("secret ID %q contains %q: only letters, digits, _ and - are allowed", id, rune(c))
		}
	}
	return nil
}

// labelChar reports whether r may appear in a label key or value: lowercase
// letters (international ones too), digits, _ and -.
func labelChar(r rune) bool {
	return unicode.IsLower(r) || unicode.IsDigit(r) || r == '_' || r == '-'
}

// validateLabels checks GSM's label rules: at most 64 labels; keys 1-63
// characters starting with a lowercase letter; values 0-63 characters; both of
// lowercase letters, digits, _ and -.
func validateLabels(labels map[string]string) error {
	if len(labels) > MaxLabels {
		return fmt.Errorf("%d labels, over the limit of %d", len(labels), MaxLabels)
	}
	for _, k := range sortedKeys(labels) {
		if err := validateLabelKey(k); err != nil {
			return err
		}
		if err := validateLabelValue(k, labels[k]); err != nil {
			return err
		}
	}
	return nil
}

func validateLabelKey(k string) error {
	if k == "" {
		return fmt.Errorf("label key is empty")
	}
	if !utf8.ValidString(k) {
		return fmt.Errorf("label key %q is not valid UTF-8", k)
	}
	if n := utf8.RuneCountInString(k); n > MaxLabelLen {
		return fmt.Errorf("label key %q is %d characters, over the limit of %d", k, n, MaxLabelLen)
	}
	if r, _ := utf8.DecodeRuneInString(k); !unicode.IsLower(r) {
		return fmt.Errorf("label key %q must start with a lowercase letter", k)
	}
	for _, r := range k {
		if !labelChar(r) {
			return fmt.Errorf("label key %q contains %q: only lowercase letters, digits, _ and - are allowed", k, r)
		}
	}
	return nil
}

func validateLabelValue(k, v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("value of label %q is not valid UTF-8", k)
	}
	if n := utf8.RuneCountInString(v); n > MaxLabelLen {
		return fmt.Errorf("value of label %q is %d characters, over the limit of %d", k, n, MaxLabelLen)
	}
	for _, r := range v {
		if !labelChar(r) {
			return fmt.Errorf("value %q of label %q contains %q: only lowercase letters, digits, _ and - are allowed", v, k, r)
		}
	}
	return nil
}

// validateNameSegment checks a project or location as it appears in a resource
// name. GSM's own rules are stricter (project IDs are 6-30 characters); the
// emulator only refuses what would break a resource name, so tests can use
// short projects like "p".
func validateNameSegment(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s is empty", what)
	}
	if len(s) > 100 {
		return fmt.Errorf("%s %.40q... is too long", what, s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return fmt.Errorf("%s %q contains %q: use lowercase letters, digits and -", what, s, rune(c))
		}
	}
	return nil
}
