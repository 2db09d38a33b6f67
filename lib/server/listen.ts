import { chmod, chown, lstat, readFile, unlink } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { toNodeHandler, type H3 } from "h3";
import { listen as listhen } from "listhen";
import type { NodeUpgradeRuntime, UpgradeRuntime } from "./hijack.ts";

export interface ListenOptions {
  /** Group that may use unix sockets (mode 0660); unset keeps the daemon's own group. */
  group?: string;
  /** Certificate and key files; with ca, only clients with a certificate it signed are served (dockerd's --tlsverify). */
  tls?: { cert: string; key: string; ca?: string };
  /** Serve plain TCP on a non-loopback address (dockerd warns; we refuse unless told). */
  allowInsecureTcp?: boolean;
  timeouts?: ServerTimeouts;
}

/**
 * What a slow or idle client may hold: a connection must bring its request's
 * headers within `headersMs` (408 and closed otherwise), and one idle between
 * requests is closed after `keepAliveMs`. Past its headers, only the small
 * bodies routes read whole have an idle bound (the app's bodyIdleMs): streamed
 * bodies (image loads, build contexts) and responses (logs -f,
 * events, pulls) take as long as they take, and a hijacked connection (attach,
 * exec, BuildKit's) is the route's alone.
 */
export interface ServerTimeouts {
  headersMs: number;
  keepAliveMs: number;
  /** How often connections are checked against headersMs. */
  checkIntervalMs: number;
}

const DEFAULT_TIMEOUTS: ServerTimeouts = { headersMs: 60_000, keepAliveMs: 60_000, checkIntervalMs: 30_000 };

export interface Listening {
  address: string;
  /** Stops accepting; connections in flight are left to finish. */
  stopAccepting(): Promise<void>;
  /** Ends every connection still open. */
  destroyConnections(): void;
}

export class ListenError extends Error {}

/** Opens one listener per -H address: unix://path, fd://[name], tcp://host:port. */
export async function listenOn(address: string, app: H3, options: ListenOptions = {}): Promise<Listening> {
  const [scheme, rest] = splitAddress(address);
  switch (scheme) {
    case "unix":
      return listenUnix(rest, app, options);
    case "fd":
      return listenSystemdFds(rest, app, options.timeouts);
    case "tcp":
      return listenTcp(rest, app, options);
    default:
      throw new ListenError(`unsupported host ${JSON.stringify(address)}: use unix://, fd:// or tcp://`);
  }
}

function splitAddress(address: string): [string, string] {
  const match = /^([a-z]+):\/\/(.*)$/.exec(address);
  if (!match) return address.startsWith("/") ? ["unix", address] : ["", address];
  return [match[1]!, match[2]!];
}

/** A Node server for the app, with hijackable upgrades and tracked sockets. */
function nodeServer(
  app: H3,
  timeouts = DEFAULT_TIMEOUTS,
  server: Server = createServer({ connectionsCheckingInterval: timeouts.checkIntervalMs }),
): { server: Server; destroyConnections(): void } {
  const sockets = new Set<Duplex>();
  const handler = toNodeHandler(app);
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    // The fetch adapter passes an empty reason phrase; HTTP/1.1 clients print it, so give Node's standard one.
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
    res.writeHead = ((status: number, ...rest: unknown[]) =>
      rest[0] === "" ? writeHead(status, STATUS_CODES[status] ?? "", ...rest.slice(1)) : writeHead(status, ...rest)) as typeof res.writeHead;
    return handler(req, res);
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void serveUpgrade(app, req, socket, head);
  });
  // Slow clients streaming images or logs must not be cut off by Node's defaults.
  server.requestTimeout = 0;
  server.headersTimeout = timeouts.headersMs;
  server.keepAliveTimeout = timeouts.keepAliveMs;
  return {
    server,
    destroyConnections: () => {
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
    },
  };
}

/**
 * Node hands requests carrying `Connection: Upgrade` to the `upgrade` event
 * instead of the request handler. They go through the same app, with the raw
 * socket attached; a handler that does not take it gets its response written
 * as plain HTTP/1.1 and the connection closed.
 */
async function serveUpgrade(app: H3, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const upgrade: UpgradeRuntime = { req, socket, head, taken: false };
  socket.on("error", () => socket.destroy());
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  const runtime: NodeUpgradeRuntime = { name: "node", node: { req, upgrade } };
  try {
    // The docker CLI sends an empty Host over a unix socket; a Host that makes no URL ends the connection, not the daemon.
    const request = new Request(`http://${req.headers.host || "localhost"}${req.url ?? "/"}`, { method: req.method, headers });
    Object.assign(request, { runtime });
    const response = await app.fetch(request);
    if (upgrade.taken) return;
    await writeResponse(socket, response);
  } catch {
    if (!upgrade.taken) socket.destroy();
  }
}

async function writeResponse(socket: Duplex, response: Response): Promise<void> {
  const body = Buffer.from(await response.arrayBuffer());
  const lines = [`HTTP/1.1 ${response.status} ${response.statusText || STATUS_CODES[response.status] || "Unknown"}`];
  response.headers.forEach((value, name) => {
    if (name !== "content-length" && name !== "connection") lines.push(`${name}: ${value}`);
  });
  lines.push(`Content-Length: ${body.length}`, "Connection: close", "", "");
  socket.end(Buffer.concat([Buffer.from(lines.join("\r\n")), body]));
}

async function listenUnix(path: string, app: H3, options: ListenOptions): Promise<Listening> {
  await removeStaleSocket(path);
  const { server, destroyConnections } = nodeServer(app, options.timeouts);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
  await chmod(path, 0o660);
  if (options.group !== undefined) await chown(path, process.getuid?.() ?? 0, await groupId(options.group));
  return {
    address: `unix://${path}`,
    stopAccepting: () => closeServer(server, () => unlink(path).catch(() => {})),
    destroyConnections,
  };
}

