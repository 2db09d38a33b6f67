/**
 * docker run -it and docker attach as a person uses them: typed into a
 * terminal (tmux), read from its screen, resized, detached from with
 * ctrl-p ctrl-q; for both CLIs in both namespaces.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, inject, it } from "vitest";
import { engineNerdctl } from "./support/engine-client.ts";
import { dockerIn, MATRIX, terminalIn } from "./support/matrix.ts";
import { seedNamespace } from "./support/seed.ts";
import type { Terminal } from "./support/terminal.ts";

const dockerHost = inject("dockerHost");

/** What the terminal shows after the last occurrence of `line`, tmux's own note on the ended command left out. */
function after(screen: string, line: string): string {
  return screen.slice(screen.lastIndexOf(line) + line.length).replace(/\n*Pane is dead[^\n]*$/, "");
}

describe.concurrent.each(MATRIX)("$title", (cell) => {
  const docker = (...args: string[]) => dockerIn(cell, dockerHost, args);
  const tag = `${cell.cli.replace(/\W/g, "")}-${cell.namespace.replace(/\W/g, "")}`;
  const containers = new Set<string>();
  /** The container's name; one left by an earlier attempt of the same test (a retry) is removed first. */
  const name = async (what: string) => {
    const made = `tty-${what}-${tag}`;
    containers.add(made);
    await engineNerdctl(["rm", "--force", made], { namespace: cell.namespace });
    return made;
  };

  /**
   * Waits for the CLI's first resize of the container's terminal: only after
   * it does the CLI follow the window's size. A window resized before that
   * (the shell may prompt before the CLI has its start's answer) reaches the
   * container as a forwarded SIGWINCH alone, with dockerd just the same.
   */
  async function sizedByCli(container: string, since: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const until = String(Math.floor(Date.now() / 1000) + 1);
      const events = await docker("events", "--since", since, "--until", until, "--filter", `container=${container}`, "--filter", "event=resize", "--format", "{{.Action}}");
      if (events.stdout.includes("resize")) return;
      if (Date.now() > deadline) throw new Error(`the docker CLI never sized the container's terminal: ${events.stderr.trim()}`);
      await sleep(100);
    }
  }

  /** The cell's docker CLI in a terminal, closed (with whatever still runs in it) after `use`. */
  async function inTerminal(args: string[], use: (tty: Terminal) => Promise<void>): Promise<void> {
    const tty = await terminalIn(cell, dockerHost, args);
    try {
      await use(tty);
    } finally {
      await tty.close();
    }
  }

  beforeAll(async () => {
    await seedNamespace(cell.namespace);
  });

  afterAll(async () => {
    if (containers.size) await engineNerdctl(["rm", "--force", ...containers], { namespace: cell.namespace });
  });

  it("docker run -it --rm busybox sh: typed, resized, exited", async ({ expect }) => {
    const container = await name("run");
    const since = String(Math.floor(Date.now() / 1000) - 1);
    await inTerminal(["run", "-it", "--rm", "--name", container, "busybox", "sh"], async (tty) => {
      await tty.waitFor(/# $/);
      await sizedByCli(container, since);
      await tty.line("echo $((6*7))");
      await tty.waitFor(/^42\r?$/m);
      await tty.retype("stty size", /^30 100$/m);
      const resizedAt = Math.floor(Date.now() / 1000);
      await tty.resize(120, 40);
      await tty.retype("stty size", /^40 120$/m).catch(async (error: Error) => {
        // What the daemon was told since (a resize, or only a forwarded SIGWINCH) says where the new size was lost.
        const told = await docker("events", "--since", String(resizedAt - 1), "--until", String(Math.floor(Date.now() / 1000) + 1), "--filter", `container=${container}`, "--filter", "event=resize", "--filter", "event=kill", "--format", "{{.Action}} {{json .Actor.Attributes}}");
        throw new Error(`${error.message}\nthe daemon's resize and kill events since the resize: ${told.stdout.trim() || "none"} ${told.stderr.trim()}`);
      });
      await tty.line("exit 3");
      expect(await tty.exited()).toBe(3);
      // The shell's last words are the user's `exit 3`: nothing of the daemon's or the engine's follows.
      expect(after(await tty.screen(), "exit 3").trim()).toBe("");
    });
    const gone = await docker("inspect", container);
    expect(gone.stderr).toContain(`No such object: ${container}`);
  });

  it("docker run -dit busybox sh, docker attach, ctrl-p ctrl-q, docker attach again", async ({ expect }) => {
    const container = await name("attach");
    const started = await docker("run", "-dit", "--name", container, "busybox", "sh");
    expect(started.exitCode, started.stderr).toBe(0);
    await inTerminal(["attach", container], async (tty) => {
      await tty.line("echo first-$((2*3))");
      await tty.waitFor(/^first-6\r?$/m);
      await tty.press("C-p", "C-q");
      await tty.exited();
      expect(await tty.screen()).toMatch(/read escape sequence/);
    });
    expect((await docker("inspect", "--format", "{{.State.Status}}", container)).stdout).toBe("running");
    await inTerminal(["attach", container], async (tty) => {
      await tty.line("echo second-$((3*4))");
      await tty.waitFor(/^second-12\r?$/m);
      await tty.line("exit 4");
      expect(await tty.exited()).toBe(4);
    });
    expect((await docker("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", container)).stdout).toBe("exited 4");
  });
});
