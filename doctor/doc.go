// Package doctor says whether a project's CI secrets, and the monorepo around
// them, are healthy: label and naming problems, version states, secrets for
// connectors that no longer exist, secrets files the tests need that no
// secret provides, secrets folders git does not ignore or files it tracks,
// loose modes, refreshed configs never pushed, and (on request) local files
// that drifted from Secret Manager.
//
// The checks are pure functions over three inputs: the store's inventory
// (one ListSecrets and, where needed, version metadata), a scan of the
// repository, and git's answers. Gathering those inputs (ScanRepo, AskGit,
// FetchVersions, ReadDrift) is kept apart from the checks, so every check is
// table-tested without a server, a disk or git.
//
// It never prints, logs or returns a secret value: drift is reported by JSON
// path only, and no hash of a value leaves the package. Every text that came
// from a server or the repository (secret IDs, label values, file names, YAML)
// is made printable (control characters escaped) before it enters a Problem.
package doctor
