import { describe, expect, it } from "vitest";
import { parseTaskList } from "./tasks.ts";

describe("parseTaskList", () => {
  it("reads ctr tasks ls output, header first", () => {
    const stdout = [
      "TASK                                                                PID      STATUS    ",
      "web                                                                 4242     RUNNING",
      "done                                                                0        STOPPED",
      "",
    ].join("\n");
    expect(parseTaskList(stdout)).toEqual([
      { id: "web", pid: 4242, status: "RUNNING" },
      { id: "done", pid: 0, status: "STOPPED" },
    ]);
  });

  it("is empty for a header alone or no output", () => {
    expect(parseTaskList("TASK    PID    STATUS    \n")).toEqual([]);
    expect(parseTaskList("")).toEqual([]);
  });
});
