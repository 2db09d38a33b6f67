import { statSync, watch, type FSWatcher } from "node:fs";
import { dirname, resolve } from "node:path";

/**
 * Directories whose entries are one kind of a namespace's objects (volumes,
 * network configurations), watched (inotify) so that a change made outside
 * nerdctld is known at once. Only entries are watched, not what is inside
 * them: nerdctl writes an object's files under a lock its listing takes too,
 * so a listing started by the entry's creation reads it whole.
 *
 * Not watching until start() succeeds. A directory that does not exist yet
 * (nerdctl makes it at its first listing) leaves it not watching, to be tried
 * again; anything else — a directory that still is not there after a
 * listing, no permission, no inotify watch left, a listing that names files
 * elsewhere — gives up for good, said once in the log.
 */
export class DirectoryWatch {
  #watchers: FSWatcher[] = [];
  /** Each watched directory's inode: the same path made anew is not watched any more. */
  #inodes = new Map<string, number>();
  #gaveUp = false;

  constructor(
    /** The directories; may throw (e.g. while the engine's socket is not there), which counts as missing. */
    private readonly directories: () => readonly string[],
    private readonly onChange: () => void,
    /** Told, once, why it gave up. */
    private readonly log: (reason: string) => void,
  ) {}

  get watching(): boolean {
    return this.#watchers.length > 0;
  }

  /**
   * Watches the directories unless it does already or gave up. `last`: the
   * directories should exist by now, and if one does not, giving up.
   */
  start(last: boolean): void {
    if (this.watching || this.#gaveUp) return;
    try {
      for (const directory of this.directories().map((path) => resolve(path))) {
        const watcher = watch(directory, { persistent: false }, () => this.#changed());
        watcher.on("error", (error) => {
          // What changed since the last event is not known.
          this.#giveUp(`watching ${directory}: ${error.message}`);
          this.onChange();
        });
        this.#watchers.push(watcher);
        this.#inodes.set(directory, statSync(directory).ino);
      }
    } catch (error) {
      this.#close();
      const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
      if (!missing || last) this.#giveUp((error as Error).message);
    }
  }

  /** Gives up unless every file of a listing is in one of the watched directories' entries. */
  confirm(files: readonly string[]): void {
    if (!this.watching) return;
    const elsewhere = files.map((file) => dirname(resolve(file))).find((directory) => !this.#inodes.has(directory));
    if (elsewhere !== undefined) this.#giveUp(`nerdctl lists them in ${elsewhere}, not in ${[...this.#inodes.keys()].join(", ")}`);
  }

  #giveUp(reason: string): void {
    if (this.#gaveUp) return;
    this.#gaveUp = true;
    this.#close();
    this.log(reason);
  }

  #changed(): void {
    // A watched directory removed (or made anew) tells nothing more: watch again at the next listing.
    for (const [directory, inode] of this.#inodes) {
      if (inodeOf(directory) !== inode) {
        this.#close();
        break;
      }
    }
    this.onChange();
  }

  #close(): void {
    for (const watcher of this.#watchers) watcher.close();
    this.#watchers = [];
    this.#inodes.clear();
  }
}

function inodeOf(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}
