import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const setFlagsFromString = vi.fn<(flags: string) => void>();
vi.mock("node:v8", () => ({ setFlagsFromString }));
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
