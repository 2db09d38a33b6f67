#!/usr/bin/env bash
# Builds the reaper the Testcontainers e2e suite runs as its Ryuk image
# (scripts/engine-modules/reaper: Ryuk's protocol, Docker's API through the
# socket mounted into it; Ryuk's own module is not on the Go module proxy the
# test machines reach), static, into
# $NERDCTLD_ENGINE_HOME/testcontainers-reaper-<source hash>/reaper;
# $NERDCTLD_ENGINE_HOME/testcontainers-reaper points at it. Idempotent: a
# second run only checks.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
MODULE="$HERE/engine-modules/reaper"
ENGINE_HOME=${NERDCTLD_ENGINE_HOME:-/opt/nerdctld-engine}
HASH=$(cat "$MODULE/go.mod" "$MODULE/main.go" | sha256sum | cut -c1-12)
DIR="$ENGINE_HOME/testcontainers-reaper-$HASH"

say() { printf '[install-reaper] %s\n' "$*" >&2; }

if [[ ! -x "$DIR/reaper" ]]; then
  if ! command -v go >/dev/null; then
    say "Go is required to build the reaper (go 1.23+)"
    exit 1
  fi
  say "building the reaper ($HASH)"
  mkdir -p "$DIR.partial"
  (cd "$MODULE" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$DIR.partial/reaper" .)
  rm -rf "$DIR"
  mv -T "$DIR.partial" "$DIR"
fi
ln -sfn "testcontainers-reaper-$HASH" "$ENGINE_HOME/testcontainers-reaper.tmp"
mv -T "$ENGINE_HOME/testcontainers-reaper.tmp" "$ENGINE_HOME/testcontainers-reaper"
say "reaper ready in $ENGINE_HOME/testcontainers-reaper"
