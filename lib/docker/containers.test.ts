import { describe, expect, it } from "vitest";
import type { NerdctlContainerInspect } from "../nerdctl/container-types.ts";
import { recordLabels } from "./container-create-record.ts";
import { toChanges, toTopResponse } from "./container-processes.ts";
import { containerName, stateName, statusText, toContainerInspect, toContainerSummary } from "./containers.ts";
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

describe("a container's state as dockerd shows it", () => {
  const now = Date.parse("2026-01-01T00:01:00Z");
  const startedAt = "2026-01-01T00:00:00Z";
  /** nerdctl's State as `nerdctl inspect` reports each case (from its dockercompat rules). */
  function withState(state: Partial<NerdctlContainerInspect["State"]>): NerdctlContainerInspect {
    return {
      Id: "0123456789abcdef".repeat(4),
      Name: "web",
      Image: "docker.io/library/busybox:latest",
      Config: { Image: "docker.io/library/busybox:latest", Labels: {} },
      HostConfig: {},
      Mounts: [],
      State: { Status: "running", Running: true, Paused: false, Restarting: false, Pid: 42, ExitCode: 0, Error: "", StartedAt: startedAt, FinishedAt: "", ...state },
    } as unknown as NerdctlContainerInspect;
  }

  it.each([
    ["a running container", {}, "running", "Up About a minute", { Running: true, Paused: false, Restarting: false }],
    // nerdctl marks Restarting on any container its restart policy (or nerdctl update) wants running.
    ["a running container with a restart policy", { Restarting: true }, "running", "Up About a minute", { Running: true, Paused: false, Restarting: false }],
    ["a paused container", { Status: "paused", Running: false, Paused: true }, "paused", "Up About a minute (Paused)", { Running: true, Paused: true, Restarting: false }],
    [
      "a container its policy is about to start again",
      { Status: "restarting", Running: false, Restarting: true, ExitCode: 3, FinishedAt: "2026-01-01T00:00:30Z" },
      "restarting",
      "Restarting (3) 30 seconds ago",
      { Running: true, Paused: false, Restarting: true },
    ],
    [
      "an exited container",
      { Status: "exited", Running: false, ExitCode: 7, FinishedAt: "2026-01-01T00:00:30Z" },
      "exited",
      "Exited (7) 30 seconds ago",
      { Running: false, Paused: false, Restarting: false },
    ],
  ] as const)("%s", (_, state, name, status, flags) => {
    const container = withState(state);
    expect(stateName(container)).toBe(name);
    expect(statusText(container, now)).toBe(status);
    expect(toContainerInspect(container, undefined).State).toMatchObject({ Status: name, ...flags });
  });
});

