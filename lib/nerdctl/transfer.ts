/**
 * Moving images in and out of containerd with nerdctl: the argv and the
 * children of pull, push, load, save and import, commit, the small reads
 * around them, and what nerdctl prints that callers need to know.
 */
import { errorFromStderr, nerdctlMessage } from "./errors.ts";
import type { RunningCommand } from "../runner/types.ts";
import type { Nerdctl } from "./client.ts";
import { assertObjectName } from "./validate.ts";
import { referenceString, type ImageReference } from "../reference.ts";

/**
 * Go's collector setting for a nerdctl child moving an archive or layers.
 * Every chunk it streams is a fresh allocation on a heap of a few MB, and at
 * Go's default (GOGC=100: a 4 MB minimum heap goal) it collects every few MB
 * moved; 200 doubles the goal, which takes about a third off `nerdctl save`'s
 * CPU for some 6 MB more of its memory. A GOGC given to the daemon is kept.
 */
export const STREAMING_GOGC = "200";
const STREAMING_GO_ENV: Record<string, string> = process.env.GOGC === undefined ? { GOGC: STREAMING_GOGC } : {};

export interface TransferIo {
  /** Added to the child's environment (DOCKER_CONFIG with a request's credentials). */
  env?: Record<string, string>;
  /** A file descriptor to read as stdin instead of a pipe. */
  stdinFd?: number;
}

function startTransfer(nerdctl: Nerdctl, args: string[], io: TransferIo = {}): RunningCommand {
  return nerdctl.runner.spawn({
    ...nerdctl.command(args),
    // Transfers start no helpers, and share the daemon's CPU share rather than taking containerd's.
    sameSession: true,
    env: { ...STREAMING_GO_ENV, ...io.env },
    ...(io.stdinFd === undefined ? {} : { stdinFd: io.stdinFd }),
  });
}

/** `nerdctl pull`: its progress on stdout. */
export function startPull(nerdctl: Nerdctl, reference: ImageReference, platform: string | undefined, io?: TransferIo): RunningCommand {
  return startTransfer(nerdctl, ["pull", ...(platform ? [`--platform=${platform}`] : []), "--", referenceString(reference)], io);
}

/** `nerdctl push` of a reference with its tag: its progress on stdout, the digest it pushed on stderr. */
export function startPush(nerdctl: Nerdctl, reference: ImageReference, io?: TransferIo): RunningCommand {
  return startTransfer(nerdctl, ["push", "--", referenceString(reference)], io);
}

/** `nerdctl load` reading the archive from stdinFd (it refuses a stdin that is neither a FIFO nor a non-empty file). */
export function startLoad(nerdctl: Nerdctl, stdinFd: number): RunningCommand {
  return startTransfer(nerdctl, ["load"], { stdinFd });
}

/** `nerdctl save` of one or more images: the archive on stdout. */
export function startSave(nerdctl: Nerdctl, names: string[]): RunningCommand {
  return startTransfer(nerdctl, ["save", "--", ...names]);
}

export interface ImportOptions {
  /** `-` (stdin) or an http(s) URL. */
  source: string;
  reference?: ImageReference;
  message?: string;
  platform?: string;
}

/** `nerdctl import` of a root filesystem tarball: the image's name on stdout. */
export function startImport(nerdctl: Nerdctl, options: ImportOptions): RunningCommand {
  return startTransfer(nerdctl, [
    "import",
    ...(options.message ? [`--message=${options.message}`] : []),
    ...(options.platform ? [`--platform=${options.platform}`] : []),
    "--",
    options.source,
    ...(options.reference ? [referenceString(options.reference)] : []),
  ]);
}

/** The digest a name points at now (index or manifest), or undefined when there is no such image. */
export async function imageDigest(nerdctl: Nerdctl, ref: ImageReference): Promise<string | undefined> {
  const result = await nerdctl.runner.run(nerdctl.command(["images", "--no-trunc", "--format", "{{.Digest}}", "--", referenceString(ref)]));
  if (result.exitCode !== 0) return undefined;
  return result.stdout.split("\n").find((line) => line.startsWith("sha256:"))?.trim();
}

