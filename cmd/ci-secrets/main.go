// Command ci-secrets puts CI test credentials from Google Secret Manager where
// connector tests expect them, audits the move off the legacy script, writes
// refreshed credentials back, and serves a local Secret Manager emulator.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], stdio())) }
