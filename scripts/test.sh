#!/usr/bin/env bash
# Sets everything up, then runs every test:
#   1. unit tests over recorded fixtures (offline);
#   2. the end-to-end suites on an engine in a container, started through
#      Testcontainers on Debian's dockerd (the docker CLIs, both namespaces,
#      parity with dockerd, the fixture drift check, schema conformance);
#   3. a smoke set of the same suites on the host's managed engine.
# With arguments, runs just `vitest run <arguments>` after setting up.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --for-tests

if (($#)); then
  exec npx vitest run "$@"
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
run() { "$@" 2>&1 | tee -a "$log" || status=1; }

run npx vitest run --project unit
run env NERDCTLD_E2E_PROVIDER=testcontainers npx vitest run --project e2e
run env NERDCTLD_E2E_PROVIDER=host npx vitest run --project e2e system containers

# The first failures again with the start of their reasons, so that the end
# of the output names them, then one closing line for the three runs.
sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '/^ *FAIL / { n++; left = 10 } n <= 8 && left-- > 0'
grep -a '^passed when run again: ' "$log" || true
awk '/^tests: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/ { p += $2; f += $4; s += $6 }
     END { printf "\ntests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