/** A socket file nobody listens on is left over from a crash: replace it. A live one is never taken over. */
async function removeStaleSocket(path: string): Promise<void> {
  const stat = await lstat(path).catch(() => undefined);
  if (!stat) return;
  if (!stat.isSocket()) throw new ListenError(`${path} exists and is not a socket; refusing to replace it`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (alive) throw new ListenError(`${path} is in use by another daemon (something answers on it)`);
  await unlink(path);
}

async function groupId(group: string): Promise<number> {
  if (/^\d+$/.test(group)) return Number(group);
  const groups = await readFile("/etc/group", "utf8");
  for (const line of groups.split("\n")) {
    const [name, , gid] = line.split(":");
    if (name === group && gid !== undefined) return Number(gid);
  }
  throw new ListenError(`group ${JSON.stringify(group)} not found (in /etc/group)`);
}

/** systemd socket activation: the sockets arrive as fds 3… with LISTEN_FDS (and names in LISTEN_FDNAMES). */
async function listenSystemdFds(name: string, app: H3, timeouts?: ServerTimeouts): Promise<Listening> {
  const count = Number(process.env.LISTEN_FDS ?? 0);
  if (process.env.LISTEN_PID && Number(process.env.LISTEN_PID) !== process.pid) {
    throw new ListenError("fd://: LISTEN_PID names another process; not started by systemd socket activation");
  }
  if (!count) throw new ListenError("fd://: no sockets passed (LISTEN_FDS is unset); start through a systemd .socket unit");
  const names = (process.env.LISTEN_FDNAMES ?? "").split(":");
  const fds = Array.from({ length: count }, (_, i) => 3 + i).filter((_, i) => !name || names[i] === name);
  if (!fds.length) throw new ListenError(`fd://${name}: no passed socket has that name`);
  const servers = await Promise.all(
    fds.map(async (fd) => {
      const served = nodeServer(app, timeouts);
      await new Promise<void>((resolve, reject) => {
        served.server.once("error", reject);
        served.server.listen({ fd }, () => resolve());
      });
      return served;
    }),
  );
  return {
    address: `fd://${name}`,
    stopAccepting: async () => {
      await Promise.all(servers.map(({ server }) => closeServer(server)));
    },
    destroyConnections: () => servers.forEach((served) => served.destroyConnections()),
  };
}

function isLoopback(host: string): boolean {
  return host === "localhost" || /^127\./.test(host) || host === "::1" || host === "[::1]";
}

/** TCP through listhen, or TLS when certificates are given (required off loopback). */
async function listenTcp(hostPort: string, app: H3, options: ListenOptions): Promise<Listening> {
  const match = /^(\[[^\]]+\]|[^:]*):(\d+)$/.exec(hostPort);
  if (!match) throw new ListenError(`tcp://${hostPort}: expected tcp://host:port`);
  const hostname = match[1]!.replace(/^\[|\]$/g, "") || "0.0.0.0";
  const port = Number(match[2]);
  if (!isLoopback(hostname) && !options.tls && !options.allowInsecureTcp) {
    throw new ListenError(
      `refusing to serve plain TCP on ${hostname}: anyone who can reach it controls the engine. ` +
        "Give --tlscert and --tlskey, or --allow-insecure-tcp if you really mean it",
    );
  }
  if (options.tls) return listenTls(hostname, port, app, options.tls, options.timeouts);
  // listhen would quietly move to another port when this one is taken: only this one will do.
  const listener = await listhen(() => {}, {
    hostname,
    port: { port },
    https: false,
    showURL: false,
    open: false,
    clipboard: false,
    qr: false,
    public: !isLoopback(hostname),
    isProd: true,
    autoClose: false,
  });
  if (port !== 0 && listener.address.port !== port) {
    await listener.close();
    throw new ListenError(`tcp://${hostPort}: port ${port} is in use`);
  }
  const server = listener.server as Server;
  server.removeAllListeners("request");
  const { destroyConnections } = nodeServer(app, options.timeouts, server);
  return {
    address: `tcp://${hostname}:${listener.address.port}`,
    stopAccepting: () => closeServer(server),
    destroyConnections,
  };
}

/**
 * Node's own TLS server: listhen has no client verification. With a CA, the
 * handshake itself refuses a client without a certificate that CA signed.
 */
async function listenTls(hostname: string, port: number, app: H3, tls: NonNullable<ListenOptions["tls"]>, timeouts?: ServerTimeouts): Promise<Listening> {
  const [cert, key, ca] = await Promise.all([readFile(tls.cert), readFile(tls.key), tls.ca ? readFile(tls.ca) : undefined]);
  const https = createHttpsServer({
    cert,
    key,
    connectionsCheckingInterval: (timeouts ?? DEFAULT_TIMEOUTS).checkIntervalMs,
    ...(ca ? { ca, requestCert: true, rejectUnauthorized: true } : {}),
  });
  // Same request and upgrade events as an http.Server, which is all nodeServer uses.
  const server = https as unknown as Server;
  const { destroyConnections } = nodeServer(app, timeouts, server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: hostname, port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  return {
    address: `tcp+tls://${hostname}:${typeof bound === "object" && bound ? bound.port : port}`,
    stopAccepting: () => closeServer(server),
    destroyConnections,
  };
}

function closeServer(server: Server, after?: () => Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      void Promise.resolve(after?.()).then(() => resolve());
    });
    server.closeIdleConnections();
  });
}
