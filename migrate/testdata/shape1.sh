#!/usr/bin/env bash
# Shape 1: raw shell, the earliest form.
set -e

mkdir airbyte-integrations/connectors/source-one/secrets/
echo "$SOURCE_ONE_CREDS" > airbyte-integrations/connectors/source-one/secrets/config.json
echo ${SOURCE_ONE_OAUTH} > airbyte-integrations/connectors/source-one/secrets/config_oauth.json

mkdir -p airbyte-integrations/connectors/source-two/secrets
TWO_DIR=airbyte-integrations/connectors/source-two/secrets
echo $SOURCE_TWO_CREDS > $TWO_DIR/config.json
printf '%s' "$SOURCE_TWO_SSH" > "${TWO_DIR}/ssh-key-config.json"

# The same variable name, reassigned for another connector.
TWO_DIR=airbyte-integrations/connectors/destination-two/secrets/
mkdir -p "$TWO_DIR"
echo "$DEST_TWO_CREDS" > "${TWO_DIR}/config.json"
echo "$TRACKER_TOKEN" > "$TWO_DIR/tracker.txt"

jq --arg key "$THREE_API_KEY" --arg secret "$THREE_API_SECRET" '.api_key = $key | .api_secret = $secret' \
  airbyte-integrations/connectors/source-three/integration_tests/sample_config.json > airbyte-integrations/connectors/source-three/secrets/config.json

cat > airbyte-integrations/connectors/source-four/secrets/config.json <<EOF2
$SOURCE_FOUR_CREDS
EOF2
cat <<EOF2 > airbyte-integrations/connectors/source-four/secrets/templated.json
{"token": "$SOURCE_FOUR_TOKEN"}
EOF2

echo "$NORMALIZATION_BQ" | jq '.dataset = "ci"' > airbyte-integrations/bases/base-normalization/secrets/bigquery.json

# A missing "$": writes the literal text, not the secret.
echo "SOURCE_FIVE_CREDS" > airbyte-integrations/connectors/source-five/secrets/config.json

# Not a secrets file at all.
echo "$SOURCE_ONE_CREDS" > /tmp/debug.json
echo "$AUDIT_TOKEN" >> airbyte-integrations/connectors/source-six/secrets/config.json
