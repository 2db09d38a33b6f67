import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ApiError } from "../errors.ts";
import { createArgs } from "../nerdctl/container-create.ts";
import { API_SPEC_PATH } from "../testing/api-schema.ts";
import { checkContainerCreate, checkImagePlatform, nameConflict, planContainerCreate, type CreateContext } from "./container-create.ts";
import { FIELD_HANDLING } from "./container-create-fields.ts";
import { readRecord } from "./container-create-record.ts";
import type { ContainerCreateRequest } from "./container-create-types.ts";

const CONTEXT: CreateContext = { image: { platform: "linux/amd64", exposedPorts: ["8080/tcp"] }, imageRecord: "docker.io/library/busybox:latest" };

function plan(body: ContainerCreateRequest, query = {}, context = CONTEXT) {
  const planned = planContainerCreate(checkContainerCreate({ Image: "busybox", ...body }, query), context);
  const args = createArgs(planned.options);
  const labels = args.filter((word) => word.startsWith("--label=nerdctld/"));
  return { ...planned, args: args.filter((word) => !labels.includes(word)), labels };
}

/** The flags nerdctl gets (between --pull=never and the --). */
const flags = (body: ContainerCreateRequest, query = {}) => {
  const { args } = plan(body, query);
  return args.slice(2, args.indexOf("--"));
};

function refusal(body: unknown, query = {}): string {
  try {
    plan(body as ContainerCreateRequest, query);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).kind).toBe("invalid-parameter");
    return (error as ApiError).message;
  }
  throw new Error("accepted");
}

describe("Config → nerdctl create", () => {
  it.each<[string, ContainerCreateRequest, string[]]>([
    ["Hostname, Domainname, User, WorkingDir", { Hostname: "h", Domainname: "example.org", User: "1000:1000", WorkingDir: "/tmp" }, ["--hostname=h", "--domainname=example.org", "--user=1000:1000", "--workdir=/tmp"]],
    ["Tty", { Tty: true }, ["--tty"]],
    ["Env (a name alone is left out)", { Env: ["A=1", "B=", "FROM_CLIENT"] }, ["--env=A=1", "--env=B="]],
    ["Labels", { Labels: { app: "web", "com.example.x": "a=b" } }, ["--label=app=web", "--label=com.example.x=a=b"]],
    ["StopSignal, StopTimeout", { StopSignal: "SIGINT", StopTimeout: 5 }, ["--stop-signal=SIGINT", "--stop-timeout=5"]],
    [
      "Healthcheck CMD-SHELL with durations in ns",
      { Healthcheck: { Test: ["CMD-SHELL", "curl -f http://localhost"], Interval: 5e9, Timeout: 2e9, Retries: 4, StartPeriod: 1e9 } },
      ["--health-cmd=curl -f http://localhost", "--health-interval=5000000000ns", "--health-timeout=2000000000ns", "--health-start-period=1000000000ns", "--health-retries=4"],
    ],
    ["Healthcheck CMD, each argument one shell word", { Healthcheck: { Test: ["CMD", "echo", "it's"] } }, [`--health-cmd='echo' 'it'\\''s'`]],
    ["Healthcheck NONE", { Healthcheck: { Test: ["NONE"] } }, ["--no-healthcheck"]],
    ["Volumes: anonymous volumes", { Volumes: { "/data": {} } }, ["--volume=/data"]],
    ["MacAddress", { MacAddress: "02:42:ac:11:00:02" }, ["--mac-address=02:42:ac:11:00:02"]],
    ["NetworkDisabled", { NetworkDisabled: true }, ["--network=none"]],
  ])("%s", (_, body, expected) => {
    expect(flags(body)).toEqual(expect.arrayContaining(expected));
    expect(flags(body)).toHaveLength(expected.length);
  });

  it("runs Cmd after the image, with the image's entrypoint unless Entrypoint replaces it", () => {
    expect(plan({ Cmd: ["sh", "-c", "echo hi"] }).args.slice(-4)).toEqual(["busybox", "sh", "-c", "echo hi"].map((word, i) => (i === 0 ? CONTEXT.imageRecord : word)));
    const replaced = plan({ Entrypoint: ["/bin/sh", "-c"], Cmd: ["echo hi"] }).args;
    expect(replaced).toEqual(expect.arrayContaining(["--entrypoint=/bin/sh", "--entrypoint=-c"]));
    expect(replaced.slice(-2)).toEqual([CONTEXT.imageRecord, "echo hi"]);
    // A string is a list of one, as Docker's StrSlice reads it.
    expect(plan({ Entrypoint: "sh", Cmd: "-c" }).args.slice(-4)).toEqual(["--entrypoint=sh", "--", CONTEXT.imageRecord, "-c"]);
  });

  it('resets the entrypoint with [""]: the command runs alone', () => {
    const { args } = plan({ Entrypoint: [""], Cmd: ["echo", "hi"] });
    expect(args.slice(-4)).toEqual(["--entrypoint=echo", "--", CONTEXT.imageRecord, "hi"]);
    expect(refusal({ Entrypoint: [""] })).toBe("No command specified");
  });

  it("refuses what dockerd refuses, with its words", () => {
    expect(refusal({ WorkingDir: "tmp" })).toBe("the working directory 'tmp' is invalid, it needs to be an absolute path");
    expect(refusal({ Env: ["=x"] })).toBe("invalid environment variable: =x");
    expect(refusal({ StopSignal: "NOPE!" })).toBe("Invalid signal: NOPE!");
    expect(refusal({ Healthcheck: { Test: ["CMD-SHELL", "true"], Interval: 10 } })).toBe("Interval in Healthcheck cannot be less than 1ms");
    expect(refusal({ Healthcheck: { Test: ["CMD-SHELL", "true"], Retries: -1 } })).toBe("Retries in Healthcheck cannot be negative");
    expect(refusal({ Labels: { "nerdctl/name": "x" } })).toMatch(/reserved/);
    expect(refusal({ Labels: { "nerdctld/create.0": "{}" } })).toMatch(/reserved/);
    expect(refusal({ Cmd: [1] as unknown as string[] })).toBe("Cmd must be a list of strings");
  });
});

