import type { ContainerTopResponse, FilesystemChange } from "./container-types.ts";

/**
 * `nerdctl top`'s table as Docker's {Titles, Processes}. Columns are aligned
 * under their titles (a tab writer), so each row is cut at the titles' offsets;
 * the last column (the command) keeps its spaces.
 */
export function toTopResponse(table: string): ContainerTopResponse {
  const [header = "", ...rows] = table.split("\n").filter((line) => line.trim() !== "");
  const starts = [...header.matchAll(/\S+/g)].map((match) => match.index);
  const titles = [...header.matchAll(/\S+/g)].map((match) => match[0]);
  const processes = rows.map((row) =>
    starts.map((start, i) => row.slice(start, i + 1 < starts.length ? starts[i + 1] : undefined).trim()),
  );
  return { Titles: titles, Processes: processes };
}

/** `nerdctl diff` lines as Docker's changes: Kind 0 modified, 1 added, 2 deleted. The root itself is not a change. */
export function toChanges(text: string): FilesystemChange[] {
  const kinds = { C: 0, A: 1, D: 2 } as const;
  return text
    .split("\n")
    .map((line) => /^([ACD]) (.+)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null && match[2] !== "/")
    .map((match) => ({ Path: match[2]!, Kind: kinds[match[1] as keyof typeof kinds] }));
}
