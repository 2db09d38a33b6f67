import { describe, expect, it } from "vitest";
import type { NerdctlContainerInspect } from "../nerdctl/container-types.ts";
import { containerName, toChanges, toTopResponse } from "./containers.ts";
import { humanDuration } from "./time.ts";

/** Just the fields containerName reads. */
function container(name: string, labels: Record<string, string>): NerdctlContainerInspect {
  return { Id: "0123456789abcdef".repeat(4), Name: name, Config: { Labels: labels } } as unknown as NerdctlContainerInspect;
}

describe("containerName", () => {
  const pod = { "io.kubernetes.pod.namespace": "kube-system", "io.kubernetes.pod.name": "kube-apiserver-node" };

  it("names CRI containers from their pod labels, as nerdctl ps does", () => {
    expect(containerName(container("", { ...pod, "io.kubernetes.container.name": "kube-apiserver" }))).toBe(
      "k8s://kube-system/kube-apiserver-node/kube-apiserver",
    );
    expect(containerName(container("", { ...pod, "io.cri-containerd.kind": "sandbox" }))).toBe("k8s://kube-system/kube-apiserver-node");
  });

  it("keeps nerdctl's name, and falls back to the short id", () => {
    expect(containerName(container("web", pod))).toBe("web");
    expect(containerName(container("", {}))).toBe("0123456789ab");
  });
});

describe("toTopResponse", () => {
  it("cuts rows at the titles' columns, keeping spaces in the command", () => {
    const table = "UID    PID    CMD\nroot   42     sleep 3600\n";
    expect(toTopResponse(table)).toEqual({ Titles: ["UID", "PID", "CMD"], Processes: [["root", "42", "sleep 3600"]] });
  });
});

describe("toChanges", () => {
  it("maps C/A/D to Docker's kinds and leaves out the root", () => {
    expect(toChanges("C /\nA /new\nC /etc\nD /gone\n")).toEqual([
      { Path: "/new", Kind: 1 },
      { Path: "/etc", Kind: 0 },
      { Path: "/gone", Kind: 2 },
    ]);
  });
});

describe("humanDuration", () => {
  it.each([
    [500, "Less than a second"],
    [1000, "1 second"],
    [59_000, "59 seconds"],
    [90_000, "About a minute"],
    [45 * 60_000, "45 minutes"],
    [3_600_000, "About an hour"],
    [5 * 3_600_000, "5 hours"],
    [3 * 86_400_000, "3 days"],
    [20 * 86_400_000, "2 weeks"],
    [90 * 86_400_000, "3 months"],
    [800 * 86_400_000, "2 years"],
  ])("%d ms reads %s", (ms, words) => {
    expect(humanDuration(ms)).toBe(words);
  });
});
