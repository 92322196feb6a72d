// Package emulator is an in-memory Google Secret Manager that serves the real
// generated gRPC interface (secretmanagerpb.SecretManagerServiceServer, and
// the google.cloud.location.Locations mixin) and, on the same port, the REST
// mapping its google.api.http annotations define, transcoded by vanguard from
// the descriptors the generated packages carry. The real
// cloud.google.com/go/secretmanager client runs against it unchanged, through
// NewClient (gRPC, h2c) and NewRESTClient (HTTP/1.1 or h2c); curl and the
// other languages' clients too.
//
// It owns: the seed format (ParseSeed, LoadSeed, Seed) and its dump (Server.Dump,
// loadable again by ParseSeed); GSM's validation rules for secret IDs, labels,
// annotations, aliases, topics, rotation, expiry, destroy TTLs, KMS keys and
// payloads; resource names (global and regional); the ListSecrets /
// ListSecretVersions filter language and paging; the `latest` alias, version
// aliases and the FAILED_PRECONDITION rules; etags on every write; CRC32C on
// every payload; version state transitions and delayed destruction; expiry;
// per-secret IAM policies (optionally enforced, Options.IAMEnforce); locations;
// Google's JSON error shape on REST; and the test machinery around a server:
// latency and jitter (waited out through an injectable Sleep), fault injection
// (rates per method and per secret, changeable at runtime), per-project quotas,
// per-method call counts and a hard Stop. Its clock (Options.Now) drives create
// times, expiry, scheduled destruction and quota windows. StartForTest starts
// one for a test.
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
//   - IAM: predefined Secret Manager and basic roles only, no conditions (they
//     are refused), no project-level policy: a secret without a policy grants
//     everything, and calls naming no secret (lists, creates) are not checked;
//   - typed secrets (secret_type other than unspecified) and the managed
//     rotation methods are refused; rotation never fires (no Pub/Sub), and
//     topics are checked for their form only;
//   - KMS keys are checked for their form and location only; every key has one
//     version (cryptoKeyVersions/1);
//   - REST answers carry enums as names even when a client asks for
//     enum-encoding=int (every official client reads both);
//   - the per-secret AddSecretVersion rate limit is not modelled;
//   - global and regional secrets are served from one endpoint (GSM serves
//     regional secrets from secretmanager.L.rep.googleapis.com).
package emulator
