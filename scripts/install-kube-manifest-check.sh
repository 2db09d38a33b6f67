#!/usr/bin/env bash
# Builds kube-manifest-check (scripts/engine-modules/kube-manifest-check), the
# offline validator of deploy/kubernetes' manifests, through the Go module
# proxy into $NERDCTLD_ENGINE_HOME/kube-manifest-check-<source hash>/;
# $NERDCTLD_ENGINE_HOME/kube-manifest-check points at it. Idempotent: a second
# run only checks.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
MODULE="$HERE/engine-modules/kube-manifest-check"
ENGINE_HOME=${NERDCTLD_ENGINE_HOME:-/opt/nerdctld-engine}
HASH=$(cat "$MODULE/go.mod" "$MODULE/go.sum" "$MODULE/main.go" | sha256sum | cut -c1-12)
DIR="$ENGINE_HOME/kube-manifest-check-$HASH"

say() { printf '[install-kube-manifest-check] %s\n' "$*" >&2; }

if [[ ! -x "$DIR/kube-manifest-check" ]]; then
  if ! command -v go >/dev/null; then
    say "Go is required to build kube-manifest-check (go 1.26+)"
    exit 1
  fi
  say "building kube-manifest-check ($HASH)"
  mkdir -p "$DIR.partial"
  (cd "$MODULE" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$DIR.partial/kube-manifest-check" .)
  rm -rf "$DIR"
  mv -T "$DIR.partial" "$DIR"
fi
ln -sfn "kube-manifest-check-$HASH" "$ENGINE_HOME/kube-manifest-check.tmp"
mv -T "$ENGINE_HOME/kube-manifest-check.tmp" "$ENGINE_HOME/kube-manifest-check"
say "kube-manifest-check ready in $ENGINE_HOME/kube-manifest-check"
