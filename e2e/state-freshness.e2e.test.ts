import { request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeEach, describe, expect, inject, it } from "vitest";
import { engineNerdctl, engineShell } from "./support/engine-client.ts";
import { seededRandom } from "./support/seeded-random.ts";

/**
 * nerdctld answers reads from a state it keeps; these suites check that the
 * state never answers what is no longer true. Changes through nerdctld and
 * through plain nerdctl come in a random order (seeded, the seed printed);
 * after each, nerdctld's view is compared with a fresh nerdctl listing: it
 * must match at once after a change through nerdctld, and within a second
 * after one from outside.
 */
const dockerHost = inject("dockerHost");
const socketPath = dockerHost.replace(/^unix:\/\//, "");
/** Every object of these suites is named so; the seed's own (`fresh`, `web`, `done`) never are. */
const PREFIX = "freshness";
const OUTSIDE_BOUND_MS = 1_000;

interface Answer {
  status: number;
  body: unknown;
}

function api(method: string, path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      { socketPath, method, path, headers: payload ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) } : {} },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as unknown) : undefined }));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** POST /containers/{name}/wait?condition=removed: `listening` once answered 200 (docker run starts only then), `removed` at its end. */
function waitRemoved(name: string): { listening: Promise<void>; removed: Promise<void> } {
  let onListening!: () => void;
  const listening = new Promise<void>((resolve) => (onListening = resolve));
  const removed = new Promise<void>((resolve, reject) => {
    const req = request({ socketPath, method: "POST", path: `/containers/${name}/wait?condition=removed` }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`wait for ${name}: ${res.statusCode}`));
      onListening();
      res.resume().on("end", () => resolve());
    });
    req.on("error", reject);
    req.end();
  });
  // A refused wait fails the listening too.
  return { listening: Promise.race([listening, removed]), removed };
}

/** docker run --rm, as the CLI does it: create, wait for the removal, start, and return once the removal is told. */
async function runRemoved(name: string): Promise<void> {
  await must("POST", `/containers/create?name=${name}`, { Image: "busybox", Cmd: ["true"], HostConfig: { AutoRemove: true } });
  const wait = waitRemoved(name);
  await wait.listening;
  await must("POST", `/containers/${name}/start`);
  await wait.removed;
}

