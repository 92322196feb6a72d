#!/usr/bin/env bash
# Runs every fuzz target in the module for the given time each (default 5s).
# A longer run, as documented in README.md: scripts/fuzz.sh 5m
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-5s}"
for pkg in $(go list ./...); do
  dir="$(go list -f '{{.Dir}}' "$pkg")"
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "fuzz $pkg $target ($fuzztime)"
    go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime"
  done
done
