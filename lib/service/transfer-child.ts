import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dockerConfigFor, type RegistryAuth } from "../docker/registry-auth.ts";
import { whenClientGone } from "../io/signals.ts";
import type { TransferIo } from "../nerdctl/transfer.ts";
import type { RunningCommand, RunResult } from "../runner/types.ts";
import type { LeaseHolding } from "./abandoned-leases.ts";

/** A transfer's nerdctl, owned: killed when the client goes away, its credentials removed when it exits. */
export interface TransferChild {
  child: RunningCommand;
  /** The child's exit, after its credentials were removed. */
  exited: Promise<RunResult>;
  kill(): void;
}

export interface Credentials {
  env?: Record<string, string>;
  remove(): Promise<void>;
}

/**
 * A DOCKER_CONFIG directory holding only this request's credentials (0700
 * directory, 0600 file), removed when the child is gone. None when the
 * client sent no credentials: nerdctl then uses the daemon user's own config.
 */
export async function credentialsFor(auth: RegistryAuth | undefined, domain: string): Promise<Credentials> {
  const config = dockerConfigFor(auth, domain);
  if (config === undefined) return { remove: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), "nerdctld-auth-"));
  try {
    await writeFile(join(dir, "config.json"), config, { mode: 0o600 });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { env: { DOCKER_CONFIG: dir }, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface TransferOwnership {
  /** Removed once the child has exited; their environment is the child's. */
  credentials?: Credentials;
  /** An announcement (an image operation running) to end once the child has exited. */
  announced?: () => void;
  /**
   * What a killed child can leave behind (its containerd lease, see
   * abandoned-leases.ts; a push's record, see push-leftovers.ts): each is told
   * once the child has exited, and whether it was killed.
   */
  leftovers?: (LeaseHolding | undefined)[];
}

/** Starts a child through start (given the credentials' environment); it is killed when signal aborts. */
export function ownTransfer(start: (io: TransferIo) => RunningCommand, signal: AbortSignal, owned: TransferOwnership = {}): TransferChild {
  const { credentials, announced, leftovers = [] } = owned;
  let child: RunningCommand;
  try {
    child = start(credentials?.env ? { env: credentials.env } : {});
  } catch (error) {
    announced?.();
    for (const leftover of leftovers) leftover?.(false);
    void credentials?.remove();
    throw error;
  }
  let exited = false;
  let killed = false;
  const kill = () => {
    if (exited || killed) return;
    killed = true;
    child.kill();
    // Output nobody will read any more: the child's exit is only reported once its stdout has ended.
    child.stdout.destroy();
  };
  const stopListening = whenClientGone(signal, kill);
  const done = child.exited.finally(async () => {
    exited = true;
    stopListening();
    announced?.();
    for (const leftover of leftovers) leftover?.(killed);
    await credentials?.remove();
  });
  return { child, exited: done, kill };
}
