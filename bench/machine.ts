import { readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { execa } from "execa";
import { getJson } from "./http.ts";

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  kernel: string;
  os: string;
}

export function describeMachine(): Machine {
  const processors = cpus();
  let os = "unknown";
  try {
    os = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? os;
  } catch {
    // no os-release: keep "unknown"
  }
  return {
    cpuModel: processors[0]?.model.trim() ?? "unknown",
    cores: processors.length,
    memoryBytes: totalmem(),
    kernel: release(),
    os,
  };
}

/** Versions as each program reports them itself; "unknown" where one does not answer. */
export interface Versions {
  nerdctld: string;
  nerdctl: string;
  containerd: string;
  dockerd: string;
  dockerCli: string;
  node: string;
}

interface VersionDocument {
  Version?: string;
}

interface NerdctlVersion {
  Client?: { Version?: string };
  Server?: { Components?: { Name?: string; Version?: string }[] };
}

export async function collectVersions(options: {
  nerdctldSocket: string;
  dockerdSocket: string | null;
  nerdctl: { path: string; env: Record<string, string> };
  dockerCli: string;
}): Promise<Versions> {
  const unknown = (error: unknown) => `unknown (${(error as Error).message.split("\n")[0]})`;
  const nerdctld = await getJson<VersionDocument>(options.nerdctldSocket, "/version")
    .then((doc) => doc.Version ?? "unknown")
    .catch(unknown);
  const dockerd = options.dockerdSocket
    ? await getJson<VersionDocument>(options.dockerdSocket, "/version")
        .then((doc) => doc.Version ?? "unknown")
        .catch(unknown)
    : "not available";
  let nerdctl = "unknown";
  let containerd = "unknown";
  try {
    const { stdout } = await execa(options.nerdctl.path, ["version", "--format", "{{json .}}"], { env: options.nerdctl.env });
    const doc = JSON.parse(stdout) as NerdctlVersion;
    nerdctl = doc.Client?.Version ?? nerdctl;
    containerd = doc.Server?.Components?.find((component) => component.Name === "containerd")?.Version ?? containerd;
  } catch (error) {
    nerdctl = unknown(error);
  }
  const dockerCli = await execa(options.dockerCli, ["--version"]).then((r) => r.stdout.trim(), unknown);
  return { nerdctld, nerdctl, containerd, dockerd, dockerCli, node: process.version };
}
