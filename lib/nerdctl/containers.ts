import { badParameter, conflict } from "../errors.ts";
import { errorFromStderr, NerdctlCrash } from "./errors.ts";
import type { RunningCommand } from "../runner/types.ts";
import { JSON_FORMAT, type Nerdctl } from "./client.ts";
import type { NerdctlNativeImage } from "./image-types.ts";
import { identityOf } from "./images.ts";
import { readListed } from "./listed-objects.ts";
import type { ContainerSize, ContainerSnapshot, NerdctlContainerInspect, NerdctlImageIdentity } from "./container-types.ts";
import { assertObjectName } from "./validate.ts";
import { assertImageName, familiarize } from "../reference.ts";

/** Full ids of the namespace's containers (all of them, or only running ones). */
export async function listContainerIds(nerdctl: Nerdctl, options: { all: boolean }): Promise<string[]> {
  const args = ["ps", "--quiet", "--no-trunc", ...(options.all ? ["--all"] : [])];
  return (await nerdctl.output(args, {}, { shared: true })).split("\n").filter((line) => line.trim() !== "");
}

/** Inspects the containers a listing named, all in one call; those removed since are left out. */
export async function inspectContainers(nerdctl: Nerdctl, ids: string[]): Promise<NerdctlContainerInspect[]> {
  for (const id of ids) assertObjectName("container", id);
  const read = await readListed(nerdctl, "container", ids, (names) => ["container", "inspect", "--", ...names]);
  return read ? (JSON.parse(read.stdout) as NerdctlContainerInspect[]).map(withRecordedExit) : [];
}

/** The label holding how a run ended that left no task behind (see recordExit). */
const EXIT_LABEL = "nerdctld/exit";

/**
 * A container started by containerd's own client loses its task when it
 * ends, and nerdctl then calls it never started: the daemon recorded how that
 * run went, and it stands in for the task until the next start makes one.
 */
function withRecordedExit(container: NerdctlContainerInspect): NerdctlContainerInspect {
  const recorded = container.Config?.Labels?.[EXIT_LABEL];
  if (!recorded || (container.State?.Status ?? "") !== "") return container;
  try {
    const exit = JSON.parse(recorded) as { exitCode: number; startedAt: string; finishedAt: string };
    const state = { ...container.State, Status: "exited", Running: false, ExitCode: exit.exitCode, StartedAt: exit.startedAt, FinishedAt: exit.finishedAt };
    return { ...container, State: state };
  } catch {
    return container;
  }
}

/** Records how a run without a task left behind ended (containerd's client deletes the task it started). */
export async function recordExit(nerdctl: Nerdctl, id: string, exit: { exitCode: number; startedAt: Date; finishedAt: Date }): Promise<void> {
  const value = JSON.stringify({ exitCode: exit.exitCode, startedAt: exit.startedAt.toISOString(), finishedAt: exit.finishedAt.toISOString() });
  await labelContainer(nerdctl, id, EXIT_LABEL, value);
}

/** The label naming the process that holds a running container's stdio (see recordHolder). */
export const HOLDER_LABEL = "nerdctld/holder";

/** Records which daemon holds the container's stdio, so that another can take it over once that one is gone. */
export async function recordHolder(nerdctl: Nerdctl, id: string, holder: string): Promise<void> {
  await labelContainer(nerdctl, id, HOLDER_LABEL, holder);
}

/** One label of the container, set by containerd's client: only that key is written, not the whole record. */
async function labelContainer(nerdctl: Nerdctl, id: string, key: string, value: string): Promise<void> {
  const args = ["containers", "label", "--", assertObjectName("container", id), `${key}=${value}`];
  const result = await nerdctl.runner.run(nerdctl.ctrCommand(args));
  if (result.exitCode !== 0) throw errorFromStderr(result.stderr, { kind: "container", name: id });
}

export async function inspectContainer(nerdctl: Nerdctl, ref: string): Promise<NerdctlContainerInspect> {
  assertObjectName("container", ref);
  const [document] = await nerdctl.json<NerdctlContainerInspect[]>(["container", "inspect", "--", ref], { kind: "container", name: ref });
  return withRecordedExit(document!);
}

/**
 * Image ids and entrypoints for the images containers were made from, one call
 * for all of them. An image removed since is simply absent from the map.
 */
export async function imageIdentities(nerdctl: Nerdctl, references: string[]): Promise<Map<string, NerdctlImageIdentity>> {
  const wanted = [...new Set(references)].filter((reference) => reference !== "");
  for (const reference of wanted) assertImageName(reference);
  try {
    return await identitiesBy(nerdctl, wanted, DOCKER_COMPATIBLE);
  } catch (error) {
    // nerdctl 2.3's Docker-compatible inspect crashes on an image whose history has no dates; its native mode reads it.
    if (!(error instanceof NerdctlCrash)) throw error;
    return identitiesBy(nerdctl, wanted, NATIVE);
  }
}

/** How `nerdctl image inspect` is asked, and how its output reads. */
interface InspectMode {
  args: string[];
  identities(stdout: string): NerdctlImageIdentity[];
}

const DOCKER_COMPATIBLE: InspectMode = {
  args: ["--format", JSON_FORMAT],
  identities: (stdout) =>
    stdout
      .split("\n")
      .filter((line) => line.trim().startsWith("{"))
      .map((line) => JSON.parse(line) as NerdctlImageIdentity),
};

/** One record per name found (and per other name of the same content), nothing for a name not found. */
const NATIVE: InspectMode = {
  args: ["--mode", "native"],
  identities: (stdout) => (JSON.parse(stdout.trim() || "[]") as NerdctlNativeImage[]).flatMap((record) => identityOf(record) ?? []),
};

