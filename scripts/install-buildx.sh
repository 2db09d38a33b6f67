#!/usr/bin/env bash
# Installs buildx, the docker CLI plugin `docker build` runs when the daemon
# announces BuildKit, at a pinned version built through the Go module proxy,
# into $NERDCTLD_ENGINE_HOME/cli-plugins-buildx-<version>/docker-buildx;
# $NERDCTLD_ENGINE_HOME/cli-plugins points at that directory, for a docker
# config's `cliPluginsExtraDirs`. Idempotent: a second run only checks.
set -euo pipefail

BUILDX_VERSION=v0.36.1

ENGINE_HOME=${NERDCTLD_ENGINE_HOME:-/opt/nerdctld-engine}
PLUGIN_DIR="$ENGINE_HOME/cli-plugins-buildx-$BUILDX_VERSION"

say() { printf '[install-buildx] %s\n' "$*" >&2; }

if [[ ! -x "$PLUGIN_DIR/docker-buildx" ]]; then
  if ! command -v go >/dev/null; then
    say "Go is required to build buildx (go 1.26+)"
    exit 1
  fi
  say "building docker-buildx ($BUILDX_VERSION)"
  start=$SECONDS
  mkdir -p "$PLUGIN_DIR.partial"
  CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN="$PLUGIN_DIR.partial" go install -trimpath \
    -ldflags "-s -w -X github.com/docker/buildx/version.Version=$BUILDX_VERSION" \
    "github.com/docker/buildx/cmd/buildx@$BUILDX_VERSION"
  # The docker CLI finds a plugin by its file name.
  mv "$PLUGIN_DIR.partial/buildx" "$PLUGIN_DIR.partial/docker-buildx"
  rm -rf "$PLUGIN_DIR"
  mv -T "$PLUGIN_DIR.partial" "$PLUGIN_DIR"
  say "built docker-buildx in $((SECONDS - start))s"
fi
ln -sfn "cli-plugins-buildx-$BUILDX_VERSION" "$ENGINE_HOME/cli-plugins.tmp" && mv -T "$ENGINE_HOME/cli-plugins.tmp" "$ENGINE_HOME/cli-plugins"
say "buildx $BUILDX_VERSION ready in $ENGINE_HOME/cli-plugins"
