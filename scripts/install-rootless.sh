#!/usr/bin/env bash
# Installs what rootless containerd needs besides the engine and Debian's
# RootlessKit, slirp4netns and newuidmap/newgidmap (uidmap), which setup.sh
# installs with its other packages: a /dev/net/tun users may open, and
# nerdctl's containerd-rootless.sh and
# containerd-rootless-setuptool.sh, taken from nerdctl's source module
# (extras/rootless) at the version scripts/engine-modules/nerdctl/go.mod pins,
# through the Go module proxy, into
# $NERDCTLD_ENGINE_HOME/rootless-nerdctl-<version>/;
# $NERDCTLD_ENGINE_HOME/rootless points at that directory. Idempotent.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
MODULE="$HERE/engine-modules/nerdctl"
NERDCTL_VERSION=$(awk '$1 == "require" && $2 == "github.com/containerd/nerdctl/v2" { print $3 }' "$MODULE/go.mod")

ENGINE_HOME=${NERDCTLD_ENGINE_HOME:-/opt/nerdctld-engine}
SCRIPTS_DIR="$ENGINE_HOME/rootless-nerdctl-$NERDCTL_VERSION"
SCRIPTS=(containerd-rootless.sh containerd-rootless-setuptool.sh)

say() { printf '[install-rootless] %s\n' "$*" >&2; }

if [[ -z $NERDCTL_VERSION ]]; then
  say "no nerdctl version required in $MODULE/go.mod"
  exit 1
fi

# RootlessKit's network (slirp4netns) needs a tap device, which an unprivileged
# user may make when /dev/net/tun is 0666, as udev's default rules set it.
# Machines without udev keep the kernel's 0600.
if [[ -c /dev/net/tun && $(stat -c %a /dev/net/tun) != 666 ]]; then
  say "chmod 0666 /dev/net/tun (as udev sets it)"
  chmod 0666 /dev/net/tun
fi

if [[ ! -x "$SCRIPTS_DIR/${SCRIPTS[-1]}" ]]; then
  if ! command -v go >/dev/null; then
    say "Go is required to fetch nerdctl's module (go 1.26+)"
    exit 1
  fi
  say "fetching nerdctl's extras/rootless ($NERDCTL_VERSION, pinned in engine-modules/nerdctl/go.mod)"
  source_dir=$(cd "$MODULE" && GOFLAGS=-mod=mod go mod download -json "github.com/containerd/nerdctl/v2@$NERDCTL_VERSION" |
    awk -F'"' '$2 == "Dir" { print $4 }')
  rm -rf "$SCRIPTS_DIR.partial"
  mkdir -p "$SCRIPTS_DIR.partial"
  for script in "${SCRIPTS[@]}"; do
    install -m 0755 "$source_dir/extras/rootless/$script" "$SCRIPTS_DIR.partial/$script"
  done
  rm -rf "$SCRIPTS_DIR"
  mv -T "$SCRIPTS_DIR.partial" "$SCRIPTS_DIR"
fi
ln -sfn "rootless-nerdctl-$NERDCTL_VERSION" "$ENGINE_HOME/rootless.tmp"
mv -T "$ENGINE_HOME/rootless.tmp" "$ENGINE_HOME/rootless"
say "rootless containerd scripts ready in $ENGINE_HOME/rootless"
