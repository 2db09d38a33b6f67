/** Docker Engine API v1.43 image documents (the API's definitions of the same names). */

export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  /** Unix seconds. */
  Created: number;
  Size: number;
  /** -1 unless asked for (`shared-size=1`). */
  SharedSize: number;
  /** Same as Size; served up to API 1.43. */
  VirtualSize?: number;
  Labels: Record<string, string>;
  /** -1: not counted (dockerd counts only for `docker system df`). */
  Containers: number;
}

/** The image's default container configuration (Docker's container.Config as stored in an image). */
export interface ImageContainerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, object>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env?: string[];
  Cmd?: string[];
  ArgsEscaped?: boolean;
  Image: string;
  Volumes?: Record<string, object>;
  WorkingDir: string;
  Entrypoint?: string[];
  OnBuild?: string[] | null;
  Labels?: Record<string, string>;
  StopSignal?: string;
}

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  /** RFC 3339 with nanoseconds. */
  Created: string;
  Container: string;
  ContainerConfig: ImageContainerConfig;
  DockerVersion: string;
  Author: string;
  Config: ImageContainerConfig;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  VirtualSize?: number;
  GraphDriver: { Name: string; Data: Record<string, string> };
  RootFS: { Type: string; Layers?: string[] };
  Metadata: { LastTagTime?: string };
}

export interface ImageHistoryItem {
  /** The image id for the image itself, `<missing>` for the layers below it. */
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[];
  Size: number;
  Comment: string;
}

/** One line of DELETE /images/{name} and of a prune's ImagesDeleted. */
export type ImageDeleteItem = { Untagged: string } | { Deleted: string };

export interface ImagePruneReport {
  ImagesDeleted: ImageDeleteItem[];
  SpaceReclaimed: number;
}
