import { networkNames } from "../../lib/docker/containers.ts";
import { containerSnapshot, inspectContainer, top } from "../../lib/nerdctl/containers.ts";
import { networkIdsByName } from "../../lib/nerdctl/networks.ts";
import { createServer } from "node:net";
import type { Scenario } from "../fixture-scenarios.ts";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

export const CONTAINER_SCENARIOS: Scenario[] = [
  {
    name: "containers",
    async prepare(nerdctl) {
      // A container with what lists show: a published port (a free one: another engine may hold any
      // fixed one), a label, a named volume.
      const port = await freePort();
      const result = await nerdctl.runner.run(
        nerdctl.command([
          "run", "--detach", "--name", "ported", "--publish", `127.0.0.1:${port}:80`, "--label", "app=demo",
          "--volume", "data:/data", "busybox", "sleep", "3600",
        ]),
      );
      if (result.exitCode !== 0) throw new Error(`prepare containers: ${result.stderr}`);
    },
    async record(nerdctl) {
      const all = await containerSnapshot(nerdctl, { all: true });
      await containerSnapshot(nerdctl, { all: false });
      // The ids of the networks the containers are on (the same call for lists and inspects here).
      await networkIdsByName(nerdctl, all.containers.flatMap(networkNames));
      for (const name of ["web", "done", "fresh", "ported"]) await inspectContainer(nerdctl, name);
      await inspectContainer(nerdctl, "nosuch").catch(() => {});
      await top(nerdctl, "web", "");
      await top(nerdctl, "web", "-o pid,comm");
      await top(nerdctl, "done", "").catch(() => {});
    },
  },
];

/** Reads a whole response, so a streamed one runs to its end while recording. */
async function drain(response: Promise<Response>): Promise<void> {
  await (await response).arrayBuffer();
}

export const LOG_SCENARIOS: Scenario[] = [
  {
    // `chatty` wrote three lines to stdout and three to stderr, then exited; `tty` has a terminal.
    name: "logs",
    async prepare(nerdctl) {
      for (const args of [
        ["run", "--name", "chatty", "busybox", "sh", "-c", "for i in 1 2 3; do echo out$i; echo err$i >&2; done"],
        ["run", "--detach", "--tty", "--name", "tty", "busybox", "sh", "-c", "echo hello from a terminal; sleep 3600"],
      ]) {
        const result = await nerdctl.runner.run(nerdctl.command(args));
        if (result.exitCode !== 0) throw new Error(`prepare logs: ${result.stderr}`);
      }
    },
    async record(_nerdctl, _runner, request) {
      await drain(request("/v1.43/containers/chatty/logs?stdout=1&stderr=1"));
      await drain(request("/v1.43/containers/chatty/logs?stdout=1&tail=1&timestamps=1"));
      await drain(request("/v1.43/containers/tty/logs?stdout=1&stderr=1"));
      await drain(request("/v1.43/containers/nosuch/logs?stdout=1"));
    },
  },
];

export const CONTAINER_CHANGE_SCENARIOS: Scenario[] = [
  {
    // Reads of a container's filesystem: what changed, its export, the sizes `ps -s` shows.
    name: "containers-files",
    async prepare(nerdctl) {
      const result = await nerdctl.runner.run(
        nerdctl.command(["run", "--name", "writer", "busybox", "sh", "-c", "echo hi > /root/note; rm /etc/group"]),
      );
      if (result.exitCode !== 0) throw new Error(`prepare containers-files: ${result.stderr}`);
    },
    async record(_nerdctl, _runner, request) {
      await drain(request("/v1.43/containers/writer/changes"));
      await drain(request("/v1.43/containers/nosuch/changes"));
      await drain(request("/v1.43/containers/writer/export"));
      await drain(request("/v1.43/containers/json?all=1&size=1"));
    },
  },
  {
    // `prunable` (label purpose=prune, exited) is the only stopped container the filter selects.
    name: "containers-prune",
    async prepare(nerdctl) {
      const result = await nerdctl.runner.run(nerdctl.command(["run", "--name", "prunable", "--label", "purpose=prune", "busybox", "true"]));
      if (result.exitCode !== 0) throw new Error(`prepare containers-prune: ${result.stderr}`);
    },
    async record(_nerdctl, _runner, request) {
      await drain(request(`/v1.43/containers/prune?filters=${encodeURIComponent('{"label":["purpose=prune"]}')}`, { method: "POST" }));
    },
  },
];
