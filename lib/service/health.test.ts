import { describe, expect, it } from "vitest";
import { HealthChecks } from "./health.ts";

/** A promise and the functions that settle it. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

describe("health checks held off while the daemon changes a container", () => {
  it("starts a change (a stop) once the check in flight has ended, and no check while it runs", async () => {
    const checks = new HealthChecks();
    const order: string[] = [];
    const checkEnds = deferred();
    const checked = checks.check("ns", "web", async () => {
      order.push("check");
      await checkEnds.promise;
      order.push("check ended");
    });
    const changeStarted = deferred();
    const changeEnds = deferred<string>();
    const changed = checks.holding("ns", "web", async () => {
      order.push("stop");
      changeStarted.resolve();
      return changeEnds.promise;
    });
    // A second check while the first is in flight is not run either.
    await checks.check("ns", "web", async () => void order.push("second check"));
    checkEnds.resolve();
    await checked;
    await changeStarted.promise;
    await checks.check("ns", "web", async () => void order.push("check during the stop"));
    changeEnds.resolve("stopped");
    expect(await changed).toBe("stopped");
    await checks.check("ns", "web", async () => void order.push("check after"));
    expect(order).toEqual(["check", "check ended", "stop", "check after"]);
  });

  it("holds off only that container's checks, in that namespace", async () => {
    const checks = new HealthChecks();
    const ran: string[] = [];
    const changeEnds = deferred();
    const changed = checks.holding("ns", "web", () => changeEnds.promise);
    await checks.check("ns", "db", async () => void ran.push("ns/db"));
    await checks.check("k8s.io", "web", async () => void ran.push("k8s.io/web"));
    await checks.check("ns", "web", async () => void ran.push("ns/web"));
    changeEnds.resolve();
    await changed;
    expect(ran).toEqual(["ns/db", "k8s.io/web"]);
  });

  it("lets a change run after a failed check, and checks run again after a failed change", async () => {
    const checks = new HealthChecks();
    const checkFails = deferred();
    const checked = checks.check("ns", "web", () => checkFails.promise);
    const changed = checks.holding("ns", "web", async () => "renamed");
    checkFails.reject(new Error("no running task"));
    await expect(checked).rejects.toThrow("no running task");
    expect(await changed).toBe("renamed");
    await expect(checks.holding("ns", "web", () => Promise.reject(new Error("refused")))).rejects.toThrow("refused");
    let ran = false;
    await checks.check("ns", "web", async () => void (ran = true));
    expect(ran).toBe(true);
  });
});
