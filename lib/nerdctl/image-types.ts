/** JSON shapes nerdctl 2.3 prints for images (`image inspect --mode native`, `image history --format '{{json .}}'`). */

/** An OCI descriptor (content digest, media type, size). */
export interface NerdctlDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string> | null;
  platform?: { architecture: string; os: string; variant?: string; "os.version"?: string } | null;
}

/** The OCI image configuration (what Docker calls the image's config blob). */
export interface NerdctlImageConfig {
  created?: string;
  author?: string;
  architecture?: string;
  variant?: string;
  os?: string;
  "os.version"?: string;
  config?: {
    User?: string;
    ExposedPorts?: Record<string, object> | null;
    Env?: string[] | null;
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Volumes?: Record<string, object> | null;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
    ArgsEscaped?: boolean;
  };
  rootfs?: { type: string; diff_ids?: string[] | null };
  history?: {
    created?: string;
    created_by?: string;
    author?: string;
    comment?: string;
    empty_layer?: boolean;
  }[];
}

/**
 * One image record of containerd (a name pointing at an index or manifest),
 * with what nerdctl read behind it: `nerdctl image inspect --mode native`.
 * Parts nerdctl could not read (content missing for this platform) are absent.
 */
export interface NerdctlNativeImage {
  Image: {
    Name: string;
    Labels?: Record<string, string> | null;
    Target: NerdctlDescriptor;
    CreatedAt: string;
    UpdatedAt: string;
  };
  IndexDesc?: NerdctlDescriptor;
  ManifestDesc?: NerdctlDescriptor;
  Manifest?: { config: NerdctlDescriptor; layers?: NerdctlDescriptor[] | null };
  ImageConfigDesc?: NerdctlDescriptor;
  ImageConfig?: NerdctlImageConfig;
  /** Unpacked size: the snapshots of the image's layers, as the snapshotter counts them. */
  size: number;
}

/** One line of `nerdctl image history --human=false --no-trunc --format '{{json .}}'`, newest first. */
export interface NerdctlHistoryLine {
  /** The layer's snapshot (chain id), or `<missing>` for a history entry without a layer. */
  Snapshot: string;
  CreatedAt: string;
  CreatedSince: string;
  CreatedBy: string;
  /** Bytes, as a decimal string (with --human=false). */
  Size: string;
  Comment: string;
}
