import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { JsonLogEncoder, ownJsonLog } from "../docker/json-log.ts";
import { STDOUT } from "../docker/stdcopy.ts";
import { toContainerInspect } from "../docker/containers.ts";
import type { NerdctlContainerInspect } from "../nerdctl/container-types.ts";
import type { OutputSink } from "./held-container.ts";

/*
 * The log of a container whose output only nerdctld reads: one started with
 * input and no terminal (containerd's client keeps no log), or one taken over
 * from a nerdctld that is gone (its nerdctl kept the log until then). nerdctld
 * appends to the json-file log nerdctl reads for `docker logs`.
 */

/** A sink appending to the container's json-file log; undefined when its log is another driver's, or rotated. */
export function containerLogSink(container: NerdctlContainerInspect): OutputSink | undefined {
  const path = ownJsonLog(toContainerInspect(container, undefined).HostConfig.LogConfig as { Type?: unknown; Config?: unknown } | undefined, container.LogPath);
  if (!path) return undefined;
  const encoder = new JsonLogEncoder();
  const file = createWriteStream(path, { flags: "a" });
  let failed = false;
  file.on("error", () => {
    // The output still reaches the clients; the log is given up (a container removed meanwhile takes its directory along).
    failed = true;
  });
  return {
    write(stream, chunk) {
      if (failed) return true;
      const entries = encoder.push(stream === STDOUT ? "stdout" : "stderr", chunk, new Date());
      return entries === "" || file.write(entries);
    },
    drained: async () => {
      if (!failed && file.writableNeedDrain) await Promise.race([once(file, "drain"), once(file, "error")]).catch(() => {});
    },
    end: () => {
      if (!failed) file.end(encoder.end(new Date()));
    },
  };
}
