import { beforeEach, describe, expect, it, vi } from "vitest";

const setFlagsFromString = vi.fn<(flags: string) => void>();
vi.mock("node:v8", () => ({ setFlagsFromString }));
const { heapHeadroomDuringTransfer } = await import("./heap.ts");

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
