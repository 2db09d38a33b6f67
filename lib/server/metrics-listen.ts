import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { METRICS_CONTENT_TYPE } from "../metrics.ts";

export interface MetricsListening {
  /** host:port it answers on. */
  address: string;
  close(): Promise<void>;
}

/**
 * `HOST:PORT` (`[::1]:PORT` for IPv6); an empty host is the loopback
 * address, as the metrics are for a scraper on the same host unless told.
 */
export function parseMetricsAddress(text: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:[\]]*):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port > 65_535) throw new Error(`--metrics-addr ${JSON.stringify(text)}: expected HOST:PORT`);
  return { host: match[1]!.replace(/^\[|\]$/g, "") || "127.0.0.1", port };
}

/** Serves `GET /metrics` (Prometheus' text format) on its own plain HTTP listener, apart from the API. */
export async function listenMetrics(address: string, render: () => string): Promise<MetricsListening> {
  const { host, port } = parseMetricsAddress(address);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("404 page not found\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain" }).end("method not allowed\n");
      return;
    }
    const body = render();
    res.writeHead(200, { "Content-Type": METRICS_CONTENT_TYPE, "Content-Length": Buffer.byteLength(body) });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    address: `${bound.family === "IPv6" ? `[${bound.address}]` : bound.address}:${bound.port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