async function identitiesBy(nerdctl: Nerdctl, references: string[], mode: InspectMode): Promise<Map<string, NerdctlImageIdentity>> {
  const found = new Map<string, NerdctlImageIdentity>();
  // An image removed after its container was made is simply not asked for again.
  const read = await readListed(nerdctl, "image", references, (names) => ["image", "inspect", ...mode.args, "--", ...names]);
  if (!read) return found;
  const documents = mode.identities(read.stdout);
  for (const reference of read.names) {
    const document = documents.find((candidate) => matchesReference(candidate, reference));
    if (document) found.set(reference, document);
  }
  return found;
}

/** Whether an inspected image is the one a container's reference names. */
function matchesReference(image: NerdctlImageIdentity, reference: string): boolean {
  const tags = image.RepoTags ?? [];
  return tags.some((tag) => tag === reference || familiarize(tag) === familiarize(reference)) || image.Id === reference;
}

/** Everything GET /containers/json shows, in three calls however many containers there are. */
export async function containerSnapshot(nerdctl: Nerdctl, options: { all: boolean }): Promise<ContainerSnapshot> {
  const ids = await listContainerIds(nerdctl, options);
  const containers = await inspectContainers(nerdctl, ids);
  const images = await imageIdentities(nerdctl, containers.map((container) => container.Image));
  return { containers, images };
}

/** `ps` options as Docker's `ps_args` gives them ("aux", "-o pid,comm"): words of option characters only. */
const PS_ARGS = /^[A-Za-z0-9,=%:_+-]+$/;

/**
 * The processes of a running container as `nerdctl top` prints them. The ps
 * options go after `--`, so nerdctl hands them to ps and never reads them itself.
 */
export async function top(nerdctl: Nerdctl, ref: string, psArgs: string): Promise<string> {
  assertObjectName("container", ref);
  const words = psArgs.split(/\s+/).filter(Boolean);
  if (words.some((word) => !PS_ARGS.test(word))) throw badParameter(`invalid ps_args: ${JSON.stringify(psArgs.slice(0, 80))}`);
  const table = await nerdctl.output(["top", "--", ref, ...words], { kind: "container", name: ref });
  // For a stopped container whose task containerd still holds, nerdctl prints nothing and exits 0;
  // ps always prints its titles for a running one.
  if (table.trim() === "") throw conflict(`Container ${ref} is not running`);
  return table;
}

/** Every container of the namespace, inspected: two calls whatever their number. */
export async function allContainers(nerdctl: Nerdctl): Promise<NerdctlContainerInspect[]> {
  return inspectContainers(nerdctl, await listContainerIds(nerdctl, { all: true }));
}

/** `nerdctl diff`: one "A|C|D path" line per change in the container's writable layer. */
export async function changes(nerdctl: Nerdctl, ref: string): Promise<string> {
  assertObjectName("container", ref);
  return nerdctl.output(["container", "diff", "--", ref], { kind: "container", name: ref }, { shared: true });
}

/** `nerdctl export`: the container's filesystem as a tar on stdout, streaming. */
export function exportContainer(nerdctl: Nerdctl, ref: string, signal: AbortSignal): RunningCommand {
  assertObjectName("container", ref);
  return nerdctl.runner.spawn(nerdctl.command(["container", "export", "--", ref]), { signal });
}

/** Removes containers (running ones only with `force`: nerdctl refuses them otherwise). */
export async function removeContainers(nerdctl: Nerdctl, ids: string[], options: { volumes?: boolean; force?: boolean } = {}): Promise<void> {
  if (ids.length === 0) return;
  for (const id of ids) assertObjectName("container", id);
  const flags = [...(options.force ? ["--force"] : []), ...(options.volumes ? ["--volumes"] : [])];
  await nerdctl.output(["container", "rm", ...flags, "--", ...ids], { kind: "container", name: ids[0]! });
}

/** Sizes nerdctl prints ("20.0 KiB", "1.9 MiB", "4.1kB") in bytes; approximate, as printed. */
export function parseSize(text: string): number {
  const match = /^([\d.]+)\s*([KMGTP]?)(i?)B$/i.exec(text.trim());
  if (!match) return 0;
  const power = "KMGTP".indexOf(match[2]!.toUpperCase()) + 1;
  return Math.round(Number(match[1]) * (match[3] ? 1024 : 1000) ** power);
}

/**
 * Every container's sizes, from one `nerdctl ps --size`: "20.0 KiB (virtual
 * 1.9 MiB)". nerdctl fails the whole call when it cannot read one container's
 * size (its snapshot gone with it, mid-removal): the sizes are then unknown,
 * shown as none counted, rather than the failure of the list they are part of.
 */
export async function containerSizes(nerdctl: Nerdctl): Promise<Map<string, ContainerSize>> {
  const sizes = new Map<string, ContainerSize>();
  const result = await nerdctl.runner.run(nerdctl.command(["ps", "--all", "--size", "--no-trunc", "--format", "{{.ID}}\t{{.Size}}"]), { shared: true });
  // Unknown sizes are no error for the client (a crash's trace is logged where the call ran).
  if (result.exitCode !== 0) return sizes;
  for (const line of result.stdout.split("\n")) {
    const match = /^([0-9a-f]{64})\t(.+?) \(virtual (.+)\)$/.exec(line.trim());
    if (match) sizes.set(match[1]!, { rw: parseSize(match[2]!), rootFs: parseSize(match[3]!) });
  }
  return sizes;
}
