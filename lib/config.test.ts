import { describe, expect, it } from "vitest";
import { addressInNerdctlToml, nerdctlTomlPath, parseConfig, parseDialStdio, UsageError, type DaemonConfig } from "./config.ts";
import { parseMetricsAddress } from "./server/metrics-listen.ts";

describe("nerdctl.toml", () => {
  it("is NERDCTL_TOML when given, else nerdctl's default for the user", () => {
    expect(nerdctlTomlPath({ nerdctlToml: "/x/n.toml" }, {}, 0)).toBe("/x/n.toml");
    expect(nerdctlTomlPath({}, {}, 0)).toBe("/etc/nerdctl/nerdctl.toml");
    expect(nerdctlTomlPath({}, { HOME: "/home/u" }, 1000)).toBe("/home/u/.config/nerdctl/nerdctl.toml");
    expect(nerdctlTomlPath({}, { XDG_CONFIG_HOME: "/c", HOME: "/home/u" }, 1000)).toBe("/c/nerdctl/nerdctl.toml");
  });

  it("names containerd's address in its top-level `address` key only", () => {
    expect(addressInNerdctlToml('# made by hand\naddress = "/run/k3s/containerd/containerd.sock"\nnamespace = "k8s.io"\n')).toBe(
      "/run/k3s/containerd/containerd.sock",
    );
    expect(addressInNerdctlToml("address='unix:///a b.sock' # quoted\n")).toBe("unix:///a b.sock");
    expect(addressInNerdctlToml('namespace = "default"\n[hosts]\naddress = "/not/top/level"\n')).toBeUndefined();
    expect(addressInNerdctlToml("")).toBeUndefined();
  });
});

describe("observability and limit flags", () => {
  const parse = (...argv: string[]) => {
    const config = parseConfig(["-H", "unix:///tmp/x.sock", ...argv], {});
    if (typeof config === "string") throw new Error(config);
    return config;
  };

  it("defaults to the text log, no metrics, 32 engine calls at once and a writable API", () => {
    expect(parse()).toMatchObject({ logFormat: "text", metricsAddr: undefined, maxChildren: 32, readOnlyApi: false });
  });

  it("takes each flag", () => {
    expect(parse("--log-format", "json", "--metrics-addr", ":9323", "--max-children", "4", "--read-only-api")).toMatchObject({
      logFormat: "json",
      metricsAddr: ":9323",
      maxChildren: 4,
      readOnlyApi: true,
    });
  });

  it("refuses values it cannot use, as usage errors", () => {
    expect(() => parse("--log-format", "xml")).toThrow(UsageError);
    expect(() => parse("--max-children", "0")).toThrow("--max-children must be a whole number, 1 or more");
    expect(() => parse("--max-children", "2.5")).toThrow(UsageError);
    expect(() => parse("--metrics-addr", "9323")).toThrow('--metrics-addr "9323": expected HOST:PORT');
    expect(() => parse("--metrics-addr", "host:99999")).toThrow(UsageError);
  });

  it("reads a metrics address as HOST:PORT, IPv6 in brackets, an empty host being loopback", () => {
    expect(parseMetricsAddress("0.0.0.0:9323")).toEqual({ host: "0.0.0.0", port: 9323 });
    expect(parseMetricsAddress("[::1]:9323")).toEqual({ host: "::1", port: 9323 });
    expect(parseMetricsAddress(":9323")).toEqual({ host: "127.0.0.1", port: 9323 });
  });
});

describe("TLS flags", () => {
  const parse = (...argv: string[]) => parseConfig(["-H", "tcp://127.0.0.1:2376", ...argv], {}) as DaemonConfig;

  it("serve TLS with a certificate and key, and verify clients against a CA with --tlsverify, as dockerd", () => {
    expect(parse().tls).toBeUndefined();
    expect(parse("--tlscert", "/c/cert.pem", "--tlskey", "/c/key.pem").tls).toEqual({ cert: "/c/cert.pem", key: "/c/key.pem" });
    expect(parse("--tlsverify", "--tlscacert", "/c/ca.pem", "--tlscert", "/c/cert.pem", "--tlskey", "/c/key.pem").tls).toEqual({
      cert: "/c/cert.pem",
      key: "/c/key.pem",
      ca: "/c/ca.pem",
    });
  });

  it("refuse a half-given setup instead of serving less than asked", () => {
    expect(() => parse("--tlscert", "/c/cert.pem")).toThrow(new UsageError("--tlscert and --tlskey go together"));
    expect(() => parse("--tlsverify", "--tlscert", "/c/cert.pem", "--tlskey", "/c/key.pem")).toThrow(
      new UsageError("--tlsverify needs --tlscacert, --tlscert and --tlskey"),
    );
    expect(() => parse("--tlsverify", "--tlscacert", "/c/ca.pem")).toThrow(UsageError);
    // A CA that nothing checks against would look like client verification without being it.
    expect(() => parse("--tlscacert", "/c/ca.pem", "--tlscert", "/c/cert.pem", "--tlskey", "/c/key.pem")).toThrow(
      new UsageError("--tlscacert is for --tlsverify"),
    );
  });
});

describe("dial-stdio", () => {
  it("connects to -H, else to the daemon's default socket for the user", () => {
    expect(parseDialStdio(["-H", "unix:///tmp/d.sock"], {}, 0)).toBe("unix:///tmp/d.sock");
    expect(parseDialStdio([], {}, 0)).toBe("unix:///run/nerdctl.sock");
    expect(parseDialStdio([], { XDG_RUNTIME_DIR: "/run/user/1000" }, 1000)).toBe("unix:///run/user/1000/nerdctl.sock");
    expect(() => parseDialStdio(["--debug"], {})).toThrow(UsageError);
  });
});
