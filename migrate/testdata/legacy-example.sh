#!/usr/bin/env bash
. tools/lib/lib.sh
set -e

function write_standard_creds() {
  local connector_name=$1
  local creds=$2
  local cred_filename=${3:-config.json}
  local secrets_dir="airbyte-integrations/connectors/${connector_name}/secrets"
  mkdir -p "$secrets_dir"
  echo "$creds" > "${secrets_dir}/${cred_filename}"
}

mkdir airbyte-integrations/connectors/source-alpha/secrets/
echo "$ALPHA_TEST_CREDS" > airbyte-integrations/connectors/source-alpha/secrets/config.json

BETA_DIR=airbyte-integrations/connectors/source-beta/secrets
mkdir $BETA_DIR
echo "$WAREHOUSE_CREDS" > "${BETA_DIR}/warehouse.json"
jq --arg v "$BETA_TOKEN" '.api_token = $v' airbyte-integrations/connectors/source-beta/sample.json > "${BETA_DIR}/config.json"

write_standard_creds destination-gamma "$WAREHOUSE_CREDS" "credentials.json"
write_standard_creds destination-gamma "$GAMMA_SSH_CREDS" "ssh-config.json"
# write_standard_creds source-old "$OLD_CREDS"
DELTA_CREDS=$(echo "$DELTA_BASE_CREDS" | jq '.region = "eu"')
write_standard_creds source-delta "$DELTA_CREDS"

read_secrets source-epsilon "${EPSILON_CREDS}"
read_secrets source-epsilon "$EPSILON_OAUTH_CREDS" "config_oauth.json"
read_secrets base-normalization "$WAREHOUSE_CREDS" "warehouse.json"