describe("HostConfig → nerdctl create", () => {
  it.each<[string, ContainerCreateRequest["HostConfig"], string[]]>([
    ["Memory, MemorySwap, MemoryReservation, MemorySwappiness", { Memory: 64 << 20, MemorySwap: 128 << 20, MemoryReservation: 32 << 20, MemorySwappiness: 10 }, ["--memory=67108864", "--memory-swap=134217728", "--memory-reservation=33554432", "--memory-swappiness=10"]],
    ["MemorySwap -1 is unlimited", { Memory: 64 << 20, MemorySwap: -1 }, ["--memory=67108864", "--memory-swap=-1"]],
    ["NanoCpus", { NanoCpus: 1_500_000_000 }, ["--cpus=1.5"]],
    ["CpuShares, CpuQuota, CpuPeriod, CpusetCpus, CpusetMems", { CpuShares: 512, CpuQuota: 50000, CpuPeriod: 100000, CpusetCpus: "0-1", CpusetMems: "0" }, ["--cpu-shares=512", "--cpu-quota=50000", "--cpu-period=100000", "--cpuset-cpus=0-1", "--cpuset-mems=0"]],
    ["CpuRealtimePeriod, CpuRealtimeRuntime", { CpuRealtimePeriod: 1000000, CpuRealtimeRuntime: 950000 }, ["--cpu-rt-period=1000000", "--cpu-rt-runtime=950000"]],
    ["PidsLimit (0 and below are unlimited)", { PidsLimit: 50 }, ["--pids-limit=50"]],
    ["PidsLimit -1", { PidsLimit: -1 }, []],
    ["Ulimits", { Ulimits: [{ Name: "nofile", Soft: 1024, Hard: 2048 }] }, ["--ulimit=nofile=1024:2048"]],
    ["OomKillDisable with a limit, OomScoreAdj", { OomKillDisable: true, Memory: 64 << 20, OomScoreAdj: 500 }, ["--oom-kill-disable", "--memory=67108864", "--oom-score-adj=500"]],
    ["ShmSize, Sysctls", { ShmSize: 1 << 20, Sysctls: { "net.ipv4.ip_forward": "1" } }, ["--shm-size=1048576", "--sysctl=net.ipv4.ip_forward=1"]],
    ["Devices", { Devices: [{ PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse", CgroupPermissions: "rwm" }] }, ["--device=/dev/fuse:/dev/fuse:rwm"]],
    ["BlkioWeight and device limits", { BlkioWeight: 300, BlkioWeightDevice: [{ Path: "/dev/sda", Weight: 200 }], BlkioDeviceReadBps: [{ Path: "/dev/sda", Rate: 1024 }], BlkioDeviceWriteBps: [{ Path: "/dev/sda", Rate: 2048 }], BlkioDeviceReadIOps: [{ Path: "/dev/sda", Rate: 10 }], BlkioDeviceWriteIOps: [{ Path: "/dev/sda", Rate: 20 }] }, ["--blkio-weight=300", "--blkio-weight-device=/dev/sda:200", "--device-read-bps=/dev/sda:1024", "--device-write-bps=/dev/sda:2048", "--device-read-iops=/dev/sda:10", "--device-write-iops=/dev/sda:20"]],
    ["Privileged, ReadonlyRootfs", { Privileged: true, ReadonlyRootfs: true }, ["--privileged", "--read-only"]],
    ["CapAdd, CapDrop (normalised as dockerd does)", { CapAdd: ["net_admin", "CAP_SYS_TIME"], CapDrop: ["ALL"] }, ["--cap-add=CAP_NET_ADMIN", "--cap-add=CAP_SYS_TIME", "--cap-drop=ALL"]],
    ["SecurityOpt in nerdctl's key=value form", { SecurityOpt: ["no-new-privileges", "no-new-privileges:false", "seccomp=unconfined", "apparmor=unconfined", "label=disable"] }, ["--security-opt=no-new-privileges=true", "--security-opt=no-new-privileges=false", "--security-opt=seccomp=unconfined", "--security-opt=apparmor=unconfined", "--security-opt=label=disable"]],
    ["MaskedPaths and ReadonlyPaths both empty", { MaskedPaths: [], ReadonlyPaths: [] }, ["--security-opt=systempaths=unconfined"]],
    ["GroupAdd", { GroupAdd: ["audio", "1001"] }, ["--group-add=audio", "--group-add=1001"]],
    ["IpcMode, PidMode, UTSMode, CgroupnsMode, UsernsMode", { IpcMode: "shareable", PidMode: "container:web", UTSMode: "host", CgroupnsMode: "private", UsernsMode: "host" }, ["--ipc=shareable", "--pid=container:web", "--uts=host", "--cgroupns=private", "--userns=host"]],
    ["CgroupParent, Runtime", { CgroupParent: "/mine", Runtime: "crun" }, ["--cgroup-parent=/mine", "--runtime=crun"]],
    ["Runtime runc is the default", { Runtime: "runc", Isolation: "default" }, []],
    ["RestartPolicy always", { RestartPolicy: { Name: "always" } }, ["--restart=always"]],
    ["RestartPolicy on-failure with retries", { RestartPolicy: { Name: "on-failure", MaximumRetryCount: 3 } }, ["--restart=on-failure:3"]],
    ["RestartPolicy no, AutoRemove", { RestartPolicy: { Name: "no" }, AutoRemove: true }, ["--rm"]],
    ["Init", { Init: true }, ["--init"]],
    ["LogConfig", { LogConfig: { Type: "journald", Config: { tag: "web" } } }, ["--log-driver=journald", "--log-opt=tag=web"]],
    ["LogConfig json-file is the default", { LogConfig: { Type: "json-file", Config: { "max-size": "10m" } } }, ["--log-opt=max-size=10m"]],
    ["Annotations", { Annotations: { "com.example/a": "b" } }, ["--annotation=com.example/a=b"]],
    ["Dns, DnsOptions, DnsSearch, ExtraHosts", { Dns: ["1.1.1.1"], DnsOptions: ["ndots:2"], DnsSearch: ["example.org"], ExtraHosts: ["db:10.0.0.2", "gw=host-gateway", "v6:::1"] }, ["--dns=1.1.1.1", "--dns-opt=ndots:2", "--dns-search=example.org", "--add-host=db:10.0.0.2", "--add-host=gw:host-gateway", "--add-host=v6:::1"]],
  ])("%s", (_, host, expected) => {
    expect(flags({ HostConfig: host })).toEqual(expect.arrayContaining(expected));
    expect(flags({ HostConfig: host })).toHaveLength(expected.length);
  });

  it("refuses what dockerd refuses, with its words", () => {
    const host = (HostConfig: ContainerCreateRequest["HostConfig"]) => refusal({ HostConfig });
    expect(host({ Memory: 1024 })).toBe("Minimum memory limit allowed is 6MB");
    expect(host({ Memory: 64 << 20, MemorySwap: 32 << 20 })).toBe("Minimum memoryswap limit should be larger than memory limit, see usage");
    expect(host({ MemorySwap: 64 << 20 })).toBe("You should always set the Memory limit when using Memoryswap limit, see usage");
    expect(host({ MemorySwappiness: 101 })).toBe("Invalid value: 101, valid memory swappiness range is 0-100");
    expect(host({ Memory: 64 << 20, MemoryReservation: 128 << 20 })).toBe("Minimum memory limit can not be less than memory reservation limit, see usage");
    expect(host({ NanoCpus: 1e9, CpuQuota: 50000 })).toBe("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
    expect(host({ NanoCpus: 1e9, CpuPeriod: 50000 })).toBe("Conflicting options: Nano CPUs and CPU Period cannot both be set");
    expect(host({ CpuPeriod: 10 })).toMatch(/^CPU cfs period can not be less than 1ms/);
    expect(host({ BlkioWeight: 5 })).toBe("Range of blkio weight is from 10 to 1000");
    expect(host({ OomScoreAdj: 2000 })).toBe("Invalid value 2000, range for oom score adj is [-1000, 1000]");
    expect(host({ ShmSize: -1 })).toBe("SHM size can not be less than 0");
    expect(host({ IpcMode: "weird" })).toBe("invalid IPC mode: weird");
    expect(host({ PidMode: "container:--privileged" })).toBe("invalid PID mode: container:--privileged");
    expect(host({ CgroupnsMode: "x" })).toBe("invalid cgroup namespace mode: x");
    expect(host({ Isolation: "hyperv" })).toBe("invalid isolation 'hyperv' on linux");
    expect(host({ RestartPolicy: { Name: "sometimes" } })).toBe("invalid restart policy 'sometimes'");
    expect(host({ RestartPolicy: { Name: "always", MaximumRetryCount: 2 } })).toBe("maximum retry count cannot be used with restart policy 'always'");
    expect(host({ RestartPolicy: { Name: "always" }, AutoRemove: true })).toBe("can't create 'AutoRemove' container with restart policy");
    expect(host({ CapAdd: ["--privileged"] })).toBe('invalid CapAdd: unknown capability: "--privileged"');
    expect(host({ SecurityOpt: ["seccomp={}"] })).toMatch(/seccomp profile is not supported/);
    expect(host({ SecurityOpt: ["bogus"] })).toBe('invalid --security-opt 1: "bogus"');
    expect(host({ Runtime: "/tmp/evil" })).toMatch(/invalid runtime name/);
    expect(host({ Annotations: { "nerdctl/state-dir": "/tmp" } })).toMatch(/reserved/);
    expect(host({ MaskedPaths: ["/proc/kcore"] })).toBe("HostConfig.MaskedPaths is not supported");
    expect(host({ UsernsMode: "private" })).toBe("HostConfig.UsernsMode is not supported");
    expect(host({ LogConfig: { Type: "gelf" } })).toMatch(/logging driver "gelf" is not supported/);
  });
});

describe("mounts → nerdctl create", () => {
  it("turns Binds into -v, dropping what Linux ignores", () => {
    expect(flags({ HostConfig: { Binds: ["vol:/data", "/srv:/srv:ro,rshared", "/cache:/cache:cached", "/anon"] } })).toEqual([
      "--volume=vol:/data",
      "--volume=/srv:/srv:ro,rshared",
      "--volume=/cache:/cache",
      "--volume=/anon",
    ]);
  });

  it("turns Mounts into --mount (or -v where a missing source is to be made)", () => {
    expect(
      flags({
        HostConfig: {
          Mounts: [
            { Type: "bind", Source: "/srv", Target: "/srv", ReadOnly: true, BindOptions: { Propagation: "rslave", NonRecursive: true } },
            { Type: "volume", Source: "data", Target: "/data" },
            { Type: "volume", Target: "/scratch" },
            { Type: "tmpfs", Target: "/run", TmpfsOptions: { SizeBytes: 1 << 20, Mode: 0o1777 } },
            { Type: "bind", Source: "/new", Target: "/new", BindOptions: { CreateMountpoint: true } },
          ],
        },
      }),
    ).toEqual([
      "--mount=type=bind,source=/srv,target=/srv,readonly,bind-propagation=rslave,bind-nonrecursive",
      "--mount=type=volume,source=data,target=/data",
      "--mount=type=volume,target=/scratch",
      "--mount=type=tmpfs,target=/run,tmpfs-size=1048576,tmpfs-mode=1777",
      "--volume=/new:/new",
    ]);
  });

  it("turns Tmpfs and VolumesFrom into their flags, and names the volumes the container uses", () => {
    const planned = plan({ HostConfig: { Tmpfs: { "/run": "size=1m", "/tmp": "" }, VolumesFrom: ["web:ro"], Binds: ["vol:/data"], Mounts: [{ Type: "volume", Source: "other", Target: "/o" }] } });
    expect(planned.args).toEqual(expect.arrayContaining(["--tmpfs=/run:size=1m", "--tmpfs=/tmp", "--volumes-from=web:ro"]));
    expect(planned.volumes).toEqual(["vol", "other"]);
  });

  it("refuses mounts nerdctl's syntax would read otherwise, and options it cannot honour", () => {
    const host = (HostConfig: ContainerCreateRequest["HostConfig"]) => refusal({ HostConfig });
    expect(host({ Binds: ["/a:/b:rw,nocopy,exec"] })).toMatch(/invalid volume specification|invalid mode/);
    expect(host({ Binds: ["/a:/b:c:d"] })).toBe("invalid volume specification: '/a:/b:c:d'");
    expect(host({ Binds: ["relative/path:/b"] })).toMatch(/neither an absolute path nor a volume name/);
    expect(host({ Binds: ["vol:/b:rshared"] })).toMatch(/invalid volume specification/);
    expect(host({ Mounts: [{ Type: "bind", Source: "/a,target=/etc", Target: "/b" }] })).toMatch(/invalid mount/);
    expect(host({ Mounts: [{ Type: "bind", Source: "/a", Target: "/b,readonly=false" }] })).toMatch(/invalid mount path/);
    expect(host({ Mounts: [{ Type: "npipe", Source: "x", Target: "/b" }] })).toMatch(/mount type "npipe" is not supported/);
    expect(host({ Mounts: [{ Type: "tmpfs", Target: "/b", BindOptions: {} }] })).toBe('BindOptions must not be specified on mount type "tmpfs"');
    expect(host({ Mounts: [{ Type: "volume", Source: "vol", Target: "/b", VolumeOptions: { Labels: { a: "b" } } }] })).toBe("HostConfig.Mounts.VolumeOptions.Labels is not supported");
    expect(host({ Mounts: [{ Type: "volume", Source: "vol", Target: "/b", VolumeOptions: { DriverConfig: { Name: "nfs" } } }] })).toBe("HostConfig.Mounts.VolumeOptions.DriverConfig is not supported");
    expect(host({ VolumeDriver: "nfs" })).toMatch(/VolumeDriver "nfs" is not supported/);
    expect(host({ Tmpfs: { "/run:/x": "" } })).toMatch(/invalid mount path/);
    expect(host({ VolumesFrom: ["--privileged"] })).toMatch(/invalid volumes-from/);
    expect(host({ Binds: ["/a:/b"], Tmpfs: { "/b": "" } })).toBe("Duplicate mount point");
  });
});

describe("network → nerdctl create", () => {
  it("passes the mode, and the custom network by the name the engine gave", () => {
    expect(flags({ HostConfig: { NetworkMode: "default" } })).toEqual([]);
    expect(flags({ HostConfig: { NetworkMode: "bridge" } })).toEqual([]);
    expect(flags({ HostConfig: { NetworkMode: "host" } })).toEqual(["--network=host"]);
    expect(flags({ HostConfig: { NetworkMode: "container:web" } })).toEqual(["--network=container:web"]);
    const custom = planContainerCreate(checkContainerCreate({ Image: "busybox", HostConfig: { NetworkMode: "0123abcd" } }, {}), { ...CONTEXT, network: "mynet" });
    expect(createArgs(custom.options)).toContain("--network=mynet");
  });

  it("takes the endpoint's addresses and MAC; names only its network when NetworkMode is left to the default", () => {
    const body: ContainerCreateRequest = {
      NetworkingConfig: { EndpointsConfig: { mynet: { IPAMConfig: { IPv4Address: "10.4.0.9", IPv6Address: "fd00::9" }, MacAddress: "02:42:ac:11:00:09", Aliases: ["db"] } } },
    };
    expect(checkContainerCreate({ Image: "busybox", ...body }, {}).network.custom).toBe("mynet");
    const planned = plan(body);
    expect(planned.args).toEqual(expect.arrayContaining(["--network=mynet", "--ip=10.4.0.9", "--ip6=fd00::9", "--mac-address=02:42:ac:11:00:09"]));
  });

  it("makes the first alias besides the name the hostname on a user-defined network, so its peers resolve it", () => {
    // compose: the container's name, then the service's, then the network's own aliases.
    const compose = plan({ NetworkingConfig: { EndpointsConfig: { app_default: { Aliases: ["app-web-1", "web"] } } } }, { name: "app-web-1" });
    expect(compose.args).toEqual(expect.arrayContaining(["--network=app_default", "--hostname=web", "--name=app-web-1"]));
    expect(compose.warnings).toEqual([]);
    // Recreating, compose creates the container under another name and lists its final one first.
    const recreated = plan(
      { Labels: { "com.docker.compose.service": "web" }, NetworkingConfig: { EndpointsConfig: { app_default: { Aliases: ["app-web-1", "web"] } } } },
      { name: "0123456789ab_app-web-1" },
    );
    expect(recreated.args).toContain("--hostname=web");
    expect(recreated.warnings).toEqual(["Network aliases are not supported: the container is reachable by its name and its hostname only."]);
    // A one-off container's only alias is its name: nothing to do.
    const oneOff = plan({ NetworkingConfig: { EndpointsConfig: { app_default: { Aliases: ["app-web-run-1"] } } } }, { name: "app-web-run-1" });
    expect(oneOff.args.filter((word) => word.startsWith("--hostname"))).toEqual([]);
    expect(oneOff.warnings).toEqual([]);
  });

  it("warns of the aliases that stay unresolved: more than one, beside a hostname of the client's, on the default bridge", () => {
    const unresolved = ["Network aliases are not supported: the container is reachable by its name and its hostname only."];
    const more = plan({ NetworkingConfig: { EndpointsConfig: { mynet: { Aliases: ["web", "www"] } } } });
    expect(more.args).toContain("--hostname=web");
    expect(more.warnings).toEqual(unresolved);
    const own = plan({ Hostname: "box", NetworkingConfig: { EndpointsConfig: { mynet: { Aliases: ["web"] } } } });
    expect(own.args.filter((word) => word.startsWith("--hostname"))).toEqual(["--hostname=box"]);
    expect(own.warnings).toEqual(unresolved);
    const bridge = plan({ NetworkingConfig: { EndpointsConfig: { bridge: { Aliases: ["web"] } } } });
    expect(bridge.args.filter((word) => word.startsWith("--hostname"))).toEqual([]);
    expect(bridge.warnings).toEqual(unresolved);
    const notAHostname = plan({ NetworkingConfig: { EndpointsConfig: { mynet: { Aliases: ["web server"] } } } });
    expect(notAHostname.args.filter((word) => word.startsWith("--hostname"))).toEqual([]);
    expect(notAHostname.warnings).toEqual(unresolved);
  });

  it("publishes PortBindings, and with PublishAllPorts every exposed port without one", () => {
    expect(
      flags({
        ExposedPorts: { "80/tcp": {}, "53/udp": {} },
        HostConfig: { PortBindings: { "80/tcp": [{ HostIp: "", HostPort: "8080" }], "443/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }], "9000/tcp": [{ HostIp: "::1", HostPort: "9000" }] }, PublishAllPorts: true },
      }),
    ).toEqual(["--publish=8080:80/tcp", "--publish=127.0.0.1::443/tcp", "--publish=[::1]:9000:9000/tcp", "--publish=8080/tcp", "--publish=53/udp"]);
  });

  it("warns that host networking discards published ports", () => {
    const planned = plan({ HostConfig: { NetworkMode: "host", PortBindings: { "80/tcp": [{ HostPort: "80" }] } } });
    expect(planned.args.some((word) => word.startsWith("--publish"))).toBe(false);
    expect(planned.warnings).toEqual(["Published ports are discarded when using host network mode"]);
  });

  it("refuses what dockerd refuses", () => {
    expect(refusal({ NetworkingConfig: { EndpointsConfig: { a: {}, b: {} } } })).toBe("Container cannot be connected to network endpoints: a, b");
    expect(refusal({ NetworkingConfig: { EndpointsConfig: { a: { IPAMConfig: { IPv4Address: "fd00::1" } } } } })).toBe("invalid IPv4 address: fd00::1");
    expect(refusal({ HostConfig: { NetworkMode: "host" }, MacAddress: "02:42:ac:11:00:02" })).toBe("conflicting options: mac-address and the network mode");
    expect(refusal({ HostConfig: { NetworkMode: "--privileged" } })).toMatch(/invalid network mode/);
    expect(refusal({ HostConfig: { PortBindings: { "80/tcp": [{ HostPort: "-v/:/h" }] } } })).toBe('invalid port specification: "-v/:/h"');
    expect(refusal({ HostConfig: { PortBindings: { "eighty/tcp": [] } } })).toBe('invalid port specification: "eighty/tcp"');
    expect(refusal({ HostConfig: { Dns: ["--privileged"] } })).toBe("--privileged is not an ip address");
    expect(refusal({ HostConfig: { ExtraHosts: ["a,b:1.2.3.4"] } })).toMatch(/invalid IP address in add-host/);
    expect(refusal({ Hostname: "h", HostConfig: { NetworkMode: "container:web" } })).toBe("conflicting options: hostname and the network mode");
  });
});

describe("the decisions table", () => {
  const spec = parse(readFileSync(API_SPEC_PATH, "utf8")) as { definitions: Record<string, { properties?: object; allOf?: { $ref?: string; properties?: object }[] }> };
  const fieldsOf = (name: string): string[] => {
    const definition = spec.definitions[name]!;
    return [
      ...Object.keys(definition.properties ?? {}),
      ...(definition.allOf ?? []).flatMap((part) => (part.$ref ? fieldsOf(part.$ref.split("/").at(-1)!) : Object.keys(part.properties ?? {}))),
    ];
  };

  it("decides every field of the v1.43 ContainerConfig, HostConfig and EndpointSettings", () => {
    const fields = [
      ...fieldsOf("ContainerConfig"),
      ...fieldsOf("HostConfig").map((field) => `HostConfig.${field}`),
      ...fieldsOf("EndpointSettings").map((field) => `EndpointSettings.${field}`),
    ];
    expect(fields.length).toBeGreaterThan(100);
    expect(fields.filter((field) => FIELD_HANDLING[field] === undefined)).toEqual([]);
  });

  it("refuses each refused field by name, once set", () => {
    const refused = Object.entries(FIELD_HANDLING).filter(([, handling]) => handling === "refused");
    expect(refused.length).toBeGreaterThan(5);
    for (const [field] of refused) {
      const key = field.replace(/^HostConfig\./, "");
      expect(refusal({ HostConfig: { [key]: key === "Cgroup" ? "container:x" : key === "StorageOpt" ? { size: "1G" } : key.endsWith("s") && key !== "IOMaximumIOps" ? [{}] : 1 } })).toBe(`${field} is not supported`);
      // Go's zero value is no setting.
      expect(() => plan({ HostConfig: { [key]: key === "Cgroup" ? "" : null } })).not.toThrow();
    }
  });

  it("warns of each warned field once set, and of nothing for a plain create", () => {
    expect(plan({}).warnings).toEqual([]);
    expect(plan({ HostConfig: { CpuPercent: 50, CpuCount: 2, Links: ["web:web"] } }).warnings).toEqual([
      "linux does not support CPU percent. Percent discarded.",
      "linux does not support CPU count. Count discarded.",
      "Links are not supported: the linked containers' names are not added to /etc/hosts.",
    ]);
    expect(plan({ HostConfig: { OomKillDisable: true } }).warnings).toEqual([
      "OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.",
    ]);
  });
});

describe("the request itself", () => {
  it("checks the name as dockerd does, and passes it without its slash", () => {
    expect(refusal({}, { name: "bad name" })).toBe("Invalid container name (bad name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    expect(refusal({}, { name: "--privileged" })).toBe("Invalid container name (--privileged), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    expect(refusal({}, { name: "x" })).toBe("Invalid container name (x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    expect(flags({}, { name: "/web" })).toEqual(["--name=web"]);
  });

  it("checks the platform and passes it", () => {
    expect(flags({}, { platform: "linux/arm64/v8" })).toEqual(["--platform=linux/arm64/v8"]);
    expect(refusal({}, { platform: "--privileged" })).toMatch(/unknown operating system or architecture/);
  });

  it("needs a body with an image, and a well-formed one", () => {
    expect(() => checkContainerCreate(undefined, {})).toThrow("invalid JSON: got EOF while reading request body");
    expect(() => checkContainerCreate({}, {})).toThrow(/Config.Image is required/);
    expect(() => checkContainerCreate({ Image: "--privileged" }, {})).toThrow(/invalid reference format/);
    expect(() => checkContainerCreate({ Image: "busybox", HostConfig: "x" }, {})).toThrow("HostConfig must be an object");
  });

  it("records what nerdctl keeps nowhere, in labels it can carry, and reads it back", () => {
    const long = "x".repeat(9000);
    const { labels } = plan({ Tty: true, OpenStdin: true, Cmd: ["echo", long, "é"], HostConfig: { Binds: ["/srv:/srv"] } });
    expect(labels.length).toBe(3);
    for (const label of labels) expect(label.length).toBeLessThan(4000);
    const record = readRecord(Object.fromEntries(labels.map((label) => label.slice("--label=".length).split(/=(.*)/s).slice(0, 2) as [string, string])));
    expect(record).toEqual({ Config: { Image: "busybox", Tty: true, OpenStdin: true, Cmd: ["echo", long, "é"] }, HostConfig: { Binds: ["/srv:/srv"] } });
  });

  it("words a taken name and a platform mismatch as dockerd does", () => {
    expect(nameConflict("web", "abc").message).toBe(
      'Conflict. The container name "/web" is already in use by container "abc". You have to remove (or rename) that container to be able to reuse that name.',
    );
    expect(() => checkImagePlatform("busybox", "linux/arm64", "linux/amd64")).toThrow(
      "image with reference busybox was found but does not match the specified platform: wanted linux/arm64, actual: linux/amd64",
    );
    expect(() => checkImagePlatform("busybox", "amd64", "linux/amd64")).not.toThrow();
    expect(() => checkImagePlatform("busybox", "linux/x86_64", "linux/amd64")).not.toThrow();
  });
});

describe("injection attempts in string fields", () => {
  const attempts = ["--privileged", "-v/:/h", "a\nb", "a\0b"];
  const stringFields: ((value: string) => ContainerCreateRequest)[] = [
    (value) => ({ Hostname: value }),
    (value) => ({ Domainname: value }),
    (value) => ({ User: value }),
    (value) => ({ WorkingDir: `/${value}` }),
    (value) => ({ Env: [`A=${value}`] }),
    (value) => ({ Labels: { [value]: value } }),
    (value) => ({ StopSignal: value }),
    (value) => ({ Healthcheck: { Test: ["CMD-SHELL", value] } }),
    (value) => ({ Cmd: [value] }),
    (value) => ({ Entrypoint: [value] }),
    (value) => ({ Volumes: { [`/${value}`]: {} } }),
    (value) => ({ MacAddress: value }),
    (value) => ({ HostConfig: { Binds: [`${value}:/x`] } }),
    (value) => ({ HostConfig: { Binds: [`/x:/${value}`] } }),
    (value) => ({ HostConfig: { Mounts: [{ Type: "bind", Source: `/${value}`, Target: "/x" }] } }),
    (value) => ({ HostConfig: { Mounts: [{ Type: "volume", Source: value, Target: "/x" }] } }),
    (value) => ({ HostConfig: { Tmpfs: { "/x": value } } }),
    (value) => ({ HostConfig: { VolumesFrom: [value] } }),
    (value) => ({ HostConfig: { CapAdd: [value] } }),
    (value) => ({ HostConfig: { CapDrop: [value] } }),
    (value) => ({ HostConfig: { SecurityOpt: [value] } }),
    (value) => ({ HostConfig: { SecurityOpt: [`apparmor=${value}`] } }),
    (value) => ({ HostConfig: { Devices: [{ PathOnHost: `/dev/${value}` }] } }),
    (value) => ({ HostConfig: { Ulimits: [{ Name: value, Soft: 1, Hard: 1 }] } }),
    (value) => ({ HostConfig: { Sysctls: { [value]: value } } }),
    (value) => ({ HostConfig: { Dns: [value] } }),
    (value) => ({ HostConfig: { DnsOptions: [value] } }),
    (value) => ({ HostConfig: { DnsSearch: [value] } }),
    (value) => ({ HostConfig: { ExtraHosts: [`${value}:1.2.3.4`] } }),
    (value) => ({ HostConfig: { GroupAdd: [value] } }),
    (value) => ({ HostConfig: { IpcMode: value } }),
    (value) => ({ HostConfig: { PidMode: `container:${value}` } }),
    (value) => ({ HostConfig: { NetworkMode: value } }),
    (value) => ({ HostConfig: { CgroupParent: value } }),
    (value) => ({ HostConfig: { CpusetCpus: value } }),
    (value) => ({ HostConfig: { Runtime: value } }),
    (value) => ({ HostConfig: { LogConfig: { Type: "json-file", Config: { "max-size": value } } } }),
    (value) => ({ HostConfig: { Annotations: { a: value } } }),
    (value) => ({ HostConfig: { PortBindings: { "80/tcp": [{ HostIp: value }] } } }),
    (value) => ({ NetworkingConfig: { EndpointsConfig: { bridge: { IPAMConfig: { IPv4Address: value } } } } }),
  ];

  it.each(attempts)("%j stays inside one --flag=value word, or is a 400", (attempt) => {
    for (const field of stringFields) {
      let args: string[];
      try {
        args = plan(field(attempt)).args;
      } catch (error) {
        expect((error as ApiError).kind).toBe("invalid-parameter");
        continue;
      }
      const flagWords = args.slice(1, args.indexOf("--"));
      expect(flagWords).not.toContain(attempt);
      for (const word of flagWords) expect(word).toMatch(/^--[a-z0-9-]+(=|$)/s);
      expect(args.join(" ")).not.toContain("\0");
    }
  });
});
