import type { Duplex, Readable } from "node:stream";
import { defineHandler, type H3Event } from "h3";
import { compareVersions } from "../docker/api-version.ts";
import { Filters } from "../docker/filters.ts";
import { badParameter, timedOut, tooLarge } from "../errors.ts";
import { scopeFor, type Scope } from "../service/scope.ts";
import { useServiceRoot, NAMESPACE_HEADER, useApiVersion, useBodyIdleMs, useParam } from "./context.ts";
import type { ConnectionSession } from "../io/connection.ts";
import { serveConnection, upgradeBody } from "./connection.ts";
import { switchProtocols, upgradeOf } from "./hijack.ts";
import { traceOf } from "./observe.ts";
import { clientGone, requestBody } from "./streams.ts";

/**
 * The largest JSON body a route reads (container create, network create, …):
 * far above any real one. Streamed bodies (build contexts, image archives,
 * archive PUTs) have no such cap: they are never held.
 */
export const JSON_BODY_LIMIT = 4 << 20;
/** The largest other small body (an auth document). */
export const SMALL_BODY_LIMIT = 64 * 1024;

/**
 * A request as a route reads it: one style for the query (Docker's flags,
 * numbers, filters), the path parameters, the body, the API version, the
 * client-gone signal and the scope its service call works in.
 */
export class RouteRequest {
  readonly query: URLSearchParams;
  #body: Readable | undefined;

  constructor(readonly event: H3Event) {
    this.query = event.url.searchParams;
  }

  /** The engine scope: the daemon's namespace, or the one X-Containerd-Namespace names. */
  get scope(): Scope {
    return scopeFor(useServiceRoot(this.event), this.event.req.headers.get(NAMESPACE_HEADER), traceOf(this.event)?.requestId);
  }

  get apiVersion(): string {
    return useApiVersion(this.event);
  }

  /** The API version asked for is at least `version`. */
  since(version: string): boolean {
    return compareVersions(this.apiVersion, version) >= 0;
  }

  /** Aborts when the client goes away before its response is complete. */
  get signal(): AbortSignal {
    return clientGone(this.event);
  }

  /** A path parameter, resolved (names with slashes included) and decoded. */
  param(name: string): string {
    return useParam(this.event, name);
  }

  header(name: string): string | undefined {
    return this.event.req.headers.get(name) ?? undefined;
  }

  /** A query parameter (the first, when repeated, as Go's FormValue reads it); undefined when absent. */
  text(name: string): string | undefined {
    return this.query.get(name) ?? undefined;
  }

  /** A query parameter, empty values dropped; undefined when absent or empty. */
  nonEmpty(name: string): string | undefined {
    return this.text(name) || undefined;
  }

  all(name: string): string[] {
    return this.query.getAll(name);
  }

  /** Docker's boolean parameters: 1/true/True/yes are set; 0/false/absent are not. */
  flag(name: string, absent = false): boolean {
    const value = this.text(name);
    if (value === undefined) return absent;
    return !["", "0", "false", "False", "FALSE", "no"].includes(value);
  }

  /** An integer parameter; a 400 when it is not one. */
  integer(name: string): number | undefined {
    const value = this.text(name);
    if (value === undefined || value === "") return undefined;
    const number = Number(value);
    if (!Number.isInteger(number)) throw badParameter(`invalid ${name}: ${value}`);
    return number;
  }

  /** The `filters` parameter, checked against the keys the endpoint accepts. */
  filters(allowed: readonly string[]): Filters {
    return Filters.parse(this.text("filters"), allowed);
  }

