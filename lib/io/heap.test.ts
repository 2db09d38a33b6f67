import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const setFlagsFromString = vi.fn<(flags: string) => void>();
vi.mock("node:v8", () => ({ setFlagsFromString }));
const { FlowHeadroom, IdleCollection, heapHeadroomDuringTransfer } = await import("./heap.ts");

describe("heapHeadroomDuringTransfer", () => {
  beforeEach(() => setFlagsFromString.mockClear());

  it("fixes the growth factor while any transfer runs and gives it back to V8 after the last", () => {
    const endFirst = heapHeadroomDuringTransfer();
    const endSecond = heapHeadroomDuringTransfer();
    expect(setFlagsFromString.mock.calls).toEqual([["--heap-growing-percent=300"]]);
    endFirst();
    expect(setFlagsFromString).toHaveBeenCalledTimes(1);
    endSecond();
    expect(setFlagsFromString.mock.calls).toEqual([["--heap-growing-percent=300"], ["--heap-growing-percent=0"]]);
  });

  it("counts a transfer ended twice once", () => {
    const endFirst = heapHeadroomDuringTransfer();
    const endSecond = heapHeadroomDuringTransfer();
    endFirst();
    endFirst();
    expect(setFlagsFromString).toHaveBeenCalledTimes(1);
    endSecond();
    expect(setFlagsFromString).toHaveBeenLastCalledWith("--heap-growing-percent=0");
  });
});

describe("FlowHeadroom", () => {
  beforeEach(() => {
    setFlagsFromString.mockClear();
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it("holds the headroom while bytes flow, and gives it back after a quiet second", () => {
    const headroom = new FlowHeadroom();
    headroom.flowing();
    for (let i = 0; i < 30; i++) {
      vi.advanceTimersByTime(100);
      headroom.flowing();
    }
    expect(setFlagsFromString.mock.calls).toEqual([["--heap-growing-percent=300"]]);
    vi.advanceTimersByTime(2000);
    expect(setFlagsFromString).toHaveBeenLastCalledWith("--heap-growing-percent=0");
    // Bytes again: taken again.
    headroom.flowing();
    expect(setFlagsFromString).toHaveBeenCalledTimes(3);
    expect(setFlagsFromString).toHaveBeenLastCalledWith("--heap-growing-percent=300");
    headroom.end();
    expect(setFlagsFromString).toHaveBeenLastCalledWith("--heap-growing-percent=0");
  });

  it("gives nothing back at an end without flow, nor twice", () => {
    const headroom = new FlowHeadroom();
    headroom.end();
    headroom.flowing();
    headroom.end();
    headroom.end();
    vi.advanceTimersByTime(5000);
    expect(setFlagsFromString.mock.calls).toEqual([["--heap-growing-percent=300"], ["--heap-growing-percent=0"]]);
  });
});

describe("IdleCollection", () => {
  let collected: number[];
  let released: number[];
  let idle: InstanceType<typeof IdleCollection>;

  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
    collected = [];
    released = [];
    idle = new IdleCollection({ collect: () => collected.push(Date.now()), release: () => released.push(Date.now()) });
  });
  afterEach(() => {
    idle.close();
    vi.useRealTimers();
  });

  it("runs four full collections, two seconds apart, once no request has been answered for five seconds", () => {
    idle.activity();
    vi.advanceTimersByTime(4_999);
    expect(collected).toEqual([]);
    vi.advanceTimersByTime(60_000);
    expect(collected).toEqual([5_000, 7_000, 9_000, 11_000]);
    // malloc's free pages go back once, after the last.
    expect(released).toEqual([11_000]);
  });

  it("starts the wait again at each answered request, and collects nothing before any", () => {
    vi.advanceTimersByTime(60_000);
    expect(collected).toEqual([]);
    idle.activity();
    vi.advanceTimersByTime(3_000);
    idle.activity();
    vi.advanceTimersByTime(4_000);
    expect(collected).toEqual([]);
    vi.advanceTimersByTime(1_000);
    expect(collected).toEqual([68_000]);
    // A request between two collections: the spell starts over, four again.
    idle.activity();
    vi.advanceTimersByTime(60_000);
    expect(collected).toEqual([68_000, 73_000, 75_000, 77_000, 79_000]);
  });

  it("collects nothing while a transfer runs", () => {
    const endTransfer = heapHeadroomDuringTransfer();
    idle.activity();
    vi.advanceTimersByTime(30_000);
    expect(collected).toEqual([]);
    endTransfer();
    vi.advanceTimersByTime(5_000);
    expect(collected).toEqual([35_000]);
  });
});
