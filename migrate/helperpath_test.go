package migrate

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestHelperWritesOutside: a 2020-era helper whose body writes
// airbyte-integrations/$1/secrets/... or singer/$1/secrets/... makes each
// of its calls a registration of kind outside, with the path the call
// writes. Bug: they were read as connectors/ writes, so their GitHub
// secrets could be called safe to delete while sync can never write there.
// Helpers writing under connectors/ or bases/ resolve as before.
func TestHelperWritesOutside(t *testing.T) {
	s := parse(t, `#!/usr/bin/env bash
write_standard_creds() {
  local connector_name=$1
  local creds=$2
  local cred_filename=${3:-config.json}
  local secrets_dir="airbyte-integrations/${connector_name}/secrets"
  mkdir -p "$secrets_dir"
  echo "$creds" > "${secrets_dir}/${cred_filename}"
}
write_singer_creds() {
  mkdir -p "airbyte-integrations/singer/$1/secrets"
  echo "$2" > "airbyte-integrations/singer/$1/secrets/${3:-config.json}"
}
write_connector_creds() {
  if [ "$1" = "base-normalization" ]; then
    dir="airbyte-integrations/bases/$1/secrets"
  else
    dir="airbyte-integrations/connectors/$1/secrets"
  fi
  echo "$2" > "$dir/${3:-config.json}"
}
write_standard_creds source-old "$OLD_CREDS"
write_standard_creds source-old "$OLD_OAUTH_CREDS" oauth.json
write_singer_creds googleanalytics/source "$GA_CREDS"
write_connector_creds source-new "$NEW_CREDS"
write_connector_creds base-normalization "$NORM_CREDS" bq.json
write_standard_creds "../../etc" "$EVIL_CREDS"
`)
	got := regLines(s)
	want := []string{
		"22 outside OLD_CREDS airbyte-integrations/source-old/secrets/config.json",
		"23 outside OLD_OAUTH_CREDS airbyte-integrations/source-old/secrets/oauth.json",
		"24 outside GA_CREDS airbyte-integrations/singer/googleanalytics/source/secrets/config.json",
		"25 verbatim NEW_CREDS airbyte-integrations/connectors/source-new/secrets/config.json",
		"26 verbatim NORM_CREDS airbyte-integrations/bases/base-normalization/secrets/bq.json",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("registrations:\n got %q\nwant %q", got, want)
	}
	// A connector argument climbing out of the repository fills no path:
	// it stays a statement to check by hand.
	found := false
	for _, u := range s.Unrecognized {
		found = found || u.Line == 27
	}
	if !found {
		t.Errorf("line 27 (../../etc) is not unrecognized: %+v", s.Unrecognized)
	}

	// Outside writes are leftover, counted, and never safe to delete, even
	// when a GSM secret names the connector.
	r := BuildReport(s, entries(t, map[string]map[string]string{
		"SECRET_SOURCE-OLD_CREDS": {"connector": "source-old"},
		"SECRET_SOURCE-NEW_CREDS": {"connector": "source-new"},
	}), Options{})
	for _, reg := range r.Registrations {
		if reg.Kind == KindOutside && (reg.Status != StatusLeftover || reg.Note != outsideNote) {
			t.Errorf("line %d: %s (%q), want leftover with the outside note", reg.Line, reg.Status, reg.Note)
		}
	}
	if r.Summary.Leftover != 4 || !r.Leftover() {
		t.Errorf("summary %+v: want 4 leftover (3 outside, base-normalization unserved)", r.Summary)
	}
	var del []string
	for _, d := range r.ToDelete {
		del = append(del, d.Secret)
	}
	if want := []string{"NEW_CREDS"}; !reflect.DeepEqual(del, want) {
		t.Errorf("to delete %v, want %v", del, want)
	}
}

// TestWrapperOfOutsideHelper: a helper that only calls a helper writing
// outside the connector folders writes outside too, with its own argument
// order and default file; a wrapper of a connectors/ writer stays one, and
// so does a long chain of wrappers (each body read once) and a cycle.
func TestWrapperOfOutsideHelper(t *testing.T) {
	var chain strings.Builder
	chain.WriteString("w0() { echo \"$2\" > \"singer/$1/secrets/config.json\"; }\n")
	const n = 2000
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&chain, "w%d() { w%d \"$1\" \"$2\"; }\n", i, i-1)
	}
	s := parse(t, `#!/usr/bin/env bash
write_old() { echo "$3" > "airbyte-integrations/$1/secrets/$2"; }
write_standard_creds() { write_old "$1" "${3:-main.json}" "$2"; }
to_disk() { echo "$3" > "airbyte-integrations/connectors/$1/secrets/$2"; }
read_secrets() { to_disk "$1" "${3:-config.json}" "$2"; }
ping() { pong "$1" "$2"; echo "$2" > "x/$1/secrets/c.json"; }
pong() { ping "$1" "$2"; }
write_standard_creds source-old "$OLD_CREDS"
read_secrets source-new "$NEW_CREDS"
pong source-p "$P_CREDS"
`+chain.String()+fmt.Sprintf("w%d tap-x \"$TAP_CREDS\"\n", n))
	got := regLines(s)
	want := []string{
		"8 outside OLD_CREDS airbyte-integrations/source-old/secrets/main.json",
		"9 verbatim NEW_CREDS airbyte-integrations/connectors/source-new/secrets/config.json",
		"10 verbatim P_CREDS airbyte-integrations/connectors/source-p/secrets/config.json",
		fmt.Sprintf("%d outside TAP_CREDS singer/tap-x/secrets/config.json", 12+n),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("registrations:\n got %q\nwant %q", got, want)
	}
}

// regLines are the registrations as "LINE KIND VARIABLE PATH".
func regLines(s *Script) []string {
	var out []string
	for _, r := range s.Registrations {
		out = append(out, fmt.Sprintf("%d %s %s %s", r.Line, r.Kind, r.Variable, r.Path))
	}
	return out
}