  /** The body as a stream, read only as fast as it is consumed (an upgrade request's included). */
  body(): Readable {
    return (this.#body ??= upgradeBody(this.event) ?? requestBody(this.event));
  }

  /**
   * A small body (an auth document, a JSON object) as text, read up to `limit`
   * bytes: a larger one is refused (413) rather than held, and one that stops
   * coming for the body idle time is refused (408) rather than waited for.
   * Empty when there is none.
   */
  async smallBody(limit = SMALL_BODY_LIMIT): Promise<string> {
    const refused = () => tooLarge(`request body larger than ${limit} bytes`);
    if (Number(this.event.req.headers.get("content-length") ?? "0") > limit) throw refused();
    const idleMs = useBodyIdleMs(this.event);
    // Not destroyed on a refusal: the answer still goes out on its connection.
    const chunks = this.body().iterator({ destroyOnReturn: false }) as AsyncIterator<Buffer | string>;
    const parts: Buffer[] = [];
    let size = 0;
    for (;;) {
      const next = chunks.next();
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(timedOut(`no request body received for ${idleMs / 1000} s`)), idleMs);
      });
      // A read left pending by a refusal ends with the connection.
      next.catch(() => {});
      const { value, done } = await Promise.race([next, idle]).finally(() => clearTimeout(timer));
      if (done) break;
      const buffer = typeof value === "string" ? Buffer.from(value) : value;
      size += buffer.length;
      if (size > limit) throw refused();
      parts.push(buffer);
    }
    return Buffer.concat(parts).toString("utf8");
  }

  /** The body as JSON (undefined when empty), at most JSON_BODY_LIMIT bytes. */
  async json(): Promise<unknown> {
    const text = await this.smallBody(JSON_BODY_LIMIT);
    if (text.trim() === "") return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw badParameter(`invalid JSON body: ${(error as Error).message}`);
    }
  }

  /**
   * Takes the client's connection over for an interactive stream (exec,
   * attach) and runs `session` on it: `101 UPGRADED` announcing
   * `contentType` and the raw socket when the client asked for an upgrade, a
   * 200 streaming the output with the request body as input otherwise. Check
   * everything first: an error thrown before this call is Docker's JSON
   * error, one after it can only end the stream.
   */
  serve(contentType: string, session: ConnectionSession): Promise<string> | Response {
    return serveConnection(this.event, contentType, () => this.body(), session);
  }

  /**
   * The headers of an upgrade request whose names start with `prefix`, every
   * value of a repeated one kept (Node joins them for the others).
   */
  headersStartingWith(prefix: string): Record<string, string[]> {
    const distinct = upgradeOf(this.event)?.req.headersDistinct ?? {};
    const wanted = prefix.toLowerCase();
    return Object.fromEntries(
      Object.entries(distinct).filter((entry): entry is [string, string[]] => entry[0].startsWith(wanted) && entry[1] !== undefined),
    );
  }

  /**
   * Takes the connection over for another protocol (`Upgrade: h2c`:
   * BuildKit's gRPC). The client must have asked for that protocol (a 400
   * otherwise, before anything runs); `prepare` then makes the one service
   * call, which may still refuse with Docker's JSON error; only then is
   * `101 Switching Protocols` answered and the socket handed over.
   */
  async switchProtocols(protocol: string, prepare: () => Promise<(socket: Duplex) => Promise<void>>): Promise<string> {
    const asked = this.event.req.headers.get("upgrade");
    if (!upgradeOf(this.event) || !asked) throw badParameter("no upgrade proto in request");
    if (asked.toLowerCase() !== protocol) throw badParameter(`protocol ${asked} not supported`);
    const run = await prepare();
    const socket = switchProtocols(this.event, protocol);
    try {
      await run(socket);
    } finally {
      socket.destroy();
    }
    // The socket was the route's: the server layer writes no response for it.
    return "";
  }

  /** Sets response headers (those /_ping answers with). */
  setHeaders(headers: Record<string, string>): void {
    for (const [name, value] of Object.entries(headers)) this.event.res.headers.set(name, value);
  }

  /** Sets the response's status (201 created, 204 no content, …). */
  status(code: number): void {
    this.event.res.status = code;
  }
}

/** A route: reads the request, makes one service call, returns what it answers. */
export function defineRoute(handler: (request: RouteRequest) => unknown) {
  return defineHandler((event) => handler(new RouteRequest(event)));
}
