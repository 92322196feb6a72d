package migrate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// reg is the part of a registration most tests check.
type reg struct {
	line      int
	connector string
	file      string
	area      string // connectors or bases
	sources   string // comma-separated
	via       string
	kind      Kind
}

func regsOf(s *Script) []reg {
	var out []reg
	for _, r := range s.Registrations {
		out = append(out, reg{r.Line, r.Connector, r.File, strings.Split(r.Path, "/")[1], strings.Join(r.Sources, ","), strings.Join(r.Via, ","), r.Kind})
	}
	return out
}

// TestLegacyExample is the made-up example of docs/legacy-script.md with the
// registrations the document expects.
func TestLegacyExample(t *testing.T) {
	s, err := ReadScriptFile(context.Background(), "testdata/legacy-example.sh")
	if err != nil {
		t.Fatal(err)
	}
	want := []reg{
		{15, "source-alpha", "config.json", "connectors", "ALPHA_TEST_CREDS", "", KindVerbatim},
		{19, "source-beta", "warehouse.json", "connectors", "WAREHOUSE_CREDS", "", KindVerbatim},
		{20, "source-beta", "config.json", "connectors", "BETA_TOKEN", "", KindTemplated},
		{22, "destination-gamma", "credentials.json", "connectors", "WAREHOUSE_CREDS", "", KindVerbatim},
		{23, "destination-gamma", "ssh-config.json", "connectors", "GAMMA_SSH_CREDS", "", KindVerbatim},
		{26, "source-delta", "config.json", "connectors", "DELTA_BASE_CREDS", "DELTA_CREDS", KindDerived},
		{28, "source-epsilon", "config.json", "connectors", "EPSILON_CREDS", "", KindVerbatim},
		{29, "source-epsilon", "config_oauth.json", "connectors", "EPSILON_OAUTH_CREDS", "", KindVerbatim},
		{30, "base-normalization", "warehouse.json", "bases", "WAREHOUSE_CREDS", "", KindVerbatim},
	}
	if got := regsOf(s); !reflect.DeepEqual(got, want) {
		t.Errorf("registrations:\n got %+v\nwant %+v", got, want)
	}
	if len(s.CommentedOut) != 1 || s.CommentedOut[0].Connector != "source-old" || s.CommentedOut[0].Line != 24 || s.CommentedOut[0].Variable != "OLD_CREDS" {
		t.Errorf("commented out: %+v", s.CommentedOut)
	}
	if len(s.Unrecognized) != 0 || len(s.LiteralWrites) != 0 {
		t.Errorf("unexpected unrecognized %+v or literal writes %+v", s.Unrecognized, s.LiteralWrites)
	}
	r := BuildReport(s, nil, Options{})
	for _, v := range r.Variables {
		if v.Name == "WAREHOUSE_CREDS" && v.Registrations != 3 {
			t.Errorf("WAREHOUSE_CREDS has %d registrations, want 3", v.Registrations)
		}
	}
}

