const UNITS: Record<string, number> = { "": 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3 };

/** A size option (bytes, or 64MiB, 1GiB, …) in bytes; flag names the option in the error. */
export function parseSize(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new Error(`${flag}: cannot read ${JSON.stringify(text)} (try 64MiB, 1GiB or a byte count)`);
  return Math.round(Number(match[1]) * unit);
}
