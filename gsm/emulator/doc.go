// Package emulator is an in-memory Google Secret Manager that serves the real
// generated gRPC interface (secretmanagerpb.SecretManagerServiceServer), so the
// real cloud.google.com/go/secretmanager client runs against it unchanged over
// real gRPC on a local listener.
//
// It owns: the seed format (ParseSeed, LoadSeed, Seed) and its dump (Server.Dump,
// loadable again by ParseSeed); GSM's validation rules for secret IDs, labels and
// payloads; resource names (global and regional); the ListSecrets /
// ListSecretVersions filter language and paging; the `latest` alias and its
// FAILED_PRECONDITION rule; CRC32C on every payload; version state transitions;
// and the test machinery around a server: latency and jitter, fault injection
// (rates per method and per secret, changeable at runtime), per-project quotas,
// per-method call counts and a hard Stop. StartForTest starts one for a test.
//
// It must never: talk to the network beyond the listener it is given, hold
// package-level mutable state, or put payload data in any error or log message.
//
// Deliberate differences from the real service, each documented where it is
// implemented:
//   - resource names carry the project ID (GSM answers with the project number);
//   - an unknown project is NOT_FOUND (GSM usually answers PERMISSION_DENIED);
//   - ListSecrets returns secrets sorted by ID (GSM documents newest first, and
//     is inconsistent in practice: clients must sort anyway);
//   - page_size 0 means DefaultPageSize (100); above MaxPageSize it is capped,
//     as the API documents; a negative size is INVALID_ARGUMENT;
//   - `labels.K:V` and `name:V` are substring matches, `=` is exact;
//   - etags are returned but never checked; IAM and rotation methods are
//     UNIMPLEMENTED; the per-secret AddSecretVersion rate limit is not modelled;
//   - global and regional secrets are served from one endpoint (GSM serves
//     regional secrets from secretmanager.L.rep.googleapis.com).
package emulator
