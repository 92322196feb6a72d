#!/usr/bin/env bash

. tools/lib/lib.sh

set -e

CONNECTOR_NAME=$1
declare -A SECRET_MAP

function read_secrets() {
  local connector_name=$1
  local creds=$2
  local cred_filename=${3:-config.json}
  local secrets_provider_name=${4:-github}

  [ -z "$connector_name" ] && error "Empty connector name"
  [ -z "$creds" ] && echo "!!!!!Creds not set for the connector $connector_name from ${secrets_provider_name}"

  if [[ $CONNECTOR_NAME != "all" && ${connector_name} != ${CONNECTOR_NAME} ]]; then
    return 0
  fi
  local key="${connector_name}#${cred_filename}"
  [[ -z "${creds}" ]] && error "Empty credential for the connector '${key} from ${secrets_provider_name}"

  if [ -v SECRET_MAP[${key}] ]; then
    echo "The connector '${key}' was added before"
    return 0
  fi
  echo "register the secret ${key} from ${secrets_provider_name}"
  SECRET_MAP[${key}]="${creds}"
  return 0
}

function write_secret_to_disk() {
  local connector_name=$1
  local cred_filename=$2
  local creds=$3
  if jq -e . >/dev/null 2>&1 <<< "${creds}"; then
    echo "Parsed JSON for '${connector_name}' secrets"
  else
    echo "Failed to parse JSON for '${connector_name}' secrets"
    exit 1
  fi

  if [ "$connector_name" = "base-normalization" ]; then
    local secrets_dir="airbyte-integrations/bases/${connector_name}/secrets"
  else
    local secrets_dir="airbyte-integrations/connectors/${connector_name}/secrets"
  fi
  mkdir -p "$secrets_dir"
  echo "Saved a secret => ${secrets_dir}/${cred_filename}"
  echo "$creds" > "${secrets_dir}/${cred_filename}"
}

function write_all_secrets() {
  for key in "${!SECRET_MAP[@]}"; do
    local connector_name=$(echo ${key} | cut -d'#' -f1)
    local cred_filename=$(echo ${key} | cut -d'#' -f2)
    local creds=${SECRET_MAP[${key}]}
    write_secret_to_disk ${connector_name} ${cred_filename} "${creds}"
  done
  return 0
}

function export_github_secrets() {
  local pairs=`echo ${GITHUB_PROVIDED_SECRETS_JSON} | jq -c 'keys[] as $k | {"name": $k, "value": .[$k]} | {(.name): .value}'`
  while read row; do
    pair=$(echo "${row}" | tr -d '"' | sed 's/[{}]//g')
    local key="${pair%%:*}"
    local value="${pair#*:}"
    if [[ "$key" == *"_CREDS"* ]]; then
      declare -gxr "${key}=$(echo ${value})"
    fi
  done <<< ${pairs}
  unset GITHUB_PROVIDED_SECRETS_JSON
}

function export_gsm_secrets() {
  local config_file=`mktemp`
  echo "${GCP_GSM_CREDENTIALS}" > ${config_file}
  local access_token=$(get_gcp_access_token "${config_file}")
  local project_id=$(parse_project_id "${config_file}")
  rm ${config_file}

  local filter="name:SECRET_"
  [[ ${CONNECTOR_NAME} != "all" ]] && filter="${filter} AND labels.connector=${CONNECTOR_NAME}"
  local uri="https://secretmanager.googleapis.com/v1/projects/${project_id}/secrets"
  local next_token=''
  while true; do
    local data=$(curl -s --get --fail "${uri}" \
      --data-urlencode "filter=${filter}" \
      --data-urlencode "pageToken=${next_token}" \
      --header "authorization: Bearer ${access_token}")
    [[ -z ${data} ]] && error "Can't load secret for connector ${CONNECTOR_NAME}"
    for row in $(jq -r '.secrets[] | "\(.name);\(.labels.connector);\(.labels.filename)"' <<< ${data}); do
      local secret_name="${row%%;*}"
      local connector_name="${row#*;}"
      local filename="${connector_name#*;}"
      connector_name="${connector_name%;*}"
      local secret_value=$(get_secret_value "${secret_name}" "${access_token}")
      read_secrets "${connector_name}" "${secret_value}" "${filename}.json" ${secret_name}
    done
    next_token=`echo ${data} | jq -r '.nextPageToken // empty'`
    [[ -z ${next_token} ]] && break
  done
  return 0
}

export_gsm_secrets
export_github_secrets

# Please maintain this organisation and alphabetise.
read_secrets base-normalization "$BASE_NORMALIZATION_BIGQUERY_CREDS" "bigquery.json"
read_secrets base-normalization "$BASE_NORMALIZATION_SNOWFLAKE_CREDS" "snowflake.json"
read_secrets destination-bigquery "$BIGQUERY_INTEGRATION_TEST_CREDS" "credentials.json"
read_secrets destination-bigquery "$BASE_NORMALIZATION_BIGQUERY_CREDS" "config.json"
read_secrets destination-snowflake "$SNOWFLAKE_INTEGRATION_TEST_CREDS" "config.json"
read_secrets source-github "$GH_INTEGRATION_TEST_CREDS"
read_secrets source-github "$GH_NATIVE_INTEGRATION_TEST_CREDS" "config_oauth.json" github
read_secrets source-hubspot "$SOURCE_HUBSPOT_CREDS"
read_secrets source-hubspot "$SOURCE_HUBSPOT_CREDS"

write_all_secrets
exit $?