func TestReadScriptCases(t *testing.T) {
	const helper = `write_standard_creds() {
  local connector_name=$1
  local creds=$2
  local cred_filename=${3:-config.json}
  echo "$creds" > "airbyte-integrations/connectors/${connector_name}/secrets/${cred_filename}"
}
`
	tests := []struct {
		name string
		src  string
		want []reg
	}{
		{"quoting variants", helper + `
write_standard_creds source-a "$A_CREDS"
write_standard_creds source-b "${B_CREDS}"
write_standard_creds source-c $C_CREDS
write_standard_creds source-d ${D_CREDS:-}   
write_standard_creds 'source-e' "$E_CREDS" 'config.json'
`, []reg{
			{8, "source-a", "config.json", "connectors", "A_CREDS", "", KindVerbatim},
			{9, "source-b", "config.json", "connectors", "B_CREDS", "", KindVerbatim},
			{10, "source-c", "config.json", "connectors", "C_CREDS", "", KindVerbatim},
			{11, "source-d", "config.json", "connectors", "D_CREDS", "", KindVerbatim},
			{12, "source-e", "config.json", "connectors", "E_CREDS", "", KindVerbatim},
		}},
		{"dir variable reassigned, trailing slashes, mkdir -p", `
D=airbyte-integrations/connectors/source-a/secrets/
mkdir -p $D
echo "$A" > "$D/config.json"
D="airbyte-integrations/connectors/source-b/secrets"
mkdir "${D}/"
echo "$B" > ${D}//creds.json
ROOT=.
echo "$C" > "$ROOT/airbyte-integrations/connectors/source-c/secrets/config.json"
echo "$E" > "$UNKNOWN_ROOT/airbyte-integrations/bases/base-e/secrets/config.json"
`, []reg{
			{4, "source-a", "config.json", "connectors", "A", "", KindVerbatim},
			{7, "source-b", "creds.json", "connectors", "B", "", KindVerbatim},
			{9, "source-c", "config.json", "connectors", "C", "", KindVerbatim},
			{10, "base-e", "config.json", "bases", "E", "", KindVerbatim},
		}},
		{"helper argument order read from its body", `
write_secret_to_disk() {
  local connector_name=$1
  local cred_filename=${2:-secrets.json}
  local creds=$3
  echo "$creds" > "airbyte-integrations/connectors/${connector_name}/secrets/${cred_filename}"
}
write_secret_to_disk source-a "a.json" "$A_CREDS"
write_secret_to_disk source-b "" "$B_CREDS"
`, []reg{
			{8, "source-a", "a.json", "connectors", "A_CREDS", "", KindVerbatim},
		}},
		{"wrapper of a wrapper, default from ${3:-...}", `
write_secret_to_disk() { echo "$3" > "airbyte-integrations/connectors/$1/secrets/$2"; }
write_standard_creds() { write_secret_to_disk "$1" "${3:-main.json}" "$2"; }
write_standard_creds source-a "$A_CREDS"
`, []reg{
			{4, "source-a", "main.json", "connectors", "A_CREDS", "", KindVerbatim},
		}},
		{"bases from a case in the helper", `
write_standard_creds() {
  case "$1" in
    base-normalization|base-java) dir="airbyte-integrations/bases/$1/secrets" ;;
    *) dir="airbyte-integrations/connectors/$1/secrets" ;;
  esac
  echo "$2" > "$dir/${3:-config.json}"
}
write_standard_creds base-java "$J"
write_standard_creds source-java "$J"
write_standard_creds base-normalization "$N" "bq.json"
`, []reg{
			{9, "base-java", "config.json", "bases", "J", "", KindVerbatim},
			{10, "source-java", "config.json", "connectors", "J", "", KindVerbatim},
			{11, "base-normalization", "bq.json", "bases", "N", "", KindVerbatim},
		}},
		{"bases from an if, != form", `
write_standard_creds() {
  if [[ "$1" != "base-kafka" ]]; then d=connectors; else d=bases/x; fi
  echo "$2" > "airbyte-integrations/$d/$1/secrets/${3:-config.json}"
}
write_standard_creds base-kafka "$K"
write_standard_creds source-kafka "$K"
`, []reg{
			{6, "base-kafka", "config.json", "bases", "K", "", KindVerbatim},
			{7, "source-kafka", "config.json", "connectors", "K", "", KindVerbatim},
		}},
		{"templated and derived", helper + `
jq --arg v "$TOKEN" '.token = $v' sample.json > airbyte-integrations/connectors/source-t/secrets/config.json
sed "s/XX/$PASSWORD/" tpl.json > airbyte-integrations/connectors/source-s/secrets/config.json
STEP1=$(echo "$BASE_CREDS" | jq '.a = 1')
STEP2="$(echo "$STEP1" | jq --argjson x "$EXTRA_CREDS" '. + $x')"
write_standard_creds source-d "$STEP2"
ALIAS=$REAL_CREDS
ALIAS2="${ALIAS}"
write_standard_creds source-alias "$ALIAS2"
echo "$BASE_CREDS" | base64 -d > airbyte-integrations/connectors/source-b64/secrets/config.json
write_standard_creds source-inline "$(echo "$INLINE_CREDS" | jq .)"
`, []reg{
			{8, "source-t", "config.json", "connectors", "TOKEN", "", KindTemplated},
			{9, "source-s", "config.json", "connectors", "PASSWORD", "", KindTemplated},
			{12, "source-d", "config.json", "connectors", "BASE_CREDS,EXTRA_CREDS", "STEP2,STEP1", KindDerived},
			{15, "source-alias", "config.json", "connectors", "REAL_CREDS", "ALIAS2,ALIAS", KindVerbatim},
			{16, "source-b64", "config.json", "connectors", "BASE_CREDS", "", KindDerived},
			{17, "source-inline", "config.json", "connectors", "INLINE_CREDS", "", KindDerived},
		}},
		{"reassignment changes what a later line derives from", helper + `
X=$(echo "$FIRST_CREDS")
write_standard_creds source-1 "$X"
X=$(echo "$SECOND_CREDS")
write_standard_creds source-2 "$X"
`, []reg{
			{9, "source-1", "config.json", "connectors", "FIRST_CREDS", "X", KindDerived},
			{11, "source-2", "config.json", "connectors", "SECOND_CREDS", "X", KindDerived},
		}},
		{"plumbing in function bodies is not a registration", `
read_secrets() { SECRET_MAP["$1#${3:-config.json}"]="$2"; }
load() {
  read_secrets "${connector_name}" "${secret_value}" "${filename}"
  read_secrets source-inside "$INSIDE_CREDS"
  echo "$X" > airbyte-integrations/connectors/source-f/secrets/config.json
}
read_secrets source-outside "$OUTSIDE_CREDS" config.json gsm
`, []reg{
			{8, "source-outside", "config.json", "connectors", "OUTSIDE_CREDS", "", KindVerbatim},
		}},
		{"registrations nested in if and && are still found", helper + `
if [ "$CONNECTOR" = all ]; then
  write_standard_creds source-in-if "$IF_CREDS"
fi
mkdir -p x && write_standard_creds source-and "$AND_CREDS"
`, []reg{
			{9, "source-in-if", "config.json", "connectors", "IF_CREDS", "", KindVerbatim},
			{11, "source-and", "config.json", "connectors", "AND_CREDS", "", KindVerbatim},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := parse(t, tt.src)
			if got := regsOf(s); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("registrations:\n got %+v\nwant %+v\nunrecognized: %+v\nliteral: %+v", got, tt.want, s.Unrecognized, s.LiteralWrites)
			}
		})
	}
}