describe("a container's health as dockerd shows it", () => {
  const now = Date.parse("2026-01-01T00:00:05Z");
  function withHealth(state: Partial<NerdctlContainerInspect["State"]>, healthcheck: { Test: string[] } | undefined): NerdctlContainerInspect {
    return {
      Id: "0123456789abcdef".repeat(4),
      Name: "web",
      Image: "docker.io/library/busybox:latest",
      Config: { Image: "docker.io/library/busybox:latest", Labels: {}, Healthcheck: healthcheck },
      HostConfig: {},
      Mounts: [],
      State: { Status: "running", Running: true, Paused: false, Restarting: false, Pid: 42, ExitCode: 0, Error: "", StartedAt: "2026-01-01T00:00:00Z", FinishedAt: "", ...state },
    } as unknown as NerdctlContainerInspect;
  }
  const check = { Test: ["CMD-SHELL", "true"] };
  const result = { Start: "2026-01-01T00:00:01Z", End: "2026-01-01T00:00:02Z", ExitCode: 0, Output: "" };

  it("shows the results nerdctl recorded, and says so in the status", () => {
    const container = withHealth({ Health: { Status: "healthy", FailingStreak: 0, Log: [result] } }, check);
    expect(toContainerInspect(container, undefined).State.Health).toEqual({ Status: "healthy", FailingStreak: 0, Log: [result] });
    expect(statusText(container, now)).toBe("Up 5 seconds (healthy)");
    const failing = withHealth({ Health: { Status: "unhealthy", FailingStreak: 3, Log: null } }, check);
    expect(statusText(failing, now)).toBe("Up 5 seconds (unhealthy)");
  });

  it("is starting while a container with a check runs and no check has reported", () => {
    const container = withHealth({}, check);
    expect(toContainerInspect(container, undefined).State.Health).toEqual({ Status: "starting", FailingStreak: 0, Log: [] });
    expect(statusText(container, now)).toBe("Up 5 seconds (health: starting)");
  });

  it("is absent without a check, with NONE, and for a container that has not run", () => {
    expect(toContainerInspect(withHealth({}, undefined), undefined).State.Health).toBeUndefined();
    expect(toContainerInspect(withHealth({}, { Test: ["NONE"] }), undefined).State.Health).toBeUndefined();
    expect(toContainerInspect(withHealth({ Status: "", Running: false, StartedAt: "" }, check), undefined).State.Health).toBeUndefined();
    expect(statusText(withHealth({}, undefined), now)).toBe("Up 5 seconds");
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

describe("toContainerInspect of a container made through POST /containers/create", () => {
  /** What the client sent that inspect shows back unchanged. */
  const asSent = { Image: "busybox", Entrypoint: ["sh"], Cmd: ["-c", "echo hi"], Tty: true, OpenStdin: true, StdinOnce: true, ExposedPorts: { "80/tcp": {} } };
  const labels = Object.fromEntries(
    recordLabels({
      ...asSent,
      Healthcheck: { Test: ["CMD-SHELL", "true"] },
      HostConfig: { Binds: ["/srv:/srv"], PortBindings: { "80/tcp": [{ HostIp: "", HostPort: "8080" }] }, Init: true, NanoCpus: 5e8, CapDrop: ["CAP_NET_RAW"] },
    }).map((word) => word.split(/=(.*)/s).slice(0, 2) as [string, string]),
  );
  const nerdctl = {
    Id: "0123456789abcdef".repeat(4),
    Created: "2026-01-01T00:00:00Z",
    Path: "/sbin/tini",
    Args: ["--", "sh", "-c", "echo hi"],
    State: { Status: "", Running: false, Paused: false, Restarting: false, Pid: 0, ExitCode: 0, Error: "", StartedAt: "", FinishedAt: "" },
    Image: "docker.io/library/busybox:latest",
    Name: "web",
    HostConfig: {
      LogConfig: { driver: "json-file", address: "/run/containerd.sock" },
      Runtime: "io.containerd.runc.v2",
      CpuQuota: 50000,
      CpuPeriod: 100000,
      CapDrop: ["CAP_NET_RAW"],
      Sysctls: { "net.ipv4.ip_unprivileged_port_start": "0" },
      RestartPolicy: { Name: "", MaximumRetryCount: 0 },
    },
    Mounts: [],
    Config: {
      Hostname: "0123456789ab",
      AttachStdin: false,
      Env: ["PATH=/bin", "A=1", "HOSTNAME=0123456789ab"],
      Image: "docker.io/library/busybox:latest",
      Labels: { ...labels, "nerdctl/name": "web", team: "a" },
    },
    NetworkSettings: null,
  } as unknown as NerdctlContainerInspect;
  const image = { Id: "sha256:abc", RepoTags: ["busybox:latest"], Config: { Cmd: ["sh"], WorkingDir: "/home" } };

  it("shows what the client set as it set it, and the process without nerdctl's init", () => {
    const inspect = toContainerInspect(nerdctl, image);
    expect(inspect.Path).toBe("sh");
    expect(inspect.Args).toEqual(["-c", "echo hi"]);
    // Whichever static tini the daemon gave --init.
    expect(toContainerInspect({ ...nerdctl, Path: "/sbin/docker-init" }, image).Path).toBe("sh");
    // docker ps shows the image as the client named it too, as dockerd does.
    expect(toContainerSummary(nerdctl, image, 0).Image).toBe("busybox");
    expect(inspect.Config).toMatchObject({
      ...asSent,
      WorkingDir: "/home",
      Env: ["PATH=/bin", "A=1"],
      Labels: { team: "a" },
      Healthcheck: { Test: ["CMD-SHELL", "true"] },
    });
    expect(inspect.HostConfig).toMatchObject({
      Binds: ["/srv:/srv"],
      PortBindings: { "80/tcp": [{ HostIp: "", HostPort: "8080" }] },
      Init: true,
      NanoCpus: 5e8,
      CpuQuota: 0,
      CpuPeriod: 0,
      Sysctls: null,
      LogConfig: { Type: "json-file", Config: {} },
      Runtime: "runc",
    });
  });

  it("leaves a container made otherwise as nerdctl shows it, in Docker's terms", () => {
    const plain = { ...nerdctl, Config: { ...nerdctl.Config, Labels: { "nerdctl/name": "web" } } } as NerdctlContainerInspect;
    const inspect = toContainerInspect(plain, image);
    expect(inspect.Path).toBe("/sbin/tini");
    expect(inspect.Config.Tty).toBe(false);
    expect(inspect.Config.Image).toBe("busybox:latest");
    expect(toContainerSummary(plain, image, 0).Image).toBe("busybox:latest");
    expect(inspect.HostConfig).toMatchObject({ CpuQuota: 50000, LogConfig: { Type: "json-file", Config: {} }, Sysctls: { "net.ipv4.ip_unprivileged_port_start": "0" } });
  });
});

describe("toContainerSummary of the same record, answer after answer", () => {
  const startedAt = "2026-01-01T00:00:00Z";
  const running = {
    Id: "fedcba9876543210".repeat(4),
    Created: "2025-12-31T23:59:00Z",
    Path: "sleep",
    Args: ["3600"],
    Name: "web",
    Image: "docker.io/library/busybox:latest",
    State: { Status: "running", Running: true, Paused: false, Restarting: false, Pid: 42, ExitCode: 0, Error: "", StartedAt: startedAt, FinishedAt: "" },
    HostConfig: { NetworkMode: "" },
    Mounts: [{ Type: "volume", Name: "data", Source: "/v/data/_data", Destination: "/data", Driver: "", Mode: "", RW: true, Propagation: "" }],
    Config: {
      Image: "docker.io/library/busybox:latest",
      Labels: { "nerdctl/name": "web", "nerdctl/networks": '["bridge"]', team: "a" },
    },
    NetworkSettings: {
      Ports: { "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "8080" }] },
      Networks: { "unknown-eth0": { IPAddress: "10.4.0.2", IPPrefixLen: 24, GlobalIPv6Address: "", GlobalIPv6PrefixLen: 0, MacAddress: "aa:bb:cc:dd:ee:ff" } },
    },
  } as unknown as NerdctlContainerInspect;
  const image = { Id: "sha256:abc", RepoTags: ["busybox:latest"], Config: { Cmd: ["sh"] } };
  const bridge = new Map([["bridge", "1".repeat(64)]]);
  const minute = Date.parse("2026-01-01T00:01:00Z");

  it("shows everything as dockerd does, and only the status moves with the time", () => {
    const first = toContainerSummary(running, image, minute, bridge);
    expect(first).toEqual({
      Id: running.Id,
      Names: ["/web"],
      Image: "busybox:latest",
      ImageID: "sha256:abc",
      Command: "sleep 3600",
      Created: Date.parse("2025-12-31T23:59:00Z") / 1000,
      Ports: [{ IP: "0.0.0.0", PrivatePort: 80, Type: "tcp", PublicPort: 8080 }],
      Labels: { team: "a" },
      State: "running",
      Status: "Up About a minute",
      HostConfig: { NetworkMode: "bridge" },
      NetworkSettings: {
        Networks: {
          bridge: expect.objectContaining({ NetworkID: "1".repeat(64), IPAddress: "10.4.0.2", IPPrefixLen: 24, MacAddress: "aa:bb:cc:dd:ee:ff" }),
        },
      },
      Mounts: [{ Type: "volume", Name: "data", Source: "/v/data/_data", Destination: "/data", Driver: "local", Mode: "", RW: true, Propagation: "" }],
    });
    const later = toContainerSummary(running, image, Date.parse("2026-01-01T03:00:00Z"), bridge);
    expect(later).toEqual({ ...first, Status: "Up 3 hours" });
    // Docker's field order, as the first answer had it.
    expect(Object.keys(later)).toEqual(Object.keys(first));
    expect(first.Status).toBe("Up About a minute");
  });

  it("shows a changed container as its new record has it", () => {
    toContainerSummary(running, image, minute, bridge);
    const stopped = {
      ...running,
      State: { ...running.State, Status: "exited", Running: false, Pid: 0, ExitCode: 3, FinishedAt: "2026-01-01T00:00:30Z" },
      Config: { ...running.Config, Labels: { ...running.Config.Labels, team: "b" } },
    } as NerdctlContainerInspect;
    expect(toContainerSummary(stopped, image, minute, bridge)).toMatchObject({ State: "exited", Status: "Exited (3) 30 seconds ago", Labels: { team: "b" } });
    expect(toContainerSummary(running, image, minute, bridge)).toMatchObject({ State: "running", Labels: { team: "a" } });
  });

  it("names the image and the networks as they are at each answer, leaving earlier answers as they were", () => {
    const before = toContainerSummary(running, image, minute, bridge);
    const recreated = new Map([["bridge", "2".repeat(64)]]);
    const after = toContainerSummary(running, { ...image, Id: "sha256:def" }, minute, recreated);
    expect(after.ImageID).toBe("sha256:def");
    expect(after.NetworkSettings.Networks.bridge!.NetworkID).toBe("2".repeat(64));
    expect(before.ImageID).toBe("sha256:abc");
    expect(before.NetworkSettings.Networks.bridge!.NetworkID).toBe("1".repeat(64));
    expect(toContainerSummary(running, undefined, minute, new Map()).ImageID).toBe("");
    expect(toContainerSummary(running, undefined, minute, new Map()).NetworkSettings.Networks.bridge!.NetworkID).toBe("");
  });
});
