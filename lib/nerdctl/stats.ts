import type { Nerdctl } from "./client.ts";
import { assertObjectName } from "./validate.ts";

/** Where a container's counters are: its cgroup and its init process (0 when not running). */
export interface ContainerTask {
  id: string;
  name: string;
  cgroupsPath: string;
  pid: number;
  running: boolean;
}

/** The parts of `nerdctl container inspect --mode native` this reads. */
interface NativeContainer {
  ID: string;
  Labels?: Record<string, string>;
  Spec?: { linux?: { cgroupsPath?: string } };
  Process?: { Pid?: number; Status?: { Status?: string } } | null;
}

export async function containerTask(nerdctl: Nerdctl, ref: string): Promise<ContainerTask> {
  assertObjectName("container", ref);
  const [container] = await nerdctl.json<NativeContainer[]>(["container", "inspect", "--mode", "native", "--", ref], {
    kind: "container",
    name: ref,
  });
  return {
    id: container!.ID,
    name: container!.Labels?.["nerdctl/name"] ?? "",
    cgroupsPath: container!.Spec?.linux?.cgroupsPath ?? "",
    pid: container!.Process?.Pid ?? 0,
    running: container!.Process?.Status?.Status === "running",
  };
}
