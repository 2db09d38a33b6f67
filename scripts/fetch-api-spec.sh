#!/usr/bin/env bash
# The Docker Engine API spec the tests check responses against: moby's own
# v1.43 document, from its Go module through the module proxy (pinned), copied
# next to the Node packages. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

MOBY_API_MODULE=github.com/moby/moby/api
MOBY_API_VERSION=v1.56.0
DEST=node_modules/.cache/nerdctld/docker-api
WANT="$DEST/v1.43.yaml"
STAMP="$DEST/.source"

if [[ -f $WANT && $(cat "$STAMP" 2>/dev/null) == "$MOBY_API_MODULE@$MOBY_API_VERSION" ]]; then
  exit 0
fi
printf '[setup] fetching the Docker API spec (%s@%s)\n' "$MOBY_API_MODULE" "$MOBY_API_VERSION" >&2
dir=$(GOFLAGS=-mod=mod go mod download -json "$MOBY_API_MODULE@$MOBY_API_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [[ -z $dir || ! -f $dir/docs/v1.43.yaml ]]; then
  echo "[setup] $MOBY_API_MODULE@$MOBY_API_VERSION has no docs/v1.43.yaml" >&2
  exit 1
fi
mkdir -p "$DEST"
cp "$dir/docs/v1.43.yaml" "$WANT.partial"
mv "$WANT.partial" "$WANT"
echo "$MOBY_API_MODULE@$MOBY_API_VERSION" >"$STAMP"
