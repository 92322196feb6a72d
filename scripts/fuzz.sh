#!/usr/bin/env bash
# Runs every fuzz target in the module for the given time each (default 5s).
# A longer run, as documented in README.md: scripts/fuzz.sh 5m
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-5s}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

# fuzz_once runs one target; its output goes to the terminal and to $out.
fuzz_once() {
  go test "$1" -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" 2>&1 | tee "$out"
  return "${PIPESTATUS[0]}"
}

for pkg in $(go list ./...); do
  dir="$(go list -f '{{.Dir}}' "$pkg")"
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "fuzz $pkg $target ($fuzztime)"
    if fuzz_once "$pkg" "$target"; then
      continue
    fi
    # Go's fuzzing engine can report its own time limit as a failure when
    # the limit falls while it minimizes an input (a race between its
    # contexts, seen on loaded machines). That failure names no input; any
    # finding does ("Failing input written to ..."), and fails at once.
    if grep -q 'Failing input written' "$out" || ! grep -q '^    context deadline exceeded$' "$out"; then
      exit 1
    fi
    echo "fuzz $pkg $target: the engine reported its own time limit as a failure, with no failing input; running it once more"
    fuzz_once "$pkg" "$target"
  done
done
