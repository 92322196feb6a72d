package migrate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const rewriteScript = `#!/usr/bin/env bash
set -e
write_standard_creds() { echo "$2" > "airbyte-integrations/connectors/$1/secrets/${3:-config.json}"; }

mkdir -p airbyte-integrations/connectors/source-a/secrets
echo "$A_CREDS" > airbyte-integrations/connectors/source-a/secrets/config.json
DERIVED=$(echo "$BASE_CREDS" | jq .)
write_standard_creds source-b "$DERIVED"
write_standard_creds source-c "$C_CREDS"   # keep me? no: whole line goes
	write_standard_creds source-d "$D_CREDS"
write_standard_creds source-e "$E_CREDS"; echo done
mkdir -p x && write_standard_creds source-f "$F_CREDS"
if [ -n "$ALL" ]; then
  write_standard_creds source-g "$G_CREDS"
fi
if true; then
  write_standard_creds source-h "$H_CREDS"
  echo "still here"
fi
cat > airbyte-integrations/connectors/source-i/secrets/config.json <<EOF
$I_CREDS
EOF
write_standard_creds source-leftover "$LEFT_CREDS"
write_standard_creds source-j \
  "$J_CREDS" \
  config.json
write_standard_creds source-k "$K_CREDS"`

func servedAllBut(t *testing.T, s *Script, leftover ...string) []Registration {
	t.Helper()
	secrets := map[string]map[string]string{}
	for _, r := range s.Registrations {
		skip := false
		for _, l := range leftover {
			skip = skip || r.Connector == l
		}
		if !skip {
			secrets["SECRET_"+strings.ToUpper(r.Connector)+"_CREDS"] = map[string]string{"connector": r.Connector}
		}
	}
	return BuildReport(s, entries(t, secrets), Options{}).Registrations
}

func TestRewrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ci_credentials.sh")
	if err := os.WriteFile(path, []byte(rewriteScript), 0o751); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o751); err != nil {
		t.Fatal(err)
	}
	report := func() *Report {
		s, err := ReadScriptFile(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		r := BuildReport(s, nil, Options{})
		r.Registrations = servedAllBut(t, s, "source-leftover")
		return r
	}

	dry, err := Rewrite(report(), true)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != rewriteScript {
		t.Fatal("dry run wrote the file")
	}
	want := `#!/usr/bin/env bash
set -e
write_standard_creds() { echo "$2" > "airbyte-integrations/connectors/$1/secrets/${3:-config.json}"; }

mkdir -p airbyte-integrations/connectors/source-a/secrets
# ci-secrets migrate: source-a/config.json now comes from Secret Manager (SECRET_SOURCE-A_CREDS); it was $A_CREDS
DERIVED=$(echo "$BASE_CREDS" | jq .)
# ci-secrets migrate: source-b/config.json now comes from Secret Manager (SECRET_SOURCE-B_CREDS); it was $BASE_CREDS
# ci-secrets migrate: source-c/config.json now comes from Secret Manager (SECRET_SOURCE-C_CREDS); it was $C_CREDS
	# ci-secrets migrate: source-d/config.json now comes from Secret Manager (SECRET_SOURCE-D_CREDS); it was $D_CREDS
write_standard_creds source-e "$E_CREDS"; echo done
mkdir -p x && write_standard_creds source-f "$F_CREDS"
if [ -n "$ALL" ]; then
  write_standard_creds source-g "$G_CREDS"
fi
if true; then
  # ci-secrets migrate: source-h/config.json now comes from Secret Manager (SECRET_SOURCE-H_CREDS); it was $H_CREDS
  echo "still here"
fi
cat > airbyte-integrations/connectors/source-i/secrets/config.json <<EOF
$I_CREDS
EOF
write_standard_creds source-leftover "$LEFT_CREDS"
# ci-secrets migrate: source-j/config.json now comes from Secret Manager (SECRET_SOURCE-J_CREDS); it was $J_CREDS
# ci-secrets migrate: source-k/config.json now comes from Secret Manager (SECRET_SOURCE-K_CREDS); it was $K_CREDS`
	kept := map[string]string{}
	for _, k := range dry.Kept {
		kept[k.Connector] = k.Reason
	}
	for c, sub := range map[string]string{
		"source-e": "shares its line", "source-f": "part of a larger command",
		"source-g": "bash does not allow empty", "source-i": "here-document",
	} {
		if !strings.Contains(kept[c], sub) {
			t.Errorf("%s kept for %q, want %q", c, kept[c], sub)
		}
	}
	if len(dry.Removed) != 7 || len(kept) != 4 || !dry.Changed {
		t.Errorf("removed %+v kept %v", dry.Removed, kept)
	}
	if len(dry.Hints) != 1 || !strings.Contains(dry.Hints[0], "DERIVED (assigned on line 7) is no longer read") {
		t.Errorf("hints %q", dry.Hints)
	}
	wantDiff := `--- ` + diffName("a", path) + `
+++ ` + diffName("b", path) + `
@@ -3,25 +3,23 @@
 write_standard_creds() { echo "$2" > "airbyte-integrations/connectors/$1/secrets/${3:-config.json}"; }
 
 mkdir -p airbyte-integrations/connectors/source-a/secrets
-echo "$A_CREDS" > airbyte-integrations/connectors/source-a/secrets/config.json
+# ci-secrets migrate: source-a/config.json now comes from Secret Manager (SECRET_SOURCE-A_CREDS); it was $A_CREDS
 DERIVED=$(echo "$BASE_CREDS" | jq .)
-write_standard_creds source-b "$DERIVED"
+# ci-secrets migrate: source-b/config.json now comes from Secret Manager (SECRET_SOURCE-B_CREDS); it was $BASE_CREDS
-write_standard_creds source-c "$C_CREDS"   # keep me? no: whole line goes
+# ci-secrets migrate: source-c/config.json now comes from Secret Manager (SECRET_SOURCE-C_CREDS); it was $C_CREDS
-	write_standard_creds source-d "$D_CREDS"
+	# ci-secrets migrate: source-d/config.json now comes from Secret Manager (SECRET_SOURCE-D_CREDS); it was $D_CREDS
 write_standard_creds source-e "$E_CREDS"; echo done
 mkdir -p x && write_standard_creds source-f "$F_CREDS"
 if [ -n "$ALL" ]; then
   write_standard_creds source-g "$G_CREDS"
 fi
 if true; then
-  write_standard_creds source-h "$H_CREDS"
+  # ci-secrets migrate: source-h/config.json now comes from Secret Manager (SECRET_SOURCE-H_CREDS); it was $H_CREDS
   echo "still here"
 fi
 cat > airbyte-integrations/connectors/source-i/secrets/config.json <<EOF
 $I_CREDS
 EOF
 write_standard_creds source-leftover "$LEFT_CREDS"
-write_standard_creds source-j \
-  "$J_CREDS" \
-  config.json
+# ci-secrets migrate: source-j/config.json now comes from Secret Manager (SECRET_SOURCE-J_CREDS); it was $J_CREDS
-write_standard_creds source-k "$K_CREDS"
\ No newline at end of file
+# ci-secrets migrate: source-k/config.json now comes from Secret Manager (SECRET_SOURCE-K_CREDS); it was $K_CREDS
\ No newline at end of file
`
	if dry.Diff != wantDiff {
		t.Errorf("diff:\n%s\nwant\n%s", dry.Diff, wantDiff)
	}

	res, err := Rewrite(report(), false)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != want {
		t.Errorf("rewritten:\n%s\nwant\n%s", got, want)
	}
	if res.Diff != dry.Diff {
		t.Error("the run's diff differs from the dry run's")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o751 {
		t.Errorf("mode %v, want 0751", fi.Mode().Perm())
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "*")); len(leftovers) != 1 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	// Idempotent: the removed registrations are gone, nothing changes.
	again, err := Rewrite(report(), false)
	if err != nil {
		t.Fatal(err)
	}
	if again.Changed || len(again.Removed) != 0 || again.Diff != "" {
		t.Errorf("second run: %+v", again)
	}
	if got2, _ := os.ReadFile(path); string(got2) != want {
		t.Error("second run changed the file")
	}
}