func TestUnrecognizedListsEverySecretUse(t *testing.T) {
	s := parse(t, `
write_standard_creds() { echo "$2" > "airbyte-integrations/connectors/$1/secrets/${3:-config.json}"; }
notify() { curl -d "$1" https://example.com; }
LIT=airbyte-integrations
SAFE=$(date)
echo "$SAFE $HOME $LIT"
for c in a b; do write_standard_creds "$c" "$LOOP_CREDS"; done
[ -n "$CHECK_CREDS" ] || echo missing
curl -H "Authorization: $API_TOKEN" https://example.com
notify "$NOTIFY_TOKEN"
echo "$A_CREDS" > /tmp/out.json
echo "$B_CREDS" >> airbyte-integrations/connectors/source-b/secrets/config.json
write_standard_creds source-x
write_standard_creds Source_X "$X_CREDS"
write_standard_creds source-y "$Y_CREDS" "$FILE_VAR"
write_standard_creds source-z "$Y_CREDS" "../escape.json"
write_standard_creds source-w "$(cat w.json)"
write_standard_creds source-v "$lowercase"
cat <<EOF | tee out
$HEREDOC_CREDS
EOF
case "$CASE_CREDS" in x) : ;; esac
export EXPORTED="$EXPORT_CREDS"
`)
	want := map[int]string{
		7:  "the connector name",
		8:  "uses $CHECK_CREDS outside a registration",
		9:  "uses $API_TOKEN outside a registration",
		10: "passes $NOTIFY_TOKEN to function notify",
		12: "appends to",
		13: "needs a connector and a value",
		14: "not a valid connector name",
		15: "file name",
		16: "not a plain file name",
		17: "computed without any secret variable",
		18: "neither a GitHub secret",
		19: "uses $HEREDOC_CREDS",
		22: "uses $CASE_CREDS",
		23: "exports $EXPORT_CREDS as EXPORTED to every command the script runs",
	}
	got := map[int]string{}
	for _, u := range s.Unrecognized {
		got[u.Line] = u.Reason
	}
	for line, sub := range want {
		if !strings.Contains(got[line], sub) {
			t.Errorf("line %d: reason %q, want it to contain %q", line, got[line], sub)
		}
	}
	for line, reason := range got {
		if _, ok := want[line]; !ok {
			t.Errorf("line %d unexpectedly unrecognized: %s", line, reason)
		}
	}
	// A write outside every connector's secrets folder is a registration
	// of its own kind, never dropped.
	var outside []string
	for _, r := range s.Registrations {
		if r.Kind == KindOutside {
			outside = append(outside, fmt.Sprintf("%d %s %s", r.Line, r.Variable, r.Path))
		}
	}
	if want := []string{"11 A_CREDS /tmp/out.json"}; !reflect.DeepEqual(outside, want) {
		t.Errorf("outside registrations %v, want %v", outside, want)
	}
	if len(s.Registrations) != 1 {
		t.Errorf("one registration expected, got %+v", s.Registrations)
	}
}

