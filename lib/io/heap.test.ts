import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const setFlagsFromString = vi.fn<(flags: string) => void>();
vi.mock("node:v8", () => ({ setFlagsFromString }));
const collect = vi.fn<() => void>();
const runInNewContext = vi.fn<(code: string) => unknown>(() => collect);
vi.mock("node:vm", () => ({ runInNewContext }));
const { FlowHeadroom, heapHeadroomDuringTransfer } = await import("./heap.ts");

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

describe("the collection after the last transfer", () => {
  beforeEach(() => {
    setFlagsFromString.mockClear();
    collect.mockClear();
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it("collects once, five seconds after the last transfer ended, unless another began", () => {
    heapHeadroomDuringTransfer()();
    vi.advanceTimersByTime(4_000);
    const again = heapHeadroomDuringTransfer();
    vi.advanceTimersByTime(10_000);
    expect(collect).not.toHaveBeenCalled();
    again();
    vi.advanceTimersByTime(4_999);
    expect(collect).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(collect).toHaveBeenCalledTimes(1);
    expect(setFlagsFromString).toHaveBeenCalledWith("--expose-gc");
    vi.advanceTimersByTime(60_000);
    expect(collect).toHaveBeenCalledTimes(1);
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
    const growth = setFlagsFromString.mock.calls.filter(([flags]) => flags.startsWith("--heap-growing-percent"));
    expect(growth).toEqual([["--heap-growing-percent=300"], ["--heap-growing-percent=0"]]);
  });
});
