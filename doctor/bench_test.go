package doctor

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

// BenchmarkDoctor2000 is the size target: a project of 2,000
// secrets (four per connector: config.json and three more files) and a
// monorepo of 500 connector folders, each with an acceptance-test-config.yml,
// a metadata.yaml and a synced secrets folder, in a real git repository.
// It reports the wall time of one whole doctor run (one ListSecrets, 2,000
// ListSecretVersions, the scan, git, the checks) with pacing off, as with a
// raised quota, against an emulator answering at once and after 20 ms per
// call, with and without --drift (2,000 more access requests), and the
// request counts. paced-s is what the default pace (300 reads a minute, half
// the project's quota) makes the same run last at least.
//
//	go test ./doctor -run '^$' -bench Doctor2000 -benchtime 1x
func BenchmarkDoctor2000(b *testing.B) {
	const connectors, perConnector = 500, 4
	root := b.TempDir()
	var secrets []emulator.SeedSecret
	tree := map[string]string{}
	for i := range connectors {
		name := fmt.Sprintf("source-bench%03d", i)
		dir := "airbyte-integrations/connectors/" + name
		var config, meta string
		for j := range perConnector {
			stem, id := "config", fmt.Sprintf("SECRET_SOURCE-BENCH%03d_CREDS", i)
			if j > 0 {
				stem, id = fmt.Sprintf("extra%d", j), fmt.Sprintf("SECRET_SOURCE-BENCH%03d_EXTRA%d__CREDS", i, j)
			}
			lbls := map[string]string{"connector": name}
			if j > 0 {
				lbls["filename"] = stem
			}
			data := fmt.Sprintf(`{"user": "u%d-%d", "password": "p%d-%d", "nested": {"host": "h%d"}}`, i, j, i, j, i)
			secrets = append(secrets, seedSecret(id, lbls, ":"+data))
			config += fmt.Sprintf("      - config_path: secrets/%s.json\n", stem)
			meta += fmt.Sprintf("        - name: %s\n          fileName: %s.json\n", id, stem)
			tree[dir+"/secrets/"+stem+".json"] = data
		}
		tree[dir+"/acceptance-test-config.yml"] = "acceptance_tests:\n  connection:\n    tests:\n" + config
		tree[dir+"/metadata.yaml"] = "data:\n  connectorTestSuitesOptions:\n    - suite: acceptanceTests\n      testSecrets:\n" + meta
		tree[dir+"/secrets/.gitignore"] = "*\n"
	}
	files(b, root, tree)
	gitOK := false
	if _, err := exec.LookPath("git"); err == nil {
		for _, args := range [][]string{{"init", "-q", "."}, {"add", "."}, {"-c", "user.email=b@example.com", "-c", "user.name=b", "commit", "-q", "-m", "bench"}} {
			cmd := exec.Command("git", append([]string{"-C", root}, args...)...)
			cmd.Env = append(cmd.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+root)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("git %v: %v\n%s", args, err, out)
			}
		}
		gitOK = true
	}
	for _, latency := range []time.Duration{0, 20 * time.Millisecond} {
		for _, drift := range []bool{false, true} {
			b.Run(fmt.Sprintf("latency=%s/drift=%t", latency, drift), func(b *testing.B) {
				c, srv := startStore(b, secrets, emulator.Options{Latency: latency})
				var rep Report
				var wall time.Duration
				for range b.N {
					srv.ResetCalls()
					start := time.Now()
					var err error
					rep, err = Run(context.Background(), c, Options{Scope: Scope{All: true}, Root: root, Drift: drift, Pace: NewPacer(0), Project: "p"})
					if err != nil {
						b.Fatal(err)
					}
					wall += time.Since(start)
				}
				if len(rep.Problems) != 0 || rep.Secrets != connectors*perConnector || rep.Connectors != connectors {
					b.Fatalf("the benchmark project is not healthy: %d problems (first %+v), %d secrets, %d connectors",
						len(rep.Problems), first(rep.Problems), rep.Secrets, rep.Connectors)
				}
				if gitOK && len(rep.Skipped) != 0 {
					b.Fatalf("skipped %+v", rep.Skipped)
				}
				calls := srv.Calls()
				b.ReportMetric((wall / time.Duration(b.N)).Seconds(), "wall-s")
				b.ReportMetric(float64(calls["ListSecrets"]), "ListSecrets")
				b.ReportMetric(float64(calls["ListSecretVersions"]), "ListSecretVersions")
				b.ReportMetric(float64(calls["AccessSecretVersion"]), "AccessSecretVersion")
				b.ReportMetric(NewPacer(DefaultReadsPerMinute).Estimate(connectors*perConnector).Seconds(), "paced-s")
			})
		}
	}
}

func first(ps []Problem) any {
	if len(ps) == 0 {
		return nil
	}
	return ps[0]
}
