/**
 * A client that holds its own connection to the daemon's socket, as a raw
 * HTTP/1.1 exchange: it can leave at any moment (destroy the socket mid-body,
 * mid-stream, or on a hijacked connection), which Node's http client hides.
 */
import { request } from "node:http";
import { connect, type Socket } from "node:net";

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** Announced in full (Content-Length); `sendBytes` of it are sent. */
  body?: Uint8Array;
  /** How much of the body goes out; all of it by default. */
  sendBytes?: number;
  /** Connection: Upgrade, Upgrade: tcp (attach, exec start). */
  upgrade?: boolean;
  /** The blank line that ends the headers is never sent (a client that stalls in them). */
  headersUnfinished?: boolean;
}

export interface RawExchange {
  socket: Socket;
  /** True on the response's first bytes; false when the connection closed before any. */
  started: Promise<boolean>;
  /** When the connection is closed (by either side). */
  closed: Promise<void>;
  /** The response so far. */
  received(): Buffer;
  /** The status of the response, once its first line is in. */
  status(): number | undefined;
  /** The client leaves: its socket is destroyed. */
  leave(): void;
}

export function openExchange(socketPath: string, raw: RawRequest): RawExchange {
  const socket = connect(socketPath);
  const chunks: Buffer[] = [];
  let size = 0;
  const headers: Record<string, string> = {
    Host: "docker",
    ...(raw.upgrade ? { Connection: "Upgrade", Upgrade: "tcp" } : {}),
    ...(raw.body ? { "Content-Length": String(raw.body.length) } : {}),
    ...raw.headers,
  };
  const head = `${raw.method} ${raw.path} HTTP/1.1\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("")}${raw.headersUnfinished ? "" : "\r\n"}`;
  socket.write(head);
  if (raw.body) socket.write(raw.body.subarray(0, raw.sendBytes ?? raw.body.length));
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const started = new Promise<boolean>((resolve) => {
    socket.once("data", () => resolve(true));
    void closed.then(() => resolve(false));
  });
  socket.on("data", (chunk: Buffer) => {
    // What arrives is kept only up to what a status line and a glance need.
    if (size < 64 * 1024) chunks.push(chunk);
    size += chunk.length;
  });
  // A reset or EPIPE on a socket the daemon or the client closed is the point here, not a failure.
  socket.on("error", () => {});
  return {
    socket,
    started,
    closed,
    received: () => Buffer.concat(chunks),
    status: () => {
      const match = /^HTTP\/1\.1 (\d{3})/.exec(Buffer.concat(chunks).subarray(0, 16).toString("latin1"));
      return match ? Number(match[1]) : undefined;
    },
    leave: () => socket.destroy(),
  };
}

/** A JSON call on the daemon's socket, through Node's client: status and parsed body. */
export function jsonCall(socketPath: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath, method, path, headers: payload === undefined ? {} : { "Content-Type": "application/json" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => {
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          // A progress stream or plain text: kept as text.
        }
        resolve({ status: res.statusCode!, body: parsed });
      });
    });
    req.on("error", reject);
    req.end(payload);
  });
}
