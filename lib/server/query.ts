/** Docker's boolean query parameters: 1/true/True/yes are set; 0/false/absent are not. */
export function queryFlag(value: unknown): boolean {
  if (Array.isArray(value)) value = value.at(-1);
  if (typeof value !== "string") return false;
  return !["", "0", "false", "False", "FALSE", "no"].includes(value);
}