func TestRewriteRefusals(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.sh")
	src := "read_secrets source-a \"$A_CREDS\"\nread_secrets source-b \"$B_CREDS\"\n"
	writeFile(t, path, src)
	s, err := ReadScriptFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	r := BuildReport(s, entries(t, map[string]map[string]string{"SECRET_A_CREDS": {"connector": "source-a"}}), Options{})

	writeFile(t, path, src+"# edited meanwhile\n")
	if _, err := Rewrite(r, false); !errors.Is(err, ErrScriptChanged) {
		t.Errorf("changed file: %v", err)
	}

	target := filepath.Join(dir, "real.sh")
	writeFile(t, target, src)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	if _, err := Rewrite(r, false); err == nil || !strings.Contains(err.Error(), "is a symbolic link") {
		t.Errorf("symlink: %v", err)
	}
	if got, _ := os.ReadFile(target); string(got) != src {
		t.Error("the symlink target was changed")
	}
	// A dry run touches nothing, so it works on a symlink too.
	if res, err := Rewrite(r, true); err != nil || !res.Changed {
		t.Errorf("dry run: %+v %v", res, err)
	}
}

func TestUnifiedDiff(t *testing.T) {
	tests := []struct {
		name    string
		old     string
		removed []int
		want    string
	}{
		{"nothing", "a\n", nil, ""},
		{"only line", "a\n", []int{1}, "@@ -1 +0,0 @@\n-a\n"},
		{"first", "a\nb\nc\nd\ne\n", []int{1}, "@@ -1,4 +1,3 @@\n-a\n b\n c\n d\n"},
		{"last without newline", "a\nb", []int{2}, "@@ -1,2 +1 @@\n a\n-b\n\\ No newline at end of file\n"},
		{"kept last without newline", "a\nb", []int{1}, "@@ -1,2 +1 @@\n-a\n b\n\\ No newline at end of file\n"},
		{"two hunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", []int{2, 11}, "@@ -1,5 +1,4 @@\n 1\n-2\n 3\n 4\n 5\n@@ -8,5 +7,4 @@\n 8\n 9\n 10\n-11\n 12\n"},
		{"merged hunk", "1\n2\n3\n4\n5\n6\n7\n8\n9\n", []int{2, 8}, "@@ -1,9 +1,7 @@\n 1\n-2\n 3\n 4\n 5\n 6\n 7\n-8\n 9\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rm := map[int]bool{}
			for _, l := range tt.removed {
				rm[l] = true
			}
			got := UnifiedDiff("a", "b", []byte(tt.old), rm)
			if tt.want != "" {
				tt.want = "--- a\n+++ b\n" + tt.want
			}
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
