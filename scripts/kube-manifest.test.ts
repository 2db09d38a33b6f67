/**
 * The DaemonSet of deploy/kubernetes, checked offline: kube-manifest-check
 * (scripts/install-kube-manifest-check.sh, run by `npm test`'s setup) decodes
 * it strictly into k8s.io/api's types, and is shown to refuse what the API
 * server would; then what nerdctld needs of it on a node.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

const MANIFEST = join(import.meta.dirname, "..", "deploy", "kubernetes", "nerdctld.yaml");
const CHECK = join(process.env.NERDCTLD_ENGINE_HOME || "/opt/nerdctld-engine", "kube-manifest-check", "kube-manifest-check");

interface Mount { name: string; mountPath: string }
interface Volume { name: string; hostPath?: { path: string; type?: string } }
interface DaemonSet {
  kind: "DaemonSet";
  spec: {
    template: {
      spec: {
        hostNetwork?: boolean;
        containers: { name: string; args: string[]; volumeMounts: Mount[] }[];
        volumes: Volume[];
      };
    };
  };
}

let work: string;
let documents: unknown[];

beforeAll(async () => {
  if (!existsSync(CHECK)) throw new Error(`${CHECK} is missing: run bash scripts/install-kube-manifest-check.sh (npm test's setup does)`);
  work = await mkdtemp(join(tmpdir(), "nerdctld-kube-"));
  documents = parseAllDocuments(await readFile(MANIFEST, "utf8")).map((document) => document.toJS() as unknown);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

function daemonSetOf(docs: unknown[]): DaemonSet {
  const daemonSet = docs.find((doc) => (doc as { kind?: string }).kind === "DaemonSet");
  if (!daemonSet) throw new Error("no DaemonSet in the manifest");
  return daemonSet as DaemonSet;
}

/** kube-manifest-check on the manifest with `change` applied to a copy of its documents. */
async function checkChanged(name: string, change: (daemonSet: Record<string, any>) => void) {
  const copy = structuredClone(documents);
  change(daemonSetOf(copy) as unknown as Record<string, any>);
  const file = join(work, `${name}.yaml`);
  await writeFile(file, copy.map((doc) => JSON.stringify(doc)).join("\n---\n"));
  return execa(CHECK, [file], { reject: false });
}

describe("kube-manifest-check", () => {
  it("accepts deploy/kubernetes/nerdctld.yaml", async () => {
    const result = await execa(CHECK, [MANIFEST], { reject: false });
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(result.stdout.split("\n")).toEqual([`ok ${MANIFEST}: Namespace/nerdctld`, `ok ${MANIFEST}: DaemonSet/nerdctld`]);
  });

  it("refuses a field the API does not have, or spelt in another case", async () => {
    const result = await checkChanged("unknown-field", (ds) => {
      ds.spec.template.spec.hostNetwrk = true;
      ds.spec.template.spec.containers[0].ImagePullPolicy = "Never";
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('unknown field "spec.template.spec.hostNetwrk"');
    expect(result.stderr).toContain('unknown field "spec.template.spec.containers[0].ImagePullPolicy"');
  });

  it("refuses a value of the wrong type", async () => {
    const result = await checkChanged("wrong-type", (ds) => (ds.spec.template.spec.hostNetwork = "yes"));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/cannot unmarshal string into Go struct field PodSpec\.DaemonSet\.spec\.template\.spec\.hostNetwork of type bool/);
  });

  it("refuses a mount of a volume that is not declared", async () => {
    const result = await checkChanged("undeclared-volume", (ds) => ds.spec.template.spec.volumes.pop());
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('spec.template.spec.containers[0].volumeMounts[4] mounts "nerdctld-socket", which is not in spec.template.spec.volumes');
  });

  it("refuses a selector that does not select its own pods", async () => {
    const result = await checkChanged("selector", (ds) => (ds.spec.selector.matchLabels = { app: "other" }));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("spec.selector does not select spec.template.metadata.labels");
  });

  it("refuses an invalid name and a relative host path", async () => {
    const result = await checkChanged("names", (ds) => {
      ds.metadata.name = "Nerdctld_Node";
      ds.spec.template.spec.volumes[0].hostPath.path = "run/containerd";
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("metadata.name: a lowercase RFC 1123 subdomain");
    expect(result.stderr).toContain('spec.template.spec.volumes[0].hostPath.path "run/containerd" is not absolute');
  });
});

describe("the k3s variant of the README", () => {
  it("passes, with k3s's containerd paths in the args and at the same paths in the pod", async () => {
    const k3s = (await readFile(MANIFEST, "utf8"))
      .replaceAll("/run/containerd", "/run/k3s/containerd")
      .replaceAll("/var/lib/containerd", "/var/lib/rancher/k3s/agent/containerd");
    const file = join(work, "k3s.yaml");
    await writeFile(file, k3s);
    const result = await execa(CHECK, [file], { reject: false });
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    const daemonSet = daemonSetOf(parseAllDocuments(k3s).map((document) => document.toJS() as unknown));
    const { args, volumeMounts } = daemonSet.spec.template.spec.containers[0]!;
    expect(args.join(" ")).toContain("--address /run/k3s/containerd/containerd.sock");
    const hostPaths = daemonSet.spec.template.spec.volumes.map((volume) => volume.hostPath?.path);
    expect(hostPaths).toEqual(expect.arrayContaining(["/run/k3s/containerd", "/var/lib/rancher/k3s/agent/containerd"]));
    expect(volumeMounts.map((mount) => mount.mountPath)).toEqual(expect.arrayContaining(hostPaths));
  });
});

describe("the DaemonSet", () => {
  const container = () => daemonSetOf(documents).spec.template.spec.containers[0]!;
  const hostPathOf = (mount: Mount) =>
    daemonSetOf(documents).spec.template.spec.volumes.find((volume) => volume.name === mount.name)?.hostPath?.path;

  it("runs nerdctld on the node's containerd, in the kubelet's namespace", () => {
    const args = container().args.join(" ");
    expect(args).toContain("--engine external");
    expect(args).toContain("--namespace k8s.io");
    expect(args).toContain("--address /run/containerd/containerd.sock");
    expect(args).toContain("-H unix:///run/nerdctld/nerdctl.sock");
  });

  it("mounts every node path at the same path (containerd and runc hand nerdctl the node's paths)", () => {
    const mounts = container().volumeMounts;
    expect(mounts.map((mount) => mount.mountPath).sort()).toEqual(
      ["/opt/nerdctld", "/run/containerd", "/run/nerdctld", "/var/lib/containerd", "/var/lib/nerdctl"],
    );
    for (const mount of mounts) expect(hostPathOf(mount), mount.name).toBe(mount.mountPath);
  });
});