/** The size of a manifest or index a name points at, from the local store (nerdctl push prints only the digest). */
export async function targetSize(nerdctl: Nerdctl, ref: ImageReference, digest: string): Promise<number | undefined> {
  const result = await nerdctl.runner.run(
    nerdctl.command(["image", "inspect", "--mode=native", "--format", "{{json .Image.Target}}", "--", referenceString(ref)]),
  );
  if (result.exitCode !== 0) return undefined;
  for (const line of result.stdout.split("\n")) {
    try {
      const target = JSON.parse(line) as { digest?: string; size?: number };
      if (target.digest === digest && typeof target.size === "number") return target.size;
    } catch {
      // not a JSON line
    }
  }
  return undefined;
}

/** Every image name of the namespace. */
export async function imageNames(nerdctl: Nerdctl): Promise<Set<string>> {
  const stdout = await nerdctl.output(["images", "--all", "--format", "{{.Name}}"]);
  return new Set(stdout.split("\n").map((line) => line.trim()).filter(Boolean));
}

/** Removes images by name; best effort: a failure leaves an extra name, never a broken image. */
export async function removeImages(nerdctl: Nerdctl, names: string[]): Promise<void> {
  if (names.length === 0) return;
  await nerdctl.runner.run(nerdctl.command(["rmi", "--", ...names]));
}

/** An image's id (its configuration's digest). */
export async function imageId(nerdctl: Nerdctl, name: string): Promise<string> {
  return (await nerdctl.output(["image", "inspect", "--format", "{{.Id}}", "--", name], { kind: "image", name })).trim();
}

export interface CommitOptions {
  container: string;
  reference: ImageReference;
  comment?: string;
  author?: string;
  /** CMD and ENTRYPOINT instructions, the only ones nerdctl applies. */
  changes: string[];
  pause: boolean;
}

/** `nerdctl commit`; the new image's id. */
export async function commit(nerdctl: Nerdctl, options: CommitOptions, signal?: AbortSignal): Promise<string> {
  assertObjectName("container", options.container);
  const args = [
    "commit",
    ...(options.author ? [`--author=${options.author}`] : []),
    ...(options.comment ? [`--message=${options.comment}`] : []),
    ...options.changes.map((change) => `--change=${change}`),
    ...(options.pause ? [] : ["--pause=false"]),
    "--",
    options.container,
    referenceString(options.reference),
  ];
  const result = await nerdctl.runner.run(nerdctl.command(args), signal ? { signal } : {});
  if (result.exitCode !== 0) throw errorFromStderr(result.stderr, { kind: "container", name: options.container });
  const id = /sha256:[0-9a-f]{64}/.exec(result.stdout)?.[0];
  if (!id) throw new Error(`nerdctl commit printed no image id: ${result.stdout.trim() || nerdctlMessage(result.stderr)}`);
  return id;
}

// --- what nerdctl prints ------------------------------------------------------------

const ANSI_RE = /\x1b\[[0-9;]*[A-Za-z]/g;

/** The names `nerdctl load` reports (`Loaded image: …`), each once, in order. */
export function loadedNames(stdout: string): string[] {
  const names: string[] = [];
  for (const line of stdout.split("\n")) {
    const match = /^Loaded image: (\S+)\s*$/.exec(line.replace(ANSI_RE, ""));
    if (match && !names.includes(match[1]!)) names.push(match[1]!);
  }
  return names;
}

/** The extra record nerdctl 2.3 load makes for the archive's index: `import@sha256:<index>`. */
export function isImportRecord(name: string): boolean {
  return /^import@sha256:[0-9a-f]{64}$/.test(name);
}

/** The extra `<name>@sha256:<index>` record nerdctl 2.3 import saves next to the name (its stderr progress). */
export function importRecords(stderr: string, name: string): string[] {
  const records: string[] = [];
  for (const line of stderr.split("\n")) {
    const match = /^(\S+@sha256:[0-9a-f]{64})\tsaved\b/.exec(line);
    if (match && match[1]!.startsWith(`${name}@`) && !records.includes(match[1]!)) records.push(match[1]!);
  }
  return records;
}

/** The digest nerdctl push logs before pushing: `pushing as a reduced-platform image (<media type>, sha256:…)`. */
export function pushedDigest(stderr: string): string | undefined {
  return /pushing as a reduced-platform image \([^,]+, (sha256:[0-9a-f]{64})\)/.exec(stderr)?.[1];
}
