#!/usr/bin/env bash
# tools/bin/ci_credentials.sh, as it looked mid-migration: all three shapes.
. tools/lib/lib.sh
set -e

function write_standard_creds() {
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

# Shape 1
mkdir -p airbyte-integrations/connectors/source-s3/secrets/
echo "$AWS_S3_INTEGRATION_TEST_CREDS" > airbyte-integrations/connectors/source-s3/secrets/config.json
MYSQL_DIR=airbyte-integrations/connectors/source-mysql/secrets
mkdir $MYSQL_DIR
echo "$MYSQL_SSH_KEY_CREDS" > "${MYSQL_DIR}/ssh-key-config.json"
jq --arg t "$STRIPE_TOKEN" '.client_secret = $t' airbyte-integrations/connectors/source-stripe/sample_config.json > airbyte-integrations/connectors/source-stripe/secrets/config.json
echo "ZENDESK_CREDS" > airbyte-integrations/connectors/source-zendesk/secrets/config.json

# Shape 2
write_standard_creds destination-bigquery "$BIGQUERY_INTEGRATION_TEST_CREDS" "credentials.json"
write_standard_creds source-bigquery "$BIGQUERY_INTEGRATION_TEST_CREDS" "credentials.json"
write_standard_creds base-normalization "$BIGQUERY_INTEGRATION_TEST_CREDS" "bigquery.json"
write_standard_creds destination-mysql "$MYSQL_SSH_KEY_CREDS" "ssh-key-config.json"
# write_standard_creds source-old-api "$OLD_API_CREDS"
SNOWFLAKE_OAUTH=$(echo "$SNOWFLAKE_CREDS" | jq '.credentials.auth_type = "OAuth"')
write_standard_creds destination-snowflake "$SNOWFLAKE_OAUTH" "config_oauth.json"

# Shape 3
read_secrets source-hubspot "$SOURCE_HUBSPOT_CREDS"
read_secrets source-hubspot "$SOURCE_HUBSPOT_OAUTH_CREDS" "config_oauth.json"
read_secrets source-github "${GH_CREDS}"
read_secrets source-github "$GH_CREDS"
[ -z "$SENTRY_DSN" ] || echo "$SENTRY_DSN" | sentry-cli login
