import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Nerdctl } from "../nerdctl/client.ts";
import type { Command, CommandRunner, RunResult } from "../runner/types.ts";
import { AbandonedLeases } from "./abandoned-leases.ts";

const EXPIRY = { "containerd.io/gc.expire": "2026-12-06T00:00:00Z" };

interface FakeLease {
  id: string;
  createdAt: Date;
  labels: Record<string, string>;
}

/** containerd's leases as ctr lists and removes them; every ctr call kept. */
class LeaseEngine implements CommandRunner {
  leases: FakeLease[] = [];
  readonly calls: Command[] = [];
  failing = false;

  /** A lease made now, as containerd dates it (to the second). */
  make(id: string, labels: Record<string, string> = EXPIRY): void {
    this.leases.push({ id, createdAt: new Date(Math.floor(Date.now() / 1000) * 1000), labels });
  }

  async run(command: Command): Promise<RunResult> {
    this.calls.push(command);
    if (this.failing) return { exitCode: 1, stdout: "", stderr: "ctr: connection refused" };
    const words = command.args.filter((word) => !word.startsWith("--namespace="));
    if (words[0] === "leases" && words[1] === "ls") {
      const rows = this.leases.map((lease) => {
        const labels = Object.entries(lease.labels).map(([key, value]) => `${key}=${value}`);
        return `${lease.id}    ${lease.createdAt.toISOString().replace(".000", "")}    ${labels.join(",")}`;
      });
      return { exitCode: 0, stdout: ["ID    CREATED AT    LABELS", ...rows, ""].join("\n"), stderr: "" };
    }
    if (words[0] === "leases" && words[1] === "rm") {
      const ids = words.slice(words.indexOf("--") + 1);
      this.leases = this.leases.filter((lease) => !ids.includes(lease.id));
      return { exitCode: 0, stdout: "", stderr: "" };
    }
    throw new Error(`unexpected call: ${command.args.join(" ")}`);
  }

  spawn(): never {
    throw new Error("not used");
  }

  interactive(): never {
    throw new Error("not used");
  }

  ids(): string[] {
    return this.leases.map((lease) => lease.id).sort();
  }
}

const SETTLE_MS = 30_000;

let engine: LeaseEngine;
let nerdctl: Nerdctl;
let logged: string[];
let leases: AbandonedLeases;

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-12-05T10:00:00.500Z") });
  engine = new LeaseEngine();
  nerdctl = new Nerdctl(engine, { namespace: "ns1", requestId: "req-1" });
  logged = [];
  leases = new AbandonedLeases({ settleMs: SETTLE_MS, log: (line) => logged.push(line) });
});

afterEach(() => {
  leases.close();
  vi.useRealTimers();
});

describe("the leases of killed transfers", () => {
  it("removes, once the settling time has passed, the lease a killed transfer made and nothing else", async () => {
    engine.make("older");
    await vi.advanceTimersByTimeAsync(3_000);
    const ended = leases.holding(nerdctl);
    await vi.advanceTimersByTimeAsync(1_000);
    engine.make("the-childs");
    engine.make("labelled", { ...EXPIRY, "buildkit/lease.temporary": "1" });
    await vi.advanceTimersByTimeAsync(1_000);
    ended(true);
    await vi.advanceTimersByTimeAsync(3_000);
    engine.make("later");
    await vi.advanceTimersByTimeAsync(SETTLE_MS - 3_001);
    expect(engine.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(engine.ids()).toEqual(["labelled", "later", "older"]);
    expect(engine.calls.map((call) => call.args)).toEqual([
      ["--namespace=ns1", "leases", "ls"],
      ["--namespace=ns1", "leases", "rm", "--", "the-childs"],
    ]);
    expect(engine.calls.every((call) => call.program === "ctr" && call.requestId === undefined)).toBe(true);
    expect(logged).toEqual(["removed 1 lease(s) of killed nerdctl transfers in namespace ns1: the-childs"]);
  });

  it("looks at nothing after a transfer that ended by itself: it released its own lease", async () => {
    const ended = leases.holding(nerdctl);
    engine.make("someone-elses");
    ended(false);
    await vi.advanceTimersByTimeAsync(10 * SETTLE_MS);
    expect(engine.calls).toEqual([]);
    expect(engine.ids()).toEqual(["someone-elses"]);
  });

  it("waits while a transfer that started before the kill still runs: its live lease looks the same", async () => {
    const first = leases.holding(nerdctl);
    const second = leases.holding(nerdctl);
    engine.make("firsts");
    engine.make("seconds");
    first(true);
    await vi.advanceTimersByTimeAsync(5 * SETTLE_MS);
    expect(engine.ids()).toEqual(["firsts", "seconds"]);
    expect(engine.calls).toEqual([]);
    // The second ends by itself and removes its lease; the first's goes after the settling time.
    engine.leases = engine.leases.filter((lease) => lease.id !== "seconds");
    second(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(engine.ids()).toEqual([]);
  });

  it("does not wait for a transfer that started well after the kill, nor touch its lease", async () => {
    const killed = leases.holding(nerdctl);
    engine.make("killeds");
    killed(true);
    await vi.advanceTimersByTimeAsync(5_000);
    const running = leases.holding(nerdctl);
    engine.make("runnings");
    await vi.advanceTimersByTimeAsync(SETTLE_MS);
    expect(engine.ids()).toEqual(["runnings"]);
    running(false);
  });

  it("keeps namespaces apart", async () => {
    const other = new Nerdctl(engine, { namespace: "ns2" });
    const killed = leases.holding(nerdctl);
    const running = leases.holding(other);
    engine.make("killeds");
    killed(true);
    await vi.advanceTimersByTimeAsync(SETTLE_MS);
    expect(engine.ids()).toEqual([]);
    expect(engine.calls.every((call) => call.args[0] === "--namespace=ns1")).toBe(true);
    running(false);
  });

  it("logs a sweep that fails and goes on: the lease is left to its expiry", async () => {
    engine.failing = true;
    const ended = leases.holding(nerdctl);
    engine.make("the-childs");
    ended(true);
    await vi.advanceTimersByTimeAsync(SETTLE_MS);
    expect(logged).toEqual(["removing the leases of killed nerdctl transfers in namespace ns1: ctr: connection refused"]);
    engine.failing = false;
    await vi.advanceTimersByTimeAsync(10 * SETTLE_MS);
    expect(engine.ids()).toEqual(["the-childs"]);
  });
});
