#!/usr/bin/env bash
# Installs the container engine nerdctld drives: containerd 2.x, runc, CNI
# plugins, buildkitd/buildctl and nerdctl 2.x, plus the local registry and the
# packages the test images are made from.
#
# Debian's packages are used where Debian's version works with nerdctl 2.3;
# the Go programs Debian lacks (or has too old) are built at pinned versions
# (and the CNI plugins) through the Go module proxy into a versioned directory under
# $NERDCTLD_ENGINE_HOME (default /opt/nerdctld-engine), and
# $NERDCTLD_ENGINE_HOME/current points at it. Idempotent: a second run only
# checks and returns.
set -euo pipefail

NERDCTL_VERSION=v2.3.5
CONTAINERD_VERSION=v2.3.3
RUNC_VERSION=v1.5.1
BUILDKIT_VERSION=v0.31.2
CNI_PLUGINS_VERSION=v1.9.1

ENGINE_HOME=${NERDCTLD_ENGINE_HOME:-/opt/nerdctld-engine}
ENGINE_ID="nerdctl-${NERDCTL_VERSION}_containerd-${CONTAINERD_VERSION}_runc-${RUNC_VERSION}_buildkit-${BUILDKIT_VERSION}_cni-${CNI_PLUGINS_VERSION}"
ENGINE_DIR="$ENGINE_HOME/$ENGINE_ID"
HERE=$(cd "$(dirname "$0")" && pwd)

say() { printf '[install-engine] %s\n' "$*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
  say "must run as root (it installs Debian packages and writes $ENGINE_HOME)"
  exit 1
fi

# --- Debian packages -------------------------------------------------------
# iptables: container networking; libseccomp-dev + pkg-config: runc's seccomp
# support; docker-registry: the local registry; busybox-static: the base of
# test images. (Debian's CNI plugins report no version, so nerdctl cannot
# trust their firewall plugin to isolate networks: the plugins are built below.)
APT_PACKAGES=(iptables libseccomp-dev pkg-config docker-registry busybox-static ca-certificates)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # docker-registry's package starts a system service on :5000; tests run
  # their own registry instances, so keep the packaged one out of the way.
  if [[ " ${missing[*]} " == *" docker-registry "* ]] && command -v systemctl >/dev/null; then
    systemctl disable --now docker-registry >/dev/null 2>&1 || true
  fi
else
  say "Debian packages present"
fi

# --- Go programs at pinned versions ------------------------------------------
build() { # build <binary> <go package@version | package> <ldflags> [tags] [cgo]
  local bin=$1 pkg=$2 ldflags=$3 tags=${4:-} cgo=${5:-0}
  if [[ -x "$ENGINE_DIR/bin/$bin" ]]; then say "$bin present"; return; fi
  say "building $bin ($pkg)"
  local start=$SECONDS
  CGO_ENABLED=$cgo GOFLAGS=-mod=mod GOBIN="$ENGINE_DIR/bin.partial" \
    go install -trimpath -tags "$tags" -ldflags "-s -w $ldflags" "$pkg"
  mv "$ENGINE_DIR/bin.partial/$bin" "$ENGINE_DIR/bin/$bin"
  say "built $bin in $((SECONDS - start))s"
}

# Programs whose go.mod has replace or exclude directives (which `go install
# pkg@version` refuses) are built from a module of ours in engine-modules/.
build_in_module() { # build_in_module <module dir> <binary> <package> <ldflags> [tags]
  local dir=$1 bin=$2 pkg=$3 ldflags=$4 tags=${5:-}
  if [[ -x "$ENGINE_DIR/bin/$bin" ]]; then say "$bin present"; return; fi
  say "building $bin ($pkg, pinned in engine-modules/$dir/go.mod)"
  local start=$SECONDS
  (cd "$HERE/engine-modules/$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod \
    go build -trimpath -tags "$tags" -ldflags "-s -w $ldflags" -o "$ENGINE_DIR/bin.partial/$bin" "$pkg")
  mv "$ENGINE_DIR/bin.partial/$bin" "$ENGINE_DIR/bin/$bin"
  say "built $bin in $((SECONDS - start))s"
}

if ! command -v go >/dev/null; then
  say "Go is required to build the engine (go 1.26+)"
  exit 1
fi
mkdir -p "$ENGINE_DIR/bin" "$ENGINE_DIR/bin.partial"

ctr_ld="-X github.com/containerd/containerd/v2/version.Version=${CONTAINERD_VERSION#v}"
build containerd "github.com/containerd/containerd/v2/cmd/containerd@$CONTAINERD_VERSION" "$ctr_ld" no_btrfs
build containerd-shim-runc-v2 "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION" "$ctr_ld" no_btrfs
build ctr "github.com/containerd/containerd/v2/cmd/ctr@$CONTAINERD_VERSION" "$ctr_ld" no_btrfs
build runc "github.com/opencontainers/runc@$RUNC_VERSION" "-X main.version=${RUNC_VERSION#v}" seccomp 1
build_in_module buildkit buildkitd "github.com/moby/buildkit/cmd/buildkitd" \
  "-X github.com/moby/buildkit/version.Version=$BUILDKIT_VERSION"
build_in_module buildkit buildctl "github.com/moby/buildkit/cmd/buildctl" \
  "-X github.com/moby/buildkit/version.Version=$BUILDKIT_VERSION"
build_in_module nerdctl nerdctl "github.com/containerd/nerdctl/v2/cmd/nerdctl" \
  "-X github.com/containerd/nerdctl/v2/pkg/version.Version=$NERDCTL_VERSION" no_btrfs
# CNI plugins nerdctl's networks use, with their version built in (nerdctl
# checks the firewall plugin's), in a directory of their own.
mkdir -p "$ENGINE_DIR/cni"
for plugin in main/bridge main/loopback main/macvlan main/ipvlan ipam/host-local meta/portmap meta/firewall meta/tuning; do
  name=${plugin#*/}
  if [[ -x "$ENGINE_DIR/cni/$name" ]]; then say "CNI plugin $name present"; continue; fi
  say "building CNI plugin $name ($CNI_PLUGINS_VERSION)"
  start=$SECONDS
  CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN="$ENGINE_DIR/bin.partial" go install -trimpath \
    -ldflags "-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION" \
    "github.com/containernetworking/plugins/plugins/$plugin@$CNI_PLUGINS_VERSION"
  mv "$ENGINE_DIR/bin.partial/$name" "$ENGINE_DIR/cni/$name"
  say "built CNI plugin $name in $((SECONDS - start))s"
done
rmdir "$ENGINE_DIR/bin.partial" 2>/dev/null || true

ln -sfn "$ENGINE_ID" "$ENGINE_HOME/current.tmp" && mv -T "$ENGINE_HOME/current.tmp" "$ENGINE_HOME/current"
say "engine ready in $ENGINE_HOME/current/bin ($ENGINE_ID)"
