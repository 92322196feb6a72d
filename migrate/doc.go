// Package migrate audits and finishes the move of CI credentials from the
// legacy ci_credentials.sh script and GitHub Actions secrets to Google Secret
// Manager.
//
// It owns four things:
//
//   - reading the legacy script with a real shell parser (mvdan.cc/sh) into
//     registrations: which GitHub secret (environment variable) is written to
//     which connector's secrets file, verbatim, from a template or derived in
//     the script. All three historical shapes are understood; every other
//     statement that touches a secret-like variable is reported as
//     unrecognized rather than dropped;
//   - reading GitHub workflow files (a real YAML parser) to map environment
//     names to GitHub secret names and to find every other reference to a
//     secret, each attributed to its step: only entries reaching a step
//     that runs the script feed it, everything else is another reader;
//   - the report: matching registrations against a GSM inventory
//     ([]labels.Entry) and the enabled versions of the serving secrets
//     (through the tiny VersionChecker interface, metadata only), and
//     deciding, per variable, whether its GitHub secret is safe to delete;
//     rendered as a table, JSON or Markdown;
//   - the finishing actions: creating missing GSM secrets from the values in
//     GITHUB_PROVIDED_SECRETS_JSON (through the tiny SecretCreator interface),
//     rewriting the script without its served registrations, and checking the
//     GitHub secrets that are safe to delete against the repository.
//
// It knows nothing of cobra or of the Secret Manager client types. It never
// puts a secret value in an error, a log line or a report: values from
// GITHUB_PROVIDED_SECRETS_JSON travel only to SecretCreator.CreateSecret.
package migrate
