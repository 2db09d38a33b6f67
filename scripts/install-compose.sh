#!/usr/bin/env bash
# Installs docker compose v2, the docker CLI plugin the compose e2e suite
# drives, at the version scripts/engine-modules/compose/go.mod pins, built
# through the Go module proxy into
# $NERDCTLD_ENGINE_HOME/cli-plugins-compose-<version>/docker-compose;
# $NERDCTLD_ENGINE_HOME/cli-plugins-compose points at that directory, for a
# docker config's `cliPluginsExtraDirs`. Idempotent: a second run only checks.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
MODULE="$HERE/engine-modules/compose"
COMPOSE_VERSION=$(awk '$1 == "require" && $2 == "github.com/docker/compose/v2" { print $3 }' "$MODULE/go.mod")

ENGINE_HOME=${NERDCTLD_ENGINE_HOME:-/opt/nerdctld-engine}
PLUGIN_DIR="$ENGINE_HOME/cli-plugins-compose-$COMPOSE_VERSION"

say() { printf '[install-compose] %s\n' "$*" >&2; }

if [[ -z $COMPOSE_VERSION ]]; then
  say "no compose version required in $MODULE/go.mod"
  exit 1
fi
if [[ ! -x "$PLUGIN_DIR/docker-compose" ]]; then
  if ! command -v go >/dev/null; then
    say "Go is required to build docker compose (go 1.26+)"
    exit 1
  fi
  say "building docker-compose ($COMPOSE_VERSION, pinned in engine-modules/compose/go.mod)"
  start=$SECONDS
  mkdir -p "$PLUGIN_DIR.partial"
  # compose's go.mod has exclude directives, which `go install pkg@version` refuses.
  (cd "$MODULE" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath \
    -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" \
    -o "$PLUGIN_DIR.partial/docker-compose" github.com/docker/compose/v2/cmd)
  rm -rf "$PLUGIN_DIR"
  mv -T "$PLUGIN_DIR.partial" "$PLUGIN_DIR"
  say "built docker-compose in $((SECONDS - start))s"
fi
ln -sfn "cli-plugins-compose-$COMPOSE_VERSION" "$ENGINE_HOME/cli-plugins-compose.tmp"
mv -T "$ENGINE_HOME/cli-plugins-compose.tmp" "$ENGINE_HOME/cli-plugins-compose"
say "docker compose $COMPOSE_VERSION ready in $ENGINE_HOME/cli-plugins-compose"
