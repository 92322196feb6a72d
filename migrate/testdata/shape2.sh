#!/usr/bin/env bash
. tools/lib/lib.sh
set -e

function write_standard_creds() {
  local connector_name=$1
  local creds=$2
  local cred_filename=${3:-config.json}

  [ -z "$connector_name" ] && error "Empty connector name"
  [ -z "$creds" ] && error "Creds not set for $connector_name"

  case "$connector_name" in
    base-normalization|base-java)
      local secrets_dir="airbyte-integrations/bases/${connector_name}/secrets"
      ;;
    *)
      local secrets_dir="airbyte-integrations/connectors/${connector_name}/secrets"
      ;;
  esac
  mkdir -p "$secrets_dir"
  echo "$creds" > "${secrets_dir}/${cred_filename}"
}

write_standard_creds source-alpha "$SOURCE_ALPHA_CREDS"
write_standard_creds source-alpha "$SOURCE_ALPHA_OAUTH_CREDS" "config_oauth.json"   
write_standard_creds source-beta "${SOURCE_BETA_CREDS}" "config.json"
write_standard_creds source-gamma $SOURCE_GAMMA_CREDS
write_standard_creds base-java "$WAREHOUSE_CREDS" "warehouse.json"
write_standard_creds destination-warehouse "$WAREHOUSE_CREDS"
write_standard_creds source-warehouse "$WAREHOUSE_CREDS"
# write_standard_creds source-retired "$SOURCE_RETIRED_CREDS"
#write_standard_creds source-retired "$SOURCE_RETIRED_CREDS" "config_oauth.json"
# Comment lines that are just prose are not commented-out registrations.

# A value derived in two steps from two secrets.
HOST_PART=$(echo "$DELTA_HOST_CREDS" | jq -c '{host}')
DELTA_CONFIG=$(jq -n --argjson a "$HOST_PART" --argjson b "$DELTA_AUTH_CREDS" '$a + $b')
write_standard_creds source-delta "$DELTA_CONFIG"

# An alias is still the secret itself.
EPSILON_ALIAS="$SOURCE_EPSILON_CREDS"
write_standard_creds source-epsilon "$EPSILON_ALIAS"

# Registered twice: the same pair with another variable.
write_standard_creds source-alpha "$SOURCE_ALPHA_CREDS_V2"
write_standard_creds source-gamma "$SOURCE_GAMMA_CREDS"

# Not understood: a loop, a check, a non-literal connector.
for c in source-zeta source-eta; do write_standard_creds "$c" "$ZETA_CREDS"; done
[ -n "$SOURCE_THETA_CREDS" ] || echo "theta is missing"
write_standard_creds "source-iota" "SOURCE_IOTA_CREDS"
