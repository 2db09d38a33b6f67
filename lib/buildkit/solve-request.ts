import { parseNormalizedNamed, referenceString, tagNameOnly } from "../reference.ts";
import { lengthDelimited, mapEntries, mapEntry, readFields, stringField, type WireField } from "./protobuf.ts";

/**
 * buildx's docker driver asks for dockerd's own exporter, `moby` (the image
 * into dockerd's store), which a standalone buildkitd does not have. Its
 * containerd worker's `image` exporter does the same into containerd's
 * store: the SolveRequest is given that one instead, unpacked (so the image
 * runs at once, as nerdctl builds it) and, without a name, kept as a dangling
 * `<none>@digest` image, as dockerd keeps an untagged build.
 */

/** SolveRequest's fields (buildkit's api/services/control/control.proto). */
const SOLVE_EXPORTER_DEPRECATED = 3;
const SOLVE_EXPORTER_ATTRS_DEPRECATED = 4;
const SOLVE_EXPORTERS = 13;
/** Exporter's fields. */
const EXPORTER_TYPE = 1;
const EXPORTER_ATTRS = 2;

const DOCKERD_EXPORTER = "moby";
const CONTAINERD_EXPORTER = "image";

/**
 * The image exporter's attributes for what dockerd's exporter was asked:
 * names as containerd keeps them (`docker.io/library/app:latest`, as dockerd
 * normalises them), and what it needs to do what dockerd's does (the
 * client's own values win).
 */
function imageExporterAttrs(attrs: readonly [string, string][]): [string, string][] {
  const result = attrs.map(([key, value]): [string, string] => [key, key === "name" ? containerdNames(value) : value]);
  const has = (key: string) => attrs.some(([name]) => name === key);
  if (!has("unpack")) result.push(["unpack", "true"]);
  if (!has("name")) result.push(["dangling-name-prefix", "<none>"]);
  return result;
}

/** A comma-separated list of names, each fully qualified; one that is not a reference is left for buildkitd to refuse. */
function containerdNames(names: string): string {
  return names
    .split(",")
    .map((name) => {
      try {
        return referenceString(tagNameOnly(parseNormalizedNamed(name.trim())));
      } catch {
        return name;
      }
    })
    .join(",");
}

function exporterMessage(fields: readonly WireField[]): Buffer {
  return Buffer.concat([
    lengthDelimited(EXPORTER_TYPE, CONTAINERD_EXPORTER),
    ...fields.filter((field) => field.number !== EXPORTER_TYPE && field.number !== EXPORTER_ATTRS).map((field) => field.raw),
    ...imageExporterAttrs(mapEntries(fields, EXPORTER_ATTRS)).map(([key, value]) => mapEntry(EXPORTER_ATTRS, key, value)),
  ]);
}

/** A SolveRequest with every `moby` export made an `image` export; any other request unchanged. */
export function exportToContainerd(request: Buffer): Buffer {
  const fields = readFields(request);
  const deprecatedIsMoby = stringField(fields, SOLVE_EXPORTER_DEPRECATED) === DOCKERD_EXPORTER;
  let changed = false;
  const parts = fields.flatMap((field) => {
    if (field.number === SOLVE_EXPORTERS && field.payload) {
      const exporter = readFields(field.payload);
      if (stringField(exporter, EXPORTER_TYPE) !== DOCKERD_EXPORTER) return field.raw;
      changed = true;
      return lengthDelimited(SOLVE_EXPORTERS, exporterMessage(exporter));
    }
    if (field.number === SOLVE_EXPORTER_DEPRECATED && deprecatedIsMoby) {
      changed = true;
      return lengthDelimited(SOLVE_EXPORTER_DEPRECATED, CONTAINERD_EXPORTER);
    }
    return deprecatedIsMoby && field.number === SOLVE_EXPORTER_ATTRS_DEPRECATED ? [] : field.raw;
  });
  if (deprecatedIsMoby) {
    const attrs = imageExporterAttrs(mapEntries(fields, SOLVE_EXPORTER_ATTRS_DEPRECATED));
    parts.push(...attrs.map(([key, value]) => mapEntry(SOLVE_EXPORTER_ATTRS_DEPRECATED, key, value)));
  }
  return changed ? Buffer.concat(parts) : request;
}
