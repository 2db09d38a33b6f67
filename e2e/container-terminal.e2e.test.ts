/**
 * docker run -it and docker attach as a person uses them: typed into a
 * terminal (tmux), read from its screen, resized, detached from with
 * ctrl-p ctrl-q; for both CLIs in both namespaces.
 */
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
  const name = (what: string) => {
    const made = `tty-${what}-${tag}`;
    containers.add(made);
    return made;
  };

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
    const container = name("run");
    await inTerminal(["run", "-it", "--rm", "--name", container, "busybox", "sh"], async (tty) => {
      await tty.waitFor(/# $/);
      await tty.line("echo $((6*7))");
      await tty.waitFor(/^42\r?$/m);
      await tty.retype("stty size", /^30 100$/m);
      await tty.resize(120, 40);
      await tty.retype("stty size", /^40 120$/m);
      await tty.line("exit 3");
      expect(await tty.exited()).toBe(3);
      // The shell's last words are the user's `exit 3`: nothing of the daemon's or the engine's follows.
      expect(after(await tty.screen(), "exit 3").trim()).toBe("");
    });
    const gone = await docker("inspect", container);
    expect(gone.stderr).toContain(`No such object: ${container}`);
  });

  it("docker run -dit busybox sh, docker attach, ctrl-p ctrl-q, docker attach again", async ({ expect }) => {
    const container = name("attach");
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