// TestNothingDroppedSilently covers the uses of a secret that are neither
// registrations nor plain commands: values derived into a variable nothing
// reads, exported values, and function bodies reading a secret the script
// never sets. Each is listed as unrecognized with its line; what the script
// owns (its assignments, loop and read variables, declared maps) is not.
func TestNothingDroppedSilently(t *testing.T) {
	s := parse(t, `#!/usr/bin/env bash
declare -A SECRET_MAP
GSM_SCOPES="https://www.googleapis.com/auth/cloud-platform"
load_gsm() {
  local config_file=$(mktemp)
  echo "${GCP_GSM_CREDENTIALS}" > "${config_file}"
  if [ -n "$GSM_SCOPES" ]; then
    for KEY in "${!SECRET_MAP[@]}"; do
      curl -H "x: $KEY $OUTER_DIR" "https://example.com/$1"
    done
  fi
  while read -r ROW; do echo "$ROW"; done <<< "$GITHUB_PROVIDED_SECRETS_JSON"
}
OUTER_DIR=x
UNREAD=$(echo "$UNREAD_CREDS" | jq .)
READ=$(echo "$READ_CREDS" | jq .)
read_secrets source-read "$READ"
export EXPORTED="$EXPORTED_CREDS"
declare -x ALSO_EXPORTED="$ALSO_CREDS"
STEP1=$(echo "$CHAIN_CREDS")
STEP2="$STEP1"
# read_secrets source-commented "$COMMENTED_ONLY"
COMMENTED_ONLY=$(echo "$COMMENTED_CREDS")
load_gsm
`)
	want := map[int]string{
		6:  "plumbing in function load_gsm reads $GCP_GSM_CREDENTIALS, which the script never sets",
		12: "plumbing in function load_gsm reads $GITHUB_PROVIDED_SECRETS_JSON",
		15: "assigns $UNREAD_CREDS to UNREAD, which no registration reads",
		18: "exports $EXPORTED_CREDS as EXPORTED",
		19: "exports $ALSO_CREDS as ALSO_EXPORTED",
		21: "assigns $CHAIN_CREDS to STEP2, which no registration reads",
		23: "assigns $COMMENTED_CREDS to COMMENTED_ONLY",
	}
	got := map[int]string{}
	for _, u := range s.Unrecognized {
		if got[u.Line] != "" {
			t.Errorf("line %d listed twice: %q and %q", u.Line, got[u.Line], u.Reason)
		}
		got[u.Line] = u.Reason
	}
	for line, sub := range want {
		if !strings.Contains(got[line], sub) {
			t.Errorf("line %d: reason %q, want it to contain %q", line, got[line], sub)
		}
	}
	for line, reason := range got {
		if _, ok := want[line]; !ok {
			t.Errorf("line %d unexpectedly unrecognized: %s", line, reason)
		}
	}
	if got := regsOf(s); len(got) != 1 || got[0].sources != "READ_CREDS" || got[0].kind != KindDerived {
		t.Errorf("registrations %+v", got)
	}
}

