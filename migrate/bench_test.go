package migrate

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/airbytehq/ci-secrets/labels"
)

// script300 is a 300-line script in all three shapes, the size of the
// largest real ones, with an inventory serving half of it.
func script300() ([]byte, []labels.Entry) {
	var b strings.Builder
	b.WriteString("#!/usr/bin/env bash\nset -e\n\n")
	b.WriteString(`function write_standard_creds() {
  local connector_name=$1
  local creds=$2
  local cred_filename=${3:-config.json}
  if [ "$connector_name" = "base-normalization" ]; then
    local secrets_dir="airbyte-integrations/bases/${connector_name}/secrets"
  else
    local secrets_dir="airbyte-integrations/connectors/${connector_name}/secrets"
  fi
  mkdir -p "$secrets_dir"
  echo "$creds" > "${secrets_dir}/${cred_filename}"
}
`)
	var inv []labels.Entry
	lines := strings.Count(b.String(), "\n")
	for i := 0; lines < 300; i++ {
		c := fmt.Sprintf("source-bench-%d", i)
		v := fmt.Sprintf("SOURCE_BENCH_%d_CREDS", i)
		switch i % 6 {
		case 0:
			fmt.Fprintf(&b, "D=airbyte-integrations/connectors/%s/secrets\nmkdir -p $D\necho \"$%s\" > \"$D/config.json\"\n", c, v)
			lines += 3
		case 1:
			fmt.Fprintf(&b, "jq --arg v \"$%s\" '.t = $v' sample.json > airbyte-integrations/connectors/%s/secrets/config.json\n", v, c)
			lines++
		case 2:
			fmt.Fprintf(&b, "X_%d=$(echo \"$%s\" | jq .)\nwrite_standard_creds %s \"$X_%d\" \"oauth.json\"\n", i, v, c, i)
			lines += 2
		case 3:
			fmt.Fprintf(&b, "# write_standard_creds %s \"$%s\"\nwrite_standard_creds %s \"${%s}\"\n", c, v, c, v)
			lines += 2
		default:
			fmt.Fprintf(&b, "read_secrets %s \"$%s\" \"config.json\"\n", c, v)
			lines++
		}
		if i%2 == 0 {
			e, _ := labels.Classify(fmt.Sprintf("SECRET_BENCH_%d_CREDS", i), map[string]string{"connector": c})
			inv = append(inv, e)
		}
	}
	return []byte(b.String()), inv
}

// BenchmarkReport300Lines reads a 300-line script and renders its report
// (the whole CPU cost of `migrate` apart from the network).
func BenchmarkReport300Lines(b *testing.B) {
	src, inv := script300()
	if n := strings.Count(string(src), "\n"); n < 300 {
		b.Fatalf("%d lines", n)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	cpu0, cpuOK := processCPU()
	n := 0
	for b.Loop() {
		n++
		s, err := ReadScript("ci_credentials.sh", src)
		if err != nil {
			b.Fatal(err)
		}
		r := BuildReport(s, inv, Options{})
		if err := r.WriteTable(io.Discard); err != nil {
			b.Fatal(err)
		}
		if err := r.WriteJSON(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	// The budget is CPU time: report it next to ns/op (the process's CPU
	// includes the GC's background work, so it is the honest figure).
	if cpu1, ok := processCPU(); ok && cpuOK && n > 0 {
		b.ReportMetric(float64(cpu1-cpu0)/float64(time.Millisecond)/float64(n), "cpu-ms/op")
	}
}
