package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/airbytehq/ci-secrets/labels"
)

// fakeCreator records CreateSecret calls; fail makes a name fail.
type fakeCreator struct {
	calls []string
	data  map[string]string
	fail  map[string]error
}

func (f *fakeCreator) CreateSecret(_ context.Context, id string, lbls map[string]string, data []byte) (string, error) {
	keys := make([]string, 0, len(lbls))
	for k, v := range lbls {
		keys = append(keys, k+"="+v)
	}
	sort.Strings(keys)
	f.calls = append(f.calls, id+" "+strings.Join(keys, ","))
	if err := f.fail[id]; err != nil {
		return "", err
	}
	if f.data == nil {
		f.data = map[string]string{}
	}
	f.data[id] = string(data)
	return "1", nil
}

const createScript = `write_standard_creds() { echo "$2" > "airbyte-integrations/connectors/$1/secrets/${3:-config.json}"; }
read_secrets source-a "$A_CREDS"
read_secrets source-x "$WAREHOUSE_CREDS" "warehouse.json"
read_secrets destination-y "$WAREHOUSE_CREDS" "warehouse.json"
read_secrets source-bad "$NOT_JSON_CREDS"
read_secrets source-missing "$MISSING_CREDS"
jq --arg v "$TOKEN" '.t = $v' s.json > airbyte-integrations/connectors/source-t/secrets/config.json
D=$(echo "$BASE_CREDS" | jq .)
write_standard_creds source-d "$D"
read_secrets source-dup "$DUP1_CREDS"
read_secrets source-dup "$DUP2_CREDS"
read_secrets source-served "$SERVED_CREDS"
read_secrets source-a "$A_CREDS" "config_oauth.json"
read_secrets source-txt "$A_CREDS" "notes.txt"
read_secrets source-a "$A_CREDS"
`

const providedJSON = `{
  "a_creds": "{\"user\": \"a-value-1\"}",
  "WAREHOUSE_CREDS": "{\"host\": \"warehouse-value-2\"}",
  "NOT_JSON_CREDS": "plain-text-value-3",
  "DUP1_CREDS": "{}", "DUP2_CREDS": "{}", "BASE_CREDS": "{}", "TOKEN": "x"
}`

func createFixture(t *testing.T) (*Script, []labels.Entry) {
	s := parse(t, createScript)
	inv := entries(t, map[string]map[string]string{
		"SECRET_SOURCE-SERVED_CREDS": {"connector": "source-served"},
		"SECRET_SOURCE-A__CREDS":     {"connector": "source-other"}, // takes the natural name
	})
	return s, inv
}

