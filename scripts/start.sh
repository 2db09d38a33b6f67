#!/usr/bin/env bash
# Sets everything up, then runs nerdctld on a managed engine (its own
# containerd and buildkitd). Extra arguments go to nerdctld, e.g. -H.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist/bin/nerdctld.js --engine managed "$@"
