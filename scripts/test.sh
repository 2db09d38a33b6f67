#!/usr/bin/env bash
# Sets everything up, then runs every test: unit tests over recorded fixtures,
# then the end-to-end suites (real engine, docker CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --for-tests
npx vitest run "$@"
