/** `nerdctl volume inspect` (nerdctl 2.3): no driver, scope or creation time of its own. */
export interface NerdctlVolume {
  Name: string;
  Mountpoint: string;
  Labels?: Record<string, string> | null;
  /** Bytes, with --size (omitted when zero). */
  Size?: number;
}
