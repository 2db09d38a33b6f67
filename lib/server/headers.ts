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

const PING_HEADERS: Record<string, string> = {
  "Cache-Control": "no-cache, no-store, must-revalidate",
  Pragma: "no-cache",
  Swarm: "inactive",
  "Content-Type": "text/plain; charset=utf-8",
};

/**
 * What GET and HEAD /_ping answer with besides the daemon headers.
 * Builder-Version 2 sends the docker CLI to buildx (BuildKit's API on /grpc
 * and /session), 1 to the classic POST /build.
 */
export function pingHeaders(builderVersion: "1" | "2"): Record<string, string> {
  return { "Builder-Version": builderVersion, ...PING_HEADERS };
}
