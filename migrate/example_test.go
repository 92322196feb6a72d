package migrate_test

import (
	"fmt"
	"os"

	"github.com/airbytehq/ci-secrets/labels"
	"github.com/airbytehq/ci-secrets/migrate"
)

// The report of a small script in two shapes, against an inventory in which
// one GSM secret serves two connectors.
func ExampleBuildReport() {
	script, err := migrate.ReadScript("ci_credentials.sh", []byte(`
mkdir -p airbyte-integrations/connectors/source-s3/secrets
echo "$S3_CREDS" > airbyte-integrations/connectors/source-s3/secrets/config.json
read_secrets destination-s3 "$S3_CREDS"
read_secrets source-stripe "$STRIPE_CREDS" "config_oauth.json"
# read_secrets source-old "$OLD_CREDS"
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	s3, _ := labels.Classify("SECRET_S3_CREDS", map[string]string{"connector": "source-s3_destination-s3"})
	report := migrate.BuildReport(script, []labels.Entry{s3}, migrate.Options{})
	_ = report.Write(os.Stdout, migrate.FormatTable)
	// Output:
	// Script: ci_credentials.sh
	//
	// REGISTRATIONS
	// LINE  CONNECTOR       FILE               VARIABLE      KIND      STATUS    GSM SECRET
	// 3     source-s3       config.json        S3_CREDS      verbatim  served    SECRET_S3_CREDS
	// 4     destination-s3  config.json        S3_CREDS      verbatim  served    SECRET_S3_CREDS
	// 5     source-stripe   config_oauth.json  STRIPE_CREDS  verbatim  leftover  -
	//
	// VARIABLES
	// VARIABLE      GITHUB SECRET           REGISTRATIONS  SERVED  STATUS          LINES
	// S3_CREDS      S3_CREDS (assumed)      2              2       safe-to-delete  3,4
	// STRIPE_CREDS  STRIPE_CREDS (assumed)  1              0       leftover        5
	//
	// COMMENTED OUT
	// LINE  CONNECTOR   FILE         TEXT
	// 6     source-old  config.json  # read_secrets source-old "$OLD_CREDS"
	//
	// SAFE TO DELETE as far as the script goes (workflows not checked: pass --workflows; once the script no longer reads them: run --rewrite first)
	// warning: no workflows were read: GitHub secrets are assumed to be named like the script's variables, and a workflow may still read them; pass --workflows DIR (from the repository root, .github/workflows is read by default) before deleting
	// gh secret delete S3_CREDS
	//
	// SUMMARY: 3 registrations: 2 served, 1 leftover; 2 variables: 1 safe to delete
}
