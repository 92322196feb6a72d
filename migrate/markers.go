package migrate

import (
	"regexp"
	"strings"

	"github.com/airbytehq/ci-secrets/labels"
)

// Migrated is a registration --rewrite removed, as the marker comment it
// left in its place records it. The marker keeps the verdict on the
// variable's GitHub secret the same after the rewrite as before: without
// it, a workflow passing every secret at once (toJson(secrets)) would leave
// no trace of which secret the script used to read.
type Migrated struct {
	Line      int      `json:"line"`
	Connector string   `json:"connector"`
	File      string   `json:"file"`
	Variables []string `json:"variables"`
	// GSMSecret is the secret that served it when it was removed.
	GSMSecret string `json:"gsm_secret_at_rewrite"`
	// Status is served when GSM still serves the file now.
	Status Status `json:"status"`
	// Note explains a status that is no longer served.
	Note string `json:"note,omitempty"`
}

const markerPrefix = "ci-secrets migrate: "

var markerRe = regexp.MustCompile(`^#\s*ci-secrets migrate: ([a-z0-9-]+)/([^/\s]+) now comes from Secret Manager \(([A-Za-z0-9_-]+)\); it was (\$[A-Za-z_][A-Za-z0-9_]*(?:, \$[A-Za-z_][A-Za-z0-9_]*)*)\s*$`)

// markerText is the comment that replaces a removed registration.
func markerText(reg Registration) string {
	return "# " + markerPrefix + reg.Connector + "/" + reg.File + " now comes from Secret Manager (" + reg.GSMSecret + "); it was " + dollarList(reg.Sources)
}

// parseMarker reads a marker comment (the text after '#'), or reports false.
func parseMarker(line int, text string) (Migrated, bool) {
	m := markerRe.FindStringSubmatch("#" + text)
	if m == nil || labels.ValidateConnector(m[1]) != nil || !plainFileName(m[2]) {
		return Migrated{}, false
	}
	var vars []string
	for _, v := range strings.Split(m[4], ", ") {
		vars = append(vars, strings.TrimPrefix(v, "$"))
	}
	return Migrated{Line: line, Connector: m[1], File: m[2], Variables: vars, GSMSecret: m[3]}, true
}
