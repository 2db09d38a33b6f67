import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { H3Event } from "h3";
import { REQUEST_ID_HEADER, requestIdOf } from "./observe.ts";

/** What the server layer hands a route when Node delivered the request on its `upgrade` event. */
export interface UpgradeRuntime {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  /** Set once a handler has taken the socket; the server layer then leaves it alone. */
  taken: boolean;
}

/** The runtime the server layer attaches to a request arriving with `Connection: Upgrade`. */
export interface NodeUpgradeRuntime {
  name: "node";
  node: { req: IncomingMessage; upgrade: UpgradeRuntime };
}

/** The raw connection of a request Node delivered on its `upgrade` event; undefined for any other. */
export function upgradeOf(event: H3Event): UpgradeRuntime | undefined {
  return (event.runtime as Partial<NodeUpgradeRuntime> | undefined)?.node?.upgrade;
}

/** Whether the client asked to take over the connection (`Upgrade: tcp`), as docker attach and exec do. */
export function wantsHijack(event: H3Event): boolean {
  return upgradeOf(event) !== undefined;
}

/**
 * Answers `101 UPGRADED` and returns the raw socket, from then on the route's
 * to speak on (Docker's raw stream). Bytes the client sent after its headers
 * are put back in front of the socket's data.
 */
export function hijack(event: H3Event, contentType = "application/vnd.docker.raw-stream"): Duplex {
  const upgrade = upgradeOf(event);
  if (!upgrade) throw new Error("hijack: request was not an upgrade");
  upgrade.taken = true;
  const { socket, head } = upgrade;
  socket.write(
    `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n${requestIdLine(event)}\r\n`,
  );
  if (head.length > 0) socket.unshift(head);
  return socket;
}

/**
 * Answers `101 Switching Protocols` to `Upgrade: <protocol>` (BuildKit's
 * h2c on /grpc and /session, as dockerd answers) and returns the raw socket,
 * bytes the client sent after its headers put back in front.
 */
export function switchProtocols(event: H3Event, protocol: string): Duplex {
  const upgrade = upgradeOf(event);
  if (!upgrade) throw new Error("switchProtocols: request was not an upgrade");
  upgrade.taken = true;
  const { socket, head } = upgrade;
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\n${requestIdLine(event)}\r\n`);
  if (head.length > 0) socket.unshift(head);
  return socket;
}

function requestIdLine(event: H3Event): string {
  const id = requestIdOf(event);
  return id ? `${REQUEST_ID_HEADER}: ${id}\r\n` : "";
}
