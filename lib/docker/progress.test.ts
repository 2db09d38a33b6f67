import { describe, expect, it } from "vitest";
import {
  auxMessage,
  encodeMessage,
  errorMessage,
  humanSize,
  itemMessage,
  progressBar,
  progressMessage,
  statusMessage,
  streamMessage,
} from "./progress.ts";

describe("encodeMessage", () => {
  // Lines captured from Debian's dockerd 20.10 for the same events.
  it("writes dockerd's bytes: Go field order, \\r\\n, Go's escaping of < > &", () => {
    expect(encodeMessage(statusMessage("Pulling from busybox", "v1"))).toBe('{"status":"Pulling from busybox","id":"v1"}\r\n');
    expect(encodeMessage(itemMessage("Preparing", "a17128f00d56"))).toBe('{"status":"Preparing","progressDetail":{},"id":"a17128f00d56"}\r\n');
    expect(encodeMessage(progressMessage("Pushing", "a17128f00d56", 43008, 1984233))).toBe(
      '{"status":"Pushing","progressDetail":{"current":43008,"total":1984233},"progress":"[=\\u003e                                                 ]  43.01kB/1.984MB","id":"a17128f00d56"}\r\n',
    );
    expect(encodeMessage(streamMessage("Loaded image: busybox:latest\n"))).toBe('{"stream":"Loaded image: busybox:latest\\n"}\r\n');
    expect(encodeMessage(auxMessage({ Tag: "v1", Digest: "sha256:c5", Size: 527 }))).toBe(
      '{"progressDetail":{},"aux":{"Tag":"v1","Digest":"sha256:c5","Size":527}}\r\n',
    );
    expect(encodeMessage(errorMessage("unauthorized: authentication required"))).toBe(
      '{"errorDetail":{"message":"unauthorized: authentication required"},"error":"unauthorized: authentication required"}\r\n',
    );
  });

  it("escapes & and < as Go does", () => {
    expect(encodeMessage(statusMessage("a<b&c"))).toBe('{"status":"a\\u003cb\\u0026c"}\r\n');
  });
});

describe("humanSize", () => {
  it("matches go-units HumanSize (4 significant digits, decimal units)", () => {
    expect(humanSize(0)).toBe("0B");
    expect(humanSize(999)).toBe("999B");
    expect(humanSize(1000)).toBe("1kB");
    expect(humanSize(43008)).toBe("43.01kB");
    expect(humanSize(98304)).toBe("98.3kB");
    expect(humanSize(1984233)).toBe("1.984MB");
    expect(humanSize(2125824)).toBe("2.126MB");
    expect(humanSize(8391357)).toBe("8.391MB");
    expect(humanSize(5 * 1000 ** 3)).toBe("5GB");
  });
});

describe("progressBar", () => {
  it("renders dockerd's bars, including a current past the total", () => {
    expect(progressBar(98304, 8391357)).toBe("[>                                                  ]   98.3kB/8.391MB");
    expect(progressBar(1419264, 1984233)).toBe("[===================================>               ]  1.419MB/1.984MB");
    expect(progressBar(8391357, 8391357)).toBe("[==================================================>]  8.391MB/8.391MB");
    expect(progressBar(2125824, 1984233)).toBe("[==================================================>]  2.126MB");
  });

  it("is empty without numbers and counts only without a total", () => {
    expect(progressBar(0, 0)).toBe("");
    expect(progressBar(1500, 0)).toBe("   1.5kB");
  });
});
