import { createHash } from "node:crypto";
import { realpathSync } from "node:fs";
import { join } from "node:path";

/**
 * Where nerdctl (2.3, rootful) keeps what containerd does not: volumes under
 * its data root, networks as CNI configuration files. containerd publishes no
 * event of either, so a change made outside nerdctld shows only in these
 * directories.
 */
export interface NerdctlFiles {
  dataRoot: string;
  /** CNI configuration directory: the networks every namespace sees, and one subdirectory per namespace. */
  netconfPath: string;
  /** containerd's socket, which names nerdctl's data store. */
  address: string;
  /** The namespace nerdctl uses when none is given. */
  namespace: string;
}

/**
 * A top-level string of a TOML file (before any table): nerdctl.toml's keys
 * are all top-level strings. Undefined when absent.
 */
export function topLevelTomlString(text: string, key: string): string | undefined {
  for (const line of text.split("\n")) {
    if (/^\s*\[/.test(line)) return undefined;
    const match = /^\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)')\s*(?:#.*)?$/.exec(line);
    if (match?.[1] === key) return match[2] !== undefined ? (JSON.parse(`"${match[2]}"`) as string) : match[3];
  }
  return undefined;
}

/**
 * nerdctl's own precedence (flags aside, which nerdctld does not give):
 * environment, then nerdctl.toml, then its rootful defaults. Rootless nerdctl
 * keeps its files by rules of rootlesskit's; undefined there.
 */
export function nerdctlFiles(env: Readonly<Record<string, string | undefined>>, toml: string, rootful: boolean): NerdctlFiles | undefined {
  if (!rootful) return undefined;
  const inToml = (key: string) => topLevelTomlString(toml, key) || undefined;
  return {
    dataRoot: inToml("data_root") ?? "/var/lib/nerdctl",
    netconfPath: env.NETCONFPATH || (inToml("cni_netconfpath") ?? "/etc/cni/net.d"),
    address: env.CONTAINERD_ADDRESS || (inToml("address") ?? "/run/containerd/containerd.sock"),
    namespace: env.CONTAINERD_NAMESPACE || (inToml("namespace") ?? "default"),
  };
}

/**
 * A namespace's volume directory: one subdirectory per volume. The data store
 * is named by the hash of the socket's real path, so this throws while the
 * socket is not there.
 */
export function volumeDirectory(files: NerdctlFiles, namespace: string): string {
  return join(files.dataRoot, dataStoreName(realpathSync(files.address.replace(/^unix:\/\//, ""))), "volumes", namespace);
}

/** The name of nerdctl's data store for a containerd socket's real path. */
export function dataStoreName(socket: string): string {
  return createHash("sha256").update(socket).digest("hex").slice(0, 8);
}

/** The directories of a namespace's network configurations: the shared one (the default bridge) and its own. */
export function networkDirectories(files: NerdctlFiles, namespace: string): string[] {
  return [files.netconfPath, join(files.netconfPath, namespace)];
}
