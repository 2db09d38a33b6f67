import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CgroupSample } from "../host/cgroups.ts";
import { INTERVAL_MS, StatsSamplers } from "./stats-samplers.ts";

describe("StatsSamplers", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("reads a container's cgroup once a tick however many clients stream it, and stops with the last one", async () => {
    let reads = 0;
    const read = async () => ({ read: ++reads }) as unknown as CgroupSample;
    const samplers = new StatsSamplers();
    const one = samplers.join("default/c1", read);
    const two = samplers.join("default/c1", read);
    expect(await one.first()).toEqual({ read: 1 });
    expect(await two.first()).toEqual({ read: 1 });
    const [a, b] = [one.next(), two.next()];
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(await a).toEqual({ read: 2 });
    expect(await b).toEqual({ read: 2 });
    expect(reads).toBe(2);

    one.leave();
    const c = two.next();
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(await c).toEqual({ read: 3 });
    two.leave();
    expect(samplers.size).toBe(0);
    await vi.advanceTimersByTimeAsync(5 * INTERVAL_MS);
    expect(reads).toBe(3);
  });

  it("keeps containers apart, and ends a stream whose read fails (the container is gone)", async () => {
    const samplers = new StatsSamplers();
    const gone = samplers.join("default/c1", () => Promise.reject(new Error("ENOENT")));
    const other = samplers.join("default/c2", async () => ({ read: "c2" }) as unknown as CgroupSample);
    expect(samplers.size).toBe(2);
    expect(await gone.first()).toBeUndefined();
    expect(await other.first()).toEqual({ read: "c2" });
    gone.leave();
    other.leave();
    expect(samplers.size).toBe(0);
  });
});
