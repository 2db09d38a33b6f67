import { API_VERSION } from "./api-version.ts";

/** Headers dockerd puts on every response; clients read API-Version to negotiate. */
export function daemonHeaders(daemonVersion: string): Record<string, string> {
  return {
    "Api-Version": API_VERSION.max,
    "Docker-Experimental": "false",
    Ostype: "linux",
    Server: `nerdctld/${daemonVersion} (linux)`,
  };
}

/** What GET and HEAD /_ping answer with besides the daemon headers. */
export const PING_HEADERS: Record<string, string> = {
  "Builder-Version": "1",
  "Cache-Control": "no-cache, no-store, must-revalidate",
  Pragma: "no-cache",
  Swarm: "inactive",
  "Content-Type": "text/plain; charset=utf-8",
};
