#!/usr/bin/env bash
# Makes the build context of deploy/kubernetes/Dockerfile from a package
# tarball (`npm pack` in a checkout):
#
#   deploy/kubernetes/image-context.sh nerdctld-<version>.tgz CONTEXT_DIR
#   docker build -t nerdctld:local CONTEXT_DIR
#
# The package is installed under CONTEXT_DIR/usr/local with its production
# dependencies (node-pty is compiled there: use the same node major version and
# C library as the image's base); nerdctl and the CNI plugins come from the
# engine `npm run engine:install` made ($NERDCTLD_ENGINE_HOME/current).
set -euo pipefail

if (($# != 2)); then
  echo "usage: $0 nerdctld-<version>.tgz CONTEXT_DIR" >&2
  exit 2
fi
tarball=$(realpath "$1")
out=$2
here=$(cd "$(dirname "$0")" && pwd)
engine=${NERDCTLD_ENGINE_HOME:-/opt/nerdctld-engine}/current

for file in "$engine/bin/nerdctl" "$engine/cni/bridge"; do
  [[ -x $file ]] || { echo "$file is missing: run npm run engine:install" >&2; exit 1; }
done
mkdir -p "$out/usr/local/lib/nerdctld-engine/bin" "$out/usr/local/lib/nerdctld-engine/cni"
out=$(realpath "$out")
# From the context dir, so no project's .npmrc or workspace is in play.
(cd "$out" && npm install --global --prefix "$out/usr/local" --omit=dev --no-audit --no-fund --loglevel=error "$tarball")
# node-pty ships Windows and macOS builds (58 MB); Linux uses the one compiled above.
prebuilds=$out/usr/local/lib/node_modules/nerdctld/node_modules/node-pty/prebuilds
if [[ -d $prebuilds ]]; then
  find "$prebuilds" -mindepth 1 -maxdepth 1 ! -name 'linux-*' -exec rm -rf {} +
fi
cp "$engine/bin/nerdctl" "$out/usr/local/lib/nerdctld-engine/bin/"
cp "$engine/cni/"* "$out/usr/local/lib/nerdctld-engine/cni/"
cp "$here/Dockerfile" "$here/entrypoint.sh" "$out/"
