/** Orders Docker API versions (`1.9` < `1.10`): negative, zero or positive. */
/** An API version ("1.43") as one number that orders as the versions do. */
export function versionNumber(version: string): number {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major * 10_000 + minor;
}

export function compareVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split(".").map(Number);
  const [bMajor = 0, bMinor = 0] = b.split(".").map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}