func TestCreateMissing(t *testing.T) {
	s, inv := createFixture(t)
	provided, err := ParseProvidedSecrets([]byte(providedJSON))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// Dry run: the plan, no call.
	fake := &fakeCreator{}
	dry, err := CreateMissing(ctx, BuildReport(s, inv, Options{}), provided, fake, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(fake.calls) != 0 {
		t.Fatalf("dry run called the API: %v", fake.calls)
	}

	res, err := CreateMissing(ctx, BuildReport(s, inv, Options{}), provided, fake, false)
	if err != nil {
		t.Fatal(err)
	}
	wantCalls := []string{
		"SECRET_SOURCE-A_2__CREDS connector=source-a",
		"SECRET_SOURCE-X_WAREHOUSE__CREDS connector=source-x_destination-y,filename=warehouse",
		"SECRET_SOURCE-A_CONFIG_OAUTH__CREDS connector=source-a,filename=config_oauth",
	}
	if !reflect.DeepEqual(fake.calls, wantCalls) {
		t.Errorf("calls:\n%s\nwant\n%s", strings.Join(fake.calls, "\n"), strings.Join(wantCalls, "\n"))
	}
	if fake.data["SECRET_SOURCE-X_WAREHOUSE__CREDS"] != `{"host": "warehouse-value-2"}` {
		t.Errorf("value sent: %q", fake.data["SECRET_SOURCE-X_WAREHOUSE__CREDS"])
	}
	var dryNames, names []string
	for _, c := range dry.Created {
		dryNames = append(dryNames, c.Secret)
	}
	for _, c := range res.Created {
		names = append(names, c.Secret)
		if c.Version != "1" {
			t.Errorf("%s: version %q", c.Secret, c.Version)
		}
	}
	if !reflect.DeepEqual(dryNames, names) {
		t.Errorf("dry run planned %v, the run created %v", dryNames, names)
	}
	reasons := func(l []Skipped) map[int]string {
		m := map[int]string{}
		for _, s := range l {
			m[s.Line] = s.Reason
		}
		return m
	}
	refused := reasons(res.Refused)
	if !strings.Contains(refused[5], "the value of NOT_JSON_CREDS is not JSON") || !strings.Contains(refused[6], "GITHUB_PROVIDED_SECRETS_JSON has no MISSING_CREDS") ||
		!strings.Contains(refused[14], "cannot create a secret for notes.txt: the file name cannot become a filename label") || len(refused) != 3 {
		t.Errorf("refused %v", refused)
	}
	manual := reasons(res.Manual)
	for line, sub := range map[int]string{7: "templated", 9: "derived in the script from BASE_CREDS (through D)", 10: "several variables (DUP1_CREDS, DUP2_CREDS)", 11: "several variables"} {
		if !strings.Contains(manual[line], sub) {
			t.Errorf("manual line %d: %q, want %q", line, manual[line], sub)
		}
	}
	if len(manual) != 4 {
		t.Errorf("manual: %v", manual)
	}
	if !res.Incomplete() {
		t.Error("refusals must make the run incomplete")
	}

	// Nothing the report prints holds a value.
	r := BuildReport(s, inv, Options{})
	r.Actions = &Actions{Create: res}
	for _, format := range Formats {
		var b bytes.Buffer
		if err := r.Write(&b, format); err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{"a-value-1", "warehouse-value-2", "plain-text-value-3"} {
			if strings.Contains(b.String(), v) {
				t.Errorf("%s output leaks %q", format, v)
			}
		}
	}

	// Run again against the new inventory: nothing left to create.
	inv2 := append(inv, res.Entries()...)
	again, err := CreateMissing(ctx, BuildReport(s, inv2, Options{}), provided, fake, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Created) != 0 || len(fake.calls) != 3 {
		t.Errorf("second run created %+v (calls %v)", again.Created, fake.calls)
	}
	r2 := BuildReport(s, inv2, Options{})
	for _, reg := range r2.Registrations {
		if reg.Connector == "source-x" && reg.Status != StatusServed {
			t.Errorf("source-x not served after create: %+v", reg)
		}
	}
}

// A leftover registration whose value is provided but whose file name
// cannot become a filename label is a refusal (the run fails), naming the
// line and the file; without a value it is only left to do by hand.
func TestCreateMissingBadFileNames(t *testing.T) {
	files := []string{"config|1.json", "my.config.json", "ABC.json", ".json", ".yaml"}
	var src strings.Builder
	for _, f := range files {
		fmt.Fprintf(&src, "read_secrets source-a \"$A_CREDS\" '%s'\n", f)
	}
	src.WriteString("read_secrets source-b \"$B_CREDS\" 'my.config.json'\n")
	src.WriteString("read_secrets source-c \"$C_CREDS\"\n")
	s := parse(t, src.String())
	if len(s.Registrations) != len(files)+2 {
		t.Fatalf("read %d registrations: %+v", len(s.Registrations), s.Registrations)
	}
	provided, _ := ParseProvidedSecrets([]byte(`{"A_CREDS": "{\"k\": \"bad-name-value\"}", "C_CREDS": "{}"}`))
	for _, dryRun := range []bool{true, false} {
		fake := &fakeCreator{}
		res, err := CreateMissing(context.Background(), BuildReport(s, nil, Options{}), provided, fake, dryRun)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Incomplete() || len(res.Refused) != len(files) {
			t.Fatalf("dry run %v: refused %+v, manual %+v", dryRun, res.Refused, res.Manual)
		}
		for i, r := range res.Refused {
			if r.Line != i+1 || r.File != files[i] || !strings.Contains(r.Reason, "cannot create a secret for "+files[i]+": the file name cannot become a filename label") {
				t.Errorf("refused %+v", r)
			}
			want := fmt.Sprintf("line %d (A_CREDS: file %s cannot become a filename label)", i+1, files[i])
			if r.Summary() != want {
				t.Errorf("summary %q, want %q", r.Summary(), want)
			}
		}
		// No value for B_CREDS: nothing to lose, left to do by hand.
		if len(res.Manual) != 1 || res.Manual[0].Variable != "B_CREDS" || !strings.Contains(res.Manual[0].Reason, "cannot become a filename label") {
			t.Errorf("manual %+v", res.Manual)
		}
		// The good registration is still created.
		if len(res.Created) != 1 || res.Created[0].Secret != "SECRET_SOURCE-C__CREDS" {
			t.Errorf("created %+v", res.Created)
		}
		if dryRun == (len(fake.calls) != 0) || len(fake.calls) > 1 {
			t.Errorf("dry run %v: calls %v", dryRun, fake.calls)
		}
		var b bytes.Buffer
		r := BuildReport(s, nil, Options{})
		r.Actions = &Actions{Create: res}
		if err := r.WriteTable(&b); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), "bad-name-value") || !strings.Contains(b.String(), "cannot create a secret for my.config.json") {
			t.Errorf("table:\n%s", b.String())
		}
	}
}

