#!/bin/sh
# runc runs nerdctl's network hook, and each container's shim its log driver,
# on the node itself, by the path of the nerdctl that created the container:
# nerdctl and its CNI plugins are copied to the node's /opt/nerdctld (mounted at
# the same path here) before nerdctld starts, and nerdctld runs that copy.
set -eu
node_dir=/opt/nerdctld
engine=/usr/local/lib/nerdctld-engine
mkdir -p "$node_dir/bin" "$node_dir/cni/bin" "$node_dir/cni/net.d"
# Each file is written beside its final name and renamed over it: a hook or a
# log driver starting meanwhile runs the old file or the new, never half of one.
install_file() {
  cp "$1" "$2.new"
  chmod 0755 "$2.new"
  mv -f "$2.new" "$2"
}
install_file "$engine/bin/nerdctl" "$node_dir/bin/nerdctl"
for plugin in "$engine"/cni/*; do
  install_file "$plugin" "$node_dir/cni/bin/${plugin##*/}"
done
# nerdctl's networks, apart from the cluster's own in /etc/cni/net.d.
export CNI_PATH="$node_dir/cni/bin" NETCONFPATH="$node_dir/cni/net.d"
exec node /usr/local/lib/node_modules/nerdctld/dist/bin/nerdctld.js --nerdctl "$node_dir/bin/nerdctl" "$@"
