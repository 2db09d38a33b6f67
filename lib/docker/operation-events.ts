import { constants } from "node:os";

/*
 * What nerdctld itself did, as its services announce it: the changes
 * containerd has no topic for. Volumes and networks are nerdctl's files, not
 * containerd objects; a kill, stop or restart shows in containerd only as the
 * exit it causes.
 */

/** A network as its events name it. */
export interface NetworkIdentity {
  id: string;
  name: string;
  /** The driver: bridge, macvlan, ipvlan. */
  type: string;
}

export type OperationEvent =
  | { type: "volume"; action: "create" | "destroy"; name: string }
  | { type: "network"; action: "create"; network: NetworkIdentity }
  /** `network` when the service knows what it removed; otherwise the events name it from what they saw made. */
  | { type: "network"; action: "destroy"; ref: string; network?: NetworkIdentity }
  /**
   * `container` as the client named it (name, id or id prefix); `signal` for a kill (SIGKILL when absent).
   * archive-path and extract-to-dir: a copy out of or into the container's filesystem.
   */
  | {
      type: "container";
      action: "kill" | "stop" | "restart" | "update" | "attach" | "detach" | "archive-path" | "extract-to-dir";
      container: string;
      signal?: string;
    }
  | { type: "container"; action: "rename"; container: string; name: string; oldName: string }
  | { type: "container"; action: "resize"; container: string; height: number; width: number }
  /** dockerd's `health_status: healthy` (the status is part of the action). */
  | { type: "container"; action: "health_status"; container: string; status: string };

/** An image-making operation of nerdctld's: the images containerd reports made while it runs are reported as what it is. */
export type ImageOperationStart = { kind: "pull"; reference: string } | { kind: "load" } | { kind: "import" };

/** Docker reports a kill's signal by number: "9". */
export function signalNumber(signal: string): string {
  if (/^\d+$/.test(signal)) return signal;
  const name = signal.toUpperCase().startsWith("SIG") ? signal.toUpperCase() : `SIG${signal.toUpperCase()}`;
  const number = (constants.signals as Record<string, number | undefined>)[name];
  return number === undefined ? signal : String(number);
}