func TestCreateMissingFailures(t *testing.T) {
	s := parse(t, "read_secrets source-a \"$A_CREDS\"\nread_secrets source-b \"$B_CREDS\"\n")
	provided, _ := ParseProvidedSecrets([]byte(`{"A_CREDS": "{}", "B_CREDS": "{}"}`))
	fake := &fakeCreator{fail: map[string]error{"SECRET_SOURCE-A__CREDS": errors.New("permission denied: roles/secretmanager.admin")}}
	res, err := CreateMissing(context.Background(), BuildReport(s, nil, Options{}), provided, fake, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) != 1 || res.Failed[0].Secret != "SECRET_SOURCE-A__CREDS" || len(res.Created) != 1 || !res.Incomplete() {
		t.Errorf("result %+v", res)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := CreateMissing(ctx, BuildReport(s, nil, Options{}), provided, &fakeCreator{}, false); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
}

// The workflow's secret name is what GITHUB_PROVIDED_SECRETS_JSON holds.
func TestCreateMissingUsesMappedName(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/w.yml", "env:\n  FOO_CREDS: ${{ secrets.SOURCE_FOO_CREDS }}\n")
	wf, err := ReadWorkflows(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := parse(t, "read_secrets source-foo \"$FOO_CREDS\"\n")
	provided, _ := ParseProvidedSecrets([]byte(`{"SOURCE_FOO_CREDS": "{\"k\": 1}"}`))
	fake := &fakeCreator{}
	res, err := CreateMissing(context.Background(), BuildReport(s, nil, Options{Workflows: wf}), provided, fake, false)
	if err != nil || len(res.Created) != 1 || res.Created[0].GitHubSecret != "SOURCE_FOO_CREDS" {
		t.Fatalf("res %+v err %v", res, err)
	}
}

func TestParseProvidedSecrets(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", "is empty"},
		{`{"A": "secret-value-xyz"`, "is not valid JSON (syntax error at byte"},
		{`["secret-value-xyz"]`, "is not a JSON object"},
		{`null`, "is not a JSON object"},
	} {
		_, err := ParseProvidedSecrets([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrBadInput) {
			t.Errorf("%q: %v, want %q", tt.in, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret-value-xyz") {
			t.Errorf("error leaks the value: %v", err)
		}
	}
	p, err := ParseProvidedSecrets([]byte(`{"A": "secret-value-xyz", "B": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		if s := fmt.Sprintf(f, p); strings.Contains(s, "secret-value-xyz") {
			t.Errorf("%s prints the value: %s", f, s)
		}
	}
	if _, _, problem := p.value("B"); !strings.Contains(problem, "B in GITHUB_PROVIDED_SECRETS_JSON is not a string") {
		t.Errorf("non-string: %q", problem)
	}
}

func TestSecretNameAndChunks(t *testing.T) {
	taken := map[string]bool{"SECRET_SOURCE-A__CREDS": true, "SECRET_SOURCE-A_2__CREDS": true}
	if got := secretName("source-a", "config", taken); got != "SECRET_SOURCE-A_3__CREDS" {
		t.Errorf("got %s", got)
	}
	if got := secretName("source-a", "ssh_key-config", nil); got != "SECRET_SOURCE-A_SSH_KEY-CONFIG__CREDS" || !labels.IsSecretName(got) {
		t.Errorf("got %s", got)
	}
	var regs []Registration
	for i := 0; i < 6; i++ {
		regs = append(regs, Registration{Connector: fmt.Sprintf("destination-connector-%d", i)}) // 23 characters
	}
	chunks := chunkConnectors(regs)
	if len(chunks) != 3 || len(chunks[0]) != 2 {
		t.Fatalf("chunks %d", len(chunks))
	}
	for _, c := range chunks {
		var names []string
		for _, r := range c {
			names = append(names, r.Connector)
		}
		if l := len(strings.Join(names, "_")); l > 63 {
			t.Errorf("label of %d characters", l)
		}
	}
}
