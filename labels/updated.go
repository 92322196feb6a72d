package labels

import (
	"errors"
	"fmt"
	"strings"
)

// UpdatedDir is the folder inside a connector's secrets folder where
// connector tests leave refreshed configurations, named
// "<file stem>|<number>.json" (the number is usually a Unix timestamp).
// push sends them back and doctor reports those still waiting, so both read
// the names with ParseUpdatedName.
const UpdatedDir = "updated_configurations"

// ErrBadUpdatedName is the error of a name in UpdatedDir that does not follow
// the convention.
var ErrBadUpdatedName = errors.New("not named <file stem>|<number>.json")

// maxUpdatedNumber bounds the digits of the <number> part: a Unix time in
// nanoseconds has 19, so anything far longer is not a harness's name.
const maxUpdatedNumber = 40

// ParseUpdatedName splits an updated configuration's name
// "<stem>|<number>.json" into the original file it updates ("<stem>.json")
// and its number (leading zeros removed). The stem must be a valid filename
// label (StemOf): anything else could not be served by any secret.
func ParseUpdatedName(name string) (file, number string, err error) {
	base, ok := strings.CutSuffix(name, FileExt)
	if !ok {
		return "", "", fmt.Errorf("%w: %s does not end in %s", ErrBadUpdatedName, quote(name), FileExt)
	}
	i := strings.LastIndexByte(base, '|')
	if i < 0 {
		return "", "", fmt.Errorf("%w: %s has no |<number> after the file stem", ErrBadUpdatedName, quote(name))
	}
	stem, num := base[:i], base[i+1:]
	if num == "" || len(num) > maxUpdatedNumber || strings.Trim(num, "0123456789") != "" {
		return "", "", fmt.Errorf("%w: %s: %s is not a number", ErrBadUpdatedName, quote(name), quote(num))
	}
	file = stem + FileExt
	if _, err := StemOf(file); err != nil {
		return "", "", fmt.Errorf("%w: %s: no secret can serve it: %w", ErrBadUpdatedName, quote(name), err)
	}
	if num = strings.TrimLeft(num, "0"); num == "" {
		num = "0"
	}
	return file, num, nil
}