func TestTeeAndUnresolvedPaths(t *testing.T) {
	s := parse(t, `D=airbyte-integrations/connectors/source-t/secrets
echo "$TEE_CREDS" | tee $D/config.json
echo "$TEE2_CREDS" | tee "$D/quiet.json" > /dev/null
echo "$TEE3_CREDS" | jq . | tee $D/derived.json
echo "$APPEND_CREDS" | tee -a $D/append.json
echo "$UNKNOWN_CREDS" > "$D/$FILE_NAME"
echo "$OUT_CREDS" > /tmp/elsewhere.json
echo "lowercase" > $D/literal.json
`)
	if got, want := regsOf(s), []reg{
		{2, "source-t", "config.json", "connectors", "TEE_CREDS", "", KindVerbatim},
		{3, "source-t", "quiet.json", "connectors", "TEE2_CREDS", "", KindVerbatim},
		{4, "source-t", "derived.json", "connectors", "TEE3_CREDS", "", KindDerived},
		{7, "", "elsewhere.json", "tmp", "OUT_CREDS", "", KindOutside},
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("registrations:\n got %+v\nwant %+v", got, want)
	}
	want := map[int]string{
		5: "uses $APPEND_CREDS outside a registration",
		6: "writes $UNKNOWN_CREDS, $FILE_NAME to `\"$D/$FILE_NAME\"`, a path the reader cannot resolve",
	}
	got := map[int]string{}
	for _, u := range s.Unrecognized {
		got[u.Line] = u.Reason
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("unrecognized:\n got %v\nwant %v", got, want)
	}
	if len(s.LiteralWrites) != 1 || s.LiteralWrites[0].Hint != "writes literal text" {
		t.Errorf("a lower-case literal is not a missing $: %+v", s.LiteralWrites)
	}
}

func TestLiteralWritesAndCommentedOut(t *testing.T) {
	s := parse(t, `write_standard_creds() { echo "$2" > "airbyte-integrations/connectors/$1/secrets/${3:-config.json}"; }
echo "SOURCE_A_CREDS" > airbyte-integrations/connectors/source-a/secrets/config.json
write_standard_creds source-b 'B_CREDS'
LITERAL='{"a": 1}'
write_standard_creds source-c "$LITERAL"
cp sample.json airbyte-integrations/connectors/source-d/secrets/config.json
jq . sample.json > airbyte-integrations/connectors/source-e/secrets/config.json
# write_standard_creds source-old "$OLD_CREDS" "old.json"
   #   echo "$OLDER_CREDS" > airbyte-integrations/connectors/source-older/secrets/config.json
# write_standard_creds is the helper; call it once per connector
# TODO: add source-next
echo "$X" # write_standard_creds source-trailing "$T"
`)
	var lits []string
	for _, l := range s.LiteralWrites {
		lits = append(lits, fmt.Sprintf("%d %s", l.Line, l.Connector))
	}
	if want := []string{"2 source-a", "3 source-b", "5 source-c", "7 source-e"}; !reflect.DeepEqual(lits, want) {
		t.Errorf("literal writes %v, want %v", lits, want)
	}
	if !strings.Contains(s.LiteralWrites[0].Hint, `"$SOURCE_A_CREDS"`) {
		t.Errorf("hint %q should suggest the missing $", s.LiteralWrites[0].Hint)
	}
	var cos []string
	for _, c := range s.CommentedOut {
		cos = append(cos, fmt.Sprintf("%d %s/%s %s", c.Line, c.Connector, c.File, c.Variable))
	}
	want := []string{"8 source-old/old.json OLD_CREDS", "9 source-older/config.json OLDER_CREDS", "12 source-trailing/config.json T"}
	if !reflect.DeepEqual(cos, want) {
		t.Errorf("commented out %v, want %v", cos, want)
	}
	if len(s.Registrations) != 0 {
		t.Errorf("literal writes are not registrations: %+v", s.Registrations)
	}
}

