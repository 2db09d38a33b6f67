/** Go's zero time, which Docker prints for "never" (a container never started or never stopped). */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

/** A timestamp as Docker prints it, or the zero time when nerdctl gave none. */
export function dockerTime(value: string | undefined): string {
  return value ? value : ZERO_TIME;
}

export function isZeroTime(value: string | undefined): boolean {
  return !value || value.startsWith("0001-01-01");
}

/** Unix seconds of an RFC 3339 timestamp (Docker's `Created` in lists). */
export function unixSeconds(value: string): number {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

/** Durations worded as the docker CLI and dockerd word them ("Less than a second", "About a minute", "3 hours"). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}
