#!/usr/bin/env bash
# Cross-builds ci-secrets for linux, darwin and windows on amd64 and arm64
# into dist/, with -trimpath and the version stamped, and writes SHA256SUMS.
# Needs only Go (git, when present, supplies the commit).
#
#   scripts/release.sh v1.2.3        # a release
#   scripts/release.sh               # a snapshot: version "(devel)"
#
# Output names follow the action's download: ci-secrets_<version>_<os>_<arch>[.exe].
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-${VERSION:-}}"
commit="${COMMIT:-$(git rev-parse HEAD 2>/dev/null || true)}"
semver='^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$'
if [ -n "$version" ] && ! [[ "$version" =~ $semver ]]; then
  echo "release.sh: version $version is not a tag like v1.2.3" >&2
  exit 2
fi
label="${version:-snapshot}"
ldflags="-s -w"
[ -n "$version" ] && ldflags="$ldflags -X main.releaseVersion=$version"
[ -n "$commit" ] && ldflags="$ldflags -X main.releaseCommit=$commit"

rm -rf dist
mkdir -p dist
for os in linux darwin windows; do
  for arch in amd64 arm64; do
    ext=""
    [ "$os" = windows ] && ext=".exe"
    out="dist/ci-secrets_${label}_${os}_${arch}${ext}"
    echo "build $out"
    CGO_ENABLED=0 GOOS="$os" GOARCH="$arch" go build -trimpath -ldflags "$ldflags" -o "$out" ./cmd/ci-secrets
  done
done
# A checksum file in the format of sha256sum, written by Go so no other tool is needed.
go run ./scripts/sha256sums dist > dist/SHA256SUMS.tmp
mv dist/SHA256SUMS.tmp dist/SHA256SUMS
cat dist/SHA256SUMS
