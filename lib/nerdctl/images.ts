import { ApiError } from "../errors.ts";
import { errorFromStderr } from "./errors.ts";
import { JSON_FORMAT, type Nerdctl } from "./client.ts";
import type { NerdctlImageIdentity } from "./container-types.ts";
import type { NerdctlHistoryLine, NerdctlNativeImage } from "./image-types.ts";

/*
 * Image records, as nerdctl reads them.
 *
 * `nerdctl images` prints nerdctl's image id (the index or manifest digest),
 * the record's date and rounded sizes; Docker's id is the config digest, its
 * date the config's, and its labels are in the config. `nerdctl image inspect
 * --mode native` prints all of it, per record, for the names given; each of
 * the sixteen hex digits, given as `sha256:<digit>`, is an id prefix that
 * nerdctl matches against every record's digest, so the sixteen together ask
 * for every record of the namespace in a single call.
 */
const EVERY_RECORD = [..."0123456789abcdef"].map((digit) => `sha256:${digit}`);

/** Every image record of the namespace, with its index, manifest, config and unpacked size. */
export async function inspectAllRecords(nerdctl: Nerdctl): Promise<NerdctlNativeImage[]> {
  const result = await nerdctl.runner.run(nerdctl.command(["image", "inspect", "--mode", "native", "--", ...EVERY_RECORD]));
  if (result.exitCode !== 0) throw errorFromStderr(result.stderr, {});
  // nerdctl gives the whole inspection 5 s and logs, rather than fails, what it could not read in time.
  if (/context deadline exceeded/.test(result.stderr)) {
    throw new ApiError("system", "nerdctl image inspect ran out of time reading the namespace's images");
  }
  const text = result.stdout.trim();
  return text === "" ? [] : (JSON.parse(text) as NerdctlNativeImage[]);
}

/** What `image inspect --format '{{json .}}'` gives a container's listing, read from a native record. */
export function identityOf(record: NerdctlNativeImage): NerdctlImageIdentity | undefined {
  const id = record.ImageConfigDesc?.digest;
  if (!id) return undefined;
  const config = record.ImageConfig?.config;
  return {
    Id: id,
    RepoTags: [record.Image.Name],
    Config: {
      Entrypoint: config?.Entrypoint,
      Cmd: config?.Cmd,
      Labels: config?.Labels,
      ExposedPorts: config?.ExposedPorts,
      Volumes: config?.Volumes,
      WorkingDir: config?.WorkingDir,
    },
  };
}

/** Layer by layer, newest first, with sizes as the snapshotter counts them. */
export async function historyLines(nerdctl: Nerdctl, record: string): Promise<NerdctlHistoryLine[]> {
  const args = ["image", "history", "--no-trunc", "--human=false", "--format", JSON_FORMAT, "--", checkRecord(record)];
  return nerdctl.jsonLines<NerdctlHistoryLine>(args, { kind: "image", name: record });
}

/** `nerdctl tag` from one of the image's records; `name` is what the client called the image. */
export async function tagRecord(nerdctl: Nerdctl, record: string, target: string, name: string): Promise<void> {
  await nerdctl.output(["tag", "--", checkRecord(record), target], { kind: "image", name });
}

/**
 * Removes records. `--force` because the caller already applied dockerd's
 * rules; nerdctl's own checks go by record name only (it refuses a record a
 * stopped container was made from, and for a running one it keeps the content
 * under a record named `:`, which the listing shows untagged, as dockerd shows
 * an image untagged by `rmi --force`).
 */
export async function removeRecords(nerdctl: Nerdctl, records: readonly string[]): Promise<void> {
  if (records.length === 0) return;
  await nerdctl.output(["rmi", "--force", "--", ...records.map(checkRecord)], { kind: "image" });
}

/**
 * Record names come from nerdctl itself, not from the client, and go after
 * `--`; some are not references at all (`:`, `import@sha256:…`), so this only
 * makes sure none could be read as a flag.
 */
function checkRecord(name: string): string {
  if (name === "" || name.startsWith("-") || /[\s\0]/.test(name)) throw new ApiError("system", `unexpected image record name ${JSON.stringify(name)}`);
  return name;
}
