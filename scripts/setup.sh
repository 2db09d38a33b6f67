#!/usr/bin/env bash
# Everything nerdctld needs on a Debian/Ubuntu machine, idempotent: Node
# packages, the engine (scripts/install-engine.sh) and the compiled daemon.
set -euo pipefail
cd "$(dirname "$0")/.."

# The docker-py release the e2e suites drive (e2e/docker-py-client.e2e.test.ts).
DOCKER_PY_VERSION=7.2.0
# The schemathesis release that fuzzes the API from its spec (e2e/api-fuzz.e2e.test.ts).
SCHEMATHESIS_VERSION=4.32.5

say() { printf '[setup] %s\n' "$*" >&2; }

# Installs the Debian packages of the list that are missing (apt-get update once).
ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [[ -z ${apt_updated:-} ]]; then
    apt-get update -qq
    apt_updated=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

node_major_minor=$(node -p 'process.versions.node.split(".").slice(0,2).join(".")')
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  say "Node.js >= 20.19 is required (found $node_major_minor)"
  exit 1
fi

# npm ci only when the lockfile changed since the last install.
stamp=node_modules/.nerdctld-lock-stamp
if [[ ! -f $stamp ]] || ! cmp -s package-lock.json "$stamp"; then
  # node-pty compiles against Node's headers, which node-gyp downloads from
  # nodejs.org unless told where they are. Every install puts them under the
  # node binary's prefix (NodeSource's nodejs and Debian's libnode-dev in
  # /usr/include/node, nvm and the release tarballs in theirs).
  node_prefix=$(node -p 'require("path").resolve(process.execPath, "../..")')
  if [[ $(npm config get nodedir) == undefined && -f $node_prefix/include/node/node_version.h ]]; then
    export npm_config_nodedir=$node_prefix
  fi
  # ...and builds with a C++ compiler, make and Python (node-gyp).
  ensure_packages g++ make python3
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

bash scripts/install-engine.sh

# The test suites also need Debian's dockerd (the reference daemon, and the
# host engine Testcontainers drives), its 20.10 CLI, and debootstrap (the base
# of the engine container image), buildx, which `docker build` runs (its
# `--ssh` is tested with ssh-agent), docker compose, a client they drive, and
# the reaper Testcontainers runs as its Ryuk.
# systemd's socket activator and unit checker, OpenSSL's CLI, OpenSSH's
# server and rootless containerd's tools test the deployments (socket
# activation, TLS with client certificates, DOCKER_HOST=ssh://, rootless),
# and kube-manifest-check the Kubernetes manifests.
if [[ ${1:-} == --for-tests ]]; then
  bash scripts/fetch-api-spec.sh
  bash scripts/install-buildx.sh
  bash scripts/install-kube-manifest-check.sh
  bash scripts/install-compose.sh
  bash scripts/install-reaper.sh
  bash scripts/install-rootless.sh
  ensure_packages docker.io debootstrap tmux openssh-client openssh-server python3-venv systemd openssl rootlesskit slirp4netns uidmap
  # docker-py, the Python client the e2e suites drive, in a venv of its own
  # (under node_modules/, so npm ci starts it afresh too).
  docker_py=node_modules/.cache/docker-py
  if [[ $("$docker_py/bin/python" -c 'import docker; print(docker.__version__)' 2>/dev/null) != "$DOCKER_PY_VERSION" ]]; then
    say "docker-py $DOCKER_PY_VERSION"
    rm -rf "$docker_py"
    /usr/bin/python3 -m venv "$docker_py"
    "$docker_py/bin/pip" install --quiet --disable-pip-version-check "docker==$DOCKER_PY_VERSION"
  fi
  # schemathesis likewise, in a venv of its own.
  schemathesis=node_modules/.cache/schemathesis
  if [[ $("$schemathesis/bin/st" --version 2>/dev/null) != "st, version $SCHEMATHESIS_VERSION" ]]; then
    say "schemathesis $SCHEMATHESIS_VERSION"
    rm -rf "$schemathesis"
    /usr/bin/python3 -m venv "$schemathesis"
    "$schemathesis/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  fi
fi

say "building the daemon (tsc)"
npx tsc -p tsconfig.build.json