async function must(method: string, path: string, body?: unknown): Promise<unknown> {
  const answer = await api(method, path, body);
  if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

async function nerdctl(...args: string[]): Promise<string> {
  const result = await engineNerdctl(args);
  if (result.exitCode !== 0) throw new Error(`nerdctl ${args.join(" ")}: ${result.stderr}`);
  return result.stdout.trim();
}

/** What the suite compares: its own objects, by name, containers with their state. */
interface View {
  containers: string[];
  volumes: string[];
  networks: string[];
  images: string[];
}

const ours = (names: string[]) => names.filter((name) => name.startsWith(`${PREFIX}-`) || name.startsWith(`${PREFIX}/`)).sort();

async function daemonView(): Promise<View> {
  const [containers, volumes, networks, images] = await Promise.all([
    must("GET", "/containers/json?all=1") as Promise<{ Names: string[]; State: string }[]>,
    must("GET", "/volumes") as Promise<{ Volumes: { Name: string }[] }>,
    must("GET", "/networks") as Promise<{ Name: string }[]>,
    must("GET", "/images/json") as Promise<{ RepoTags: string[] | null }[]>,
  ]);
  return {
    containers: ours(containers.map((container) => `${container.Names[0]!.slice(1)}:${container.State}`)),
    volumes: ours(volumes.Volumes.map((volume) => volume.Name)),
    networks: ours(networks.map((network) => network.Name)),
    images: ours(images.flatMap((image) => image.RepoTags ?? [])),
  };
}

/** nerdctl's status words as Docker's state names. */
function stateOf(status: string): string {
  if (/^Up/.test(status)) return "running";
  if (/^Exited/.test(status)) return "exited";
  return status.toLowerCase();
}

async function nerdctlView(): Promise<View> {
  const [containers, volumes, networks, images] = await Promise.all([
    nerdctl("ps", "-a", "--format", "{{.Names}}\t{{.Status}}"),
    nerdctl("volume", "ls", "--quiet"),
    nerdctl("network", "ls", "--format", "{{.Name}}"),
    nerdctl("images", "--format", "{{.Repository}}:{{.Tag}}"),
  ]);
  const lines = (text: string) => text.split("\n").filter((line) => line.trim() !== "");
  return {
    containers: ours(lines(containers).map((line) => {
      const [name, status] = line.split("\t");
      return `${name}:${stateOf(status ?? "")}`;
    })),
    volumes: ours(lines(volumes)),
    networks: ours(lines(networks)),
    images: ours(lines(images)),
  };
}


/** The suite's objects as the changes so far left them. */
interface Model {
  created: Set<string>;
  running: Set<string>;
  stopped: Set<string>;
  volumes: Set<string>;
  networks: Set<string>;
  tags: Set<string>;
  next: number;
}

interface Change {
  what: string;
  through: "nerdctld" | "nerdctl";
  run(): Promise<void>;
}

/** The changes the model allows now, through either path. */
function possibleChanges(model: Model): Change[] {
  const changes: Change[] = [];
  const add = (what: string, viaDaemon: () => Promise<unknown>, viaNerdctl: () => Promise<unknown>, apply: () => void) => {
    changes.push({ what, through: "nerdctld", run: async () => (await viaDaemon(), apply()) });
    changes.push({ what, through: "nerdctl", run: async () => (await viaNerdctl(), apply()) });
  };
  const n = model.next;
  const container = `${PREFIX}-c${n}`;
  add(`create ${container}`, () => must("POST", `/containers/create?name=${container}`, { Image: "busybox", Cmd: ["sleep", "600"] }), () => nerdctl("create", "--name", container, "busybox", "sleep", "600"), () => {
    model.created.add(container);
    model.next += 1;
  });
  for (const name of [...model.created, ...model.stopped].slice(0, 2)) {
    add(`start ${name}`, () => must("POST", `/containers/${name}/start`), () => nerdctl("start", name), () => {
      model.created.delete(name);
      model.stopped.delete(name);
      model.running.add(name);
    });
  }
  for (const name of [...model.running].slice(0, 2)) {
    add(`stop ${name}`, () => must("POST", `/containers/${name}/stop?t=0`), () => nerdctl("stop", "--time", "0", name), () => {
      model.running.delete(name);
      model.stopped.add(name);
    });
  }
  for (const name of [...model.created, ...model.running, ...model.stopped].slice(0, 2)) {
    add(`remove ${name}`, () => must("DELETE", `/containers/${name}?force=1`), () => nerdctl("rm", "--force", name), () => {
      for (const set of [model.created, model.running, model.stopped]) set.delete(name);
    });
  }
  const once = `${PREFIX}-r${n}`;
  add(`run --rm ${once}`, () => runRemoved(once), () => nerdctl("run", "--rm", "--name", once, "busybox", "true"), () => {
    model.next += 1;
  });
  const volume = `${PREFIX}-v${n}`;
  add(`create volume ${volume}`, () => must("POST", "/volumes/create", { Name: volume }), () => nerdctl("volume", "create", volume), () => {
    model.volumes.add(volume);
    model.next += 1;
  });
  for (const name of [...model.volumes].slice(0, 1)) {
    add(`remove volume ${name}`, () => must("DELETE", `/volumes/${name}`), () => nerdctl("volume", "rm", name), () => model.volumes.delete(name));
  }
  const network = `${PREFIX}-n${n}`;
  add(`create network ${network}`, () => must("POST", "/networks/create", { Name: network }), () => nerdctl("network", "create", network), () => {
    model.networks.add(network);
    model.next += 1;
  });
  for (const name of [...model.networks].slice(0, 1)) {
    add(`remove network ${name}`, () => must("DELETE", `/networks/${name}`), () => nerdctl("network", "rm", name), () => model.networks.delete(name));
  }
  const tag = `${PREFIX}/img:${n}`;
  add(`tag ${tag}`, () => must("POST", `/images/busybox:latest/tag?repo=${PREFIX}/img&tag=${n}`), () => nerdctl("tag", "busybox:latest", tag), () => {
    model.tags.add(tag);
    model.next += 1;
  });
  for (const name of [...model.tags].slice(0, 1)) {
    add(`untag ${name}`, () => must("DELETE", `/images/${name}`), () => nerdctl("rmi", "--force", name), () => model.tags.delete(name));
  }
  return changes;
}

async function cleanUp(): Promise<void> {
  const view = await nerdctlView();
  const names = (entries: string[]) => entries.map((entry) => entry.split(":")[0]!);
  if (view.containers.length) await engineNerdctl(["rm", "--force", ...names(view.containers)]);
  if (view.volumes.length) await engineNerdctl(["volume", "rm", ...view.volumes]);
  if (view.networks.length) await engineNerdctl(["network", "rm", ...view.networks]);
  if (view.images.length) await engineNerdctl(["rmi", "--force", ...view.images]);
}

/**
 * Random changes, each followed by reads compared with a fresh nerdctl
 * listing: the descriptions of the stale answers (none is right).
 */
async function staleAnswers(seed: number, rounds: number): Promise<{ stale: string[]; slowest: number }> {
  const pick = seededRandom(seed);
  const model: Model = { created: new Set(), running: new Set(), stopped: new Set(), volumes: new Set(), networks: new Set(), tags: new Set(), next: 0 };
  const stale: string[] = [];
  let slowest = 0;
  for (let round = 0; round < rounds; round++) {
    const changes = possibleChanges(model);
    const change = changes[Math.floor(pick() * changes.length)]!;
    await change.run();
    const changedAt = Date.now();
    const truth = await nerdctlView();
    if (change.through === "nerdctld") {
      const seen = await daemonView();
      if (JSON.stringify(seen) !== JSON.stringify(truth)) stale.push(`round ${round}, ${change.what} through nerdctld: read ${JSON.stringify(seen)}, nerdctl has ${JSON.stringify(truth)}`);
      continue;
    }
    // From outside: reads until one matches; that read must have started within the bound.
    for (;;) {
      const readAt = Date.now();
      const seen = await daemonView();
      if (JSON.stringify(seen) === JSON.stringify(truth)) {
        slowest = Math.max(slowest, readAt - changedAt);
        break;
      }
      if (readAt - changedAt > OUTSIDE_BOUND_MS) {
        stale.push(`round ${round}, ${change.what} through nerdctl: still ${JSON.stringify(seen)} after ${readAt - changedAt} ms, nerdctl has ${JSON.stringify(truth)}`);
        break;
      }
      await sleep(50);
    }
  }
  return { stale, slowest };
}

/** Clients reading containers without a pause (as IDEs and dashboards poll), so that a read is under way whenever something changes; stop() ends them. */
function pollingClients(count: number): { stop(): Promise<void> } {
  let stopped = false;
  const poll = async () => {
    while (!stopped) {
      const listed = (await must("GET", "/containers/json?all=1")) as { Id: string }[];
      const some = listed[Math.floor(Math.random() * listed.length)];
      if (some) await api("GET", `/containers/${some.Id}/json`);
    }
  };
  const clients = Promise.all(Array.from({ length: count }, poll));
  return {
    stop: async () => {
      stopped = true;
      await clients;
    },
  };
}

const seedOf = (offset: number) => Number(process.env.NERDCTLD_FRESHNESS_SEED ?? (Date.now() + offset) % 1_000_000);
const ROUNDS = Number(process.env.NERDCTLD_FRESHNESS_ROUNDS ?? 40);

describe("the daemon's state", () => {
  beforeEach(cleanUp);
  afterAll(cleanUp);

  it("is never stale: changes through nerdctld show in the next read, changes through nerdctl within a second", async () => {
    const seed = seedOf(0);
    console.error(`state freshness: seed ${seed}, ${ROUNDS} rounds (NERDCTLD_FRESHNESS_SEED / _ROUNDS to repeat)`);
    const { stale, slowest } = await staleAnswers(seed, ROUNDS);
    console.error(`state freshness: an outside change took at most ${slowest} ms to show (after nerdctl's own listing)`);
    expect(stale).toEqual([]);
  });

  it("is never stale while other clients read all the time (a read under way when each change comes)", async () => {
    const seed = seedOf(1);
    console.error(`state freshness under reads: seed ${seed}, ${ROUNDS} rounds`);
    const clients = pollingClients(4);
    const { stale } = await staleAnswers(seed, ROUNDS).finally(() => clients.stop());
    expect(stale).toEqual([]);
  });

  it("stays right while its event source is killed, and follows changes again once it is back", async () => {
    const name = `${PREFIX}-survivor`;
    await must("POST", `/containers/create?name=${name}`, { Image: "busybox", Cmd: ["sleep", "600"] });
    const address = inject("engine").env.CONTAINERD_ADDRESS ?? "";
    expect(address).not.toBe("");
    // Only this daemon's stream: other daemons on this host may run `nerdctl events` of their own.
    const killed = await engineShell(
      `for pid in $(pgrep -f 'nerdctl.* events --format'); do if tr '\\0' '\\n' < /proc/$pid/environ | grep -qx 'CONTAINERD_ADDRESS=${address}'; then kill -9 $pid && echo $pid; fi; done`,
    );
    expect(killed.stdout.trim(), killed.stderr).toMatch(/^\d+/);
    // While it is down and coming back: a change from outside, and reads that must never miss it.
    await nerdctl("start", name);
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      const seen = await daemonView();
      expect(seen.containers).toContain(`${name}:running`);
      await sleep(100);
    }
    // Back: a new stream runs, and an outside change shows within the bound again.
    const running = await engineShell(
      `for pid in $(pgrep -f 'nerdctl.* events --format'); do tr '\\0' '\\n' < /proc/$pid/environ | grep -qx 'CONTAINERD_ADDRESS=${address}' && echo $pid; done`,
    );
    expect(running.stdout.trim()).toMatch(/^\d+/);
    expect(running.stdout).not.toContain(killed.stdout.trim());
    await nerdctl("stop", "--time", "0", name);
    const stoppedAt = Date.now();
    for (;;) {
      const seen = await daemonView();
      if (seen.containers.includes(`${name}:exited`)) break;
      expect(Date.now() - stoppedAt).toBeLessThan(OUTSIDE_BOUND_MS);
      await sleep(50);
    }
  });
});