func TestDuplicates(t *testing.T) {
	s := parse(t, `read_secrets source-a "$A_CREDS"
read_secrets source-a "$A_CREDS" config.json
read_secrets source-a "$OTHER_CREDS"
read_secrets source-b "$A_CREDS"
`)
	r := BuildReport(s, nil, Options{})
	want := []Duplicate{
		{Line: 2, Connector: "source-a", File: "config.json", Variable: "A_CREDS", FirstLine: 1, FirstVariable: "A_CREDS"},
		{Line: 3, Connector: "source-a", File: "config.json", Variable: "OTHER_CREDS", FirstLine: 1, FirstVariable: "A_CREDS"},
	}
	if !reflect.DeepEqual(r.Duplicates, want) {
		t.Errorf("duplicates %+v, want %+v", r.Duplicates, want)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	big := make([]byte, 10<<20)
	for i := range big {
		big[i] = "echo hi\n"[i%8]
	}
	// A FIFO would block a plain read; where there is none, a device file
	// stands in for "not a regular file".
	fifo := filepath.Join(dir, "fifo")
	if err := mkfifo(fifo); err != nil {
		fifo = os.DevNull
	}
	tests := []struct {
		name, path, want string
	}{
		{"empty", write("empty.sh", nil), "empty.sh: is empty"},
		{"blank", write("blank.sh", []byte(" \n\t\n")), "is empty"},
		{"binary", write("bin.sh", []byte("echo a\n\x00\x01")), "bin.sh:2: is a binary file"},
		{"not utf-8", write("latin1.sh", []byte("echo a\necho \xe9t\xe9\n")), "latin1.sh:2: is not UTF-8 text"},
		{"directory", dir, "is a directory; give the script file itself"},
		{"fifo", fifo, "is not a regular file"},
		{"missing", filepath.Join(dir, "nope.sh"), "nope.sh: no such script file"},
		{"10 MB", write("big.sh", big), "is 10.0 MiB, over the 4 MiB limit"},
		{"parse error", write("broken.sh", []byte("echo ok\nif [ -n \"$X\" ]; then\n  echo \"$X\" > f\n")), "broken.sh:2:1: does not parse as a bash script"},
		{"unclosed quote", write("quote.sh", []byte("echo ok\necho \"$A > f\n")), "quote.sh:2:6: does not parse as a bash script: reached EOF without closing quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadScriptFile(context.Background(), tt.path)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
			if !errors.Is(err, ErrBadInput) {
				t.Errorf("error %v is not ErrBadInput", err)
			}
			if !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// TestScriptWithoutRegistrations: a fully migrated script is not an error.
func TestScriptWithoutRegistrations(t *testing.T) {
	s := parse(t, "#!/usr/bin/env bash\nset -e\nwrite_all_secrets\n")
	r := BuildReport(s, nil, Options{})
	if r.Summary != (Summary{}) || r.Leftover() {
		t.Errorf("summary %+v", r.Summary)
	}
}
