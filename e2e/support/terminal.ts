/**
 * A terminal a person would type into, for the interactive commands
 * (`docker exec -it`, `docker run -it`, `docker attach`): a tmux session of
 * its own (its own server socket, so nothing else of tmux is touched), driven
 * with send-keys and read with capture-pane.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";

export interface TerminalOptions {
  columns: number;
  rows: number;
  /** Variables the command runs with (added to this process's own). */
  env?: Record<string, string>;
}

const SESSION = "t";

export class Terminal {
  private constructor(
    private readonly dir: string,
    private readonly socket: string,
  ) {}

  /** Starts `command` (argv, no shell) in a new terminal of the given size. */
  static async open(command: string[], options: TerminalOptions): Promise<Terminal> {
    const dir = await mkdtemp(join(tmpdir(), "nerdctld-tty-"));
    const config = join(dir, "tmux.conf");
    // The pane stays after its command ends, so its exit status can be read; the size is the test's.
    await writeFile(config, "set -g remain-on-exit on\nset -g status off\n");
    const terminal = new Terminal(dir, join(dir, "tmux.sock"));
    const env = Object.entries(options.env ?? {}).map(([name, value]) => `${name}=${value}`);
    await terminal.tmux(["-f", config, "new-session", "-d", "-s", SESSION, "-x", String(options.columns), "-y", String(options.rows), "--", "env", ...env, ...command]);
    return terminal;
  }

  private async tmux(args: string[]): Promise<string> {
    const result = await execa("tmux", ["-S", this.socket, ...args], { reject: false, stdin: "ignore" });
    if (result.exitCode !== 0) throw new Error(`tmux ${args.join(" ")} failed (${result.exitCode}): ${String(result.stderr)}`);
    return String(result.stdout);
  }

  /** Types text as it is (no key names). */
  async type(text: string): Promise<void> {
    await this.tmux(["send-keys", "-t", SESSION, "-l", text]);
  }

  /** Presses keys by tmux's names: Enter, C-c, C-p, Up… */
  async press(...keys: string[]): Promise<void> {
    await this.tmux(["send-keys", "-t", SESSION, ...keys]);
  }

  /** Types a line and presses Enter. */
  async line(text: string): Promise<void> {
    await this.type(text);
    await this.press("Enter");
  }

  /** What the terminal shows, scrollback included, trailing blank lines left out. */
  async screen(): Promise<string> {
    return (await this.tmux(["capture-pane", "-p", "-J", "-S", "-", "-t", SESSION])).replace(/\n+$/, "");
  }

  /** Waits until the screen matches; fails with what it shows otherwise. */
  async waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = await this.screen();
      if (pattern.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`the terminal never showed ${pattern}; it shows:\n${screen}`);
      await sleep(100);
    }
  }

  /**
   * Types a command again until the screen shows what it should: a resize
   * travels from the terminal to the process's own one (CLI, daemon, nerdctl,
   * the runtime) while the next line is typed.
   */
  async retype(command: string, expected: RegExp, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.line(command);
      try {
        await this.waitFor(expected, 1_000);
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
    }
  }

  /** Resizes the window (as a person resizing their terminal: the command gets SIGWINCH). */
  async resize(columns: number, rows: number): Promise<void> {
    await this.tmux(["resize-window", "-t", SESSION, "-x", String(columns), "-y", String(rows)]);
  }

  /** The command's exit status once it has ended; undefined while it runs. */
  async exitStatus(): Promise<number | undefined> {
    const shown = await this.tmux(["display-message", "-p", "-t", SESSION, "#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}:#{pane_pid}"]);
    const [dead, status, signal, pid] = shown.trim().split(":");
    if (dead === "1" && signal) return 128 + Number(signal);
    if (dead === "1" && status) return Number(status);
    // tmux at times takes seconds to reap a command that has ended: the kernel has its status already.
    return zombieStatus(Number(pid));
  }

  /** Waits for the command to end, and gives its exit status. */
  async exited(timeoutMs = 20_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.exitStatus();
      if (status !== undefined) return status;
      if (Date.now() > deadline) throw new Error(`the command did not end; the terminal shows:\n${await this.screen()}`);
      await sleep(100);
    }
  }

  /** Ends the terminal and whatever still runs in it. */
  async close(): Promise<void> {
    await this.tmux(["kill-server"]).catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The exit status of a process that has ended and is not reaped yet (a zombie); undefined for one still running. */
async function zombieStatus(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (!stat) return undefined;
  // After the command name (in parentheses, which may hold spaces): the state first, the wait status last.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).trim().split(" ");
  if (fields[0] !== "Z") return undefined;
  const wait = Number(fields.at(-1));
  return wait & 0x7f ? 128 + (wait & 0x7f) : (wait >> 8) & 0xff;
}
