import { ApiError, badParameter, conflict, noSuch, notFound, systemError, unavailable, type ErrorSubject } from "../errors.ts";

interface StderrRule {
  pattern: RegExp;
  toError(message: string, subject: ErrorSubject): ApiError;
}

/**
 * nerdctl's failures, by what its stderr says, to Docker's status codes.
 * The first matching rule wins; anything unmatched is a 500 carrying nerdctl's message.
 */
const STDERR_RULES: StderrRule[] = [
  {
    // First: the engine is down (killed, restarting), whatever the call was about; the client may try again.
    pattern: /cannot access containerd socket|dial unix \S+: connect: (connection refused|no such file or directory)|rpc error: code = Unavailable/i,
    toError: (message) => unavailable(message),
  },
  {
    // Before the not-found rule: the task is missing because the container is stopped.
    pattern: /no running task found|is not running/i,
    toError: (message, subject) =>
      subject.kind === "container" && subject.name !== undefined ? conflict(`Container ${subject.name} is not running`) : conflict(message),
  },
  {
    pattern: /no such (image|container|volume|network|object)|not found|no network found|does not exist|unable to find|image not available/i,
    toError: (message, subject) =>
      subject.kind && subject.name !== undefined ? noSuch(subject.kind, subject.name) : notFound(message),
  },
  {
    pattern: /already exists|already in use|name .* is already|conflict/i,
    toError: (message) => conflict(message),
  },
  {
    pattern: /is (being )?used by|in use|is running|in running status|cannot remove .* running/i,
    toError: (message) => conflict(message),
  },
  {
    pattern: /invalid reference format|invalid argument|unknown flag|invalid (name|value|filter)|must be/i,
    toError: (message) => badParameter(message),
  },
];

/**
 * nerdctl is a Go program: on a bug it panics and prints the Go runtime's
 * trace (`panic: …` or `fatal error: …`, then `goroutine N [running]:` and
 * dozens of frames) instead of an error. The client gets one line; the trace
 * goes to the daemon's log.
 */
export class NerdctlCrash extends ApiError {
  constructor(reason: string, subject: ErrorSubject) {
    const about = subject.kind && subject.name !== undefined ? ` on ${subject.kind} ${subject.name}` : "";
    super("system", `nerdctl crashed${about}: ${reason}`);
  }
}

/** Where a crash happened: its reason and the crashing goroutine's first frame; undefined when stderr shows no crash. */
export function crashSite(stderr: string): { reason: string; frame: string } | undefined {
  const reason = /^(?:panic|fatal error): (.+)$/m.exec(stderr)?.[1];
  // By its source line: the frame's arguments are addresses that change.
  const frame = /^goroutine \d+ \[.*\]:\n.*\n\s+(\S+)/m.exec(stderr)?.[1];
  if (reason === undefined || frame === undefined) return undefined;
  return { reason: reason.trim(), frame };
}

/** The crash a failed call's stderr shows (its trace is logged where the call ran: crash-log.ts); undefined when nerdctl failed without crashing. */
export function crashIn(stderr: string, subject: ErrorSubject = {}): NerdctlCrash | undefined {
  const site = crashSite(stderr);
  return site && new NerdctlCrash(site.reason, subject);
}

/** The messages of nerdctl's logrus lines (`level=fatal msg="…"`), oldest first. */
function logMessages(stderr: string): { level: string; message: string }[] {
  const found: { level: string; message: string }[] = [];
  for (const line of stderr.split("\n")) {
    const quoted = /\blevel=(\w+)\b.*?\bmsg="((?:[^"\\]|\\.)*)"/.exec(line);
    const bare = quoted ? undefined : /\blevel=(\w+)\b.*?\bmsg=(\S+)/.exec(line);
    const prefixed = quoted || bare ? undefined : /^(FATA|ERRO|WARN)\[\d+\]\s*(.*)$/.exec(line);
    if (quoted) found.push({ level: quoted[1]!, message: JSON.parse(`"${quoted[2]}"`) as string });
    else if (bare) found.push({ level: bare[1]!, message: bare[2]! });
    else if (prefixed) found.push({ level: prefixed[1]!.toLowerCase(), message: prefixed[2]! });
  }
  return found;
}

/** nerdctl wraps single failures as "1 errors:\n<the error>". */
function unwrap(message: string): string {
  return message.replace(/^\d+ errors?:\n/, "").trim();
}

/** The message a client should see: a crash's one line, nerdctl's fatal error, else its last error, else the raw stderr. */
export function nerdctlMessage(stderr: string): string {
  const crash = crashIn(stderr);
  if (crash) return crash.message;
  const messages = logMessages(stderr);
  const chosen =
    messages.findLast((entry) => entry.level === "fatal" || entry.level === "fata") ??
    messages.findLast((entry) => entry.level === "error" || entry.level === "erro");
  if (chosen) return unwrap(chosen.message);
  return stderr.trim() || "nerdctl failed without a message";
}

/**
 * Maps a failed nerdctl call to the Docker error a client expects. Rules are
 * matched against everything nerdctl logged (a warning often says what the
 * fatal line does not, e.g. "not found" before "some volumes could not be
 * inspected"); the message is the fatal one.
 */
export function errorFromStderr(stderr: string, subject: ErrorSubject = {}): ApiError {
  const crash = crashIn(stderr, subject);
  if (crash) return crash;
  const message = nerdctlMessage(stderr);
  const logged = logMessages(stderr).map((entry) => unwrap(entry.message)).join("\n") || message;
  const rule = STDERR_RULES.find((candidate) => candidate.pattern.test(logged));
  return rule ? rule.toError(message, subject) : systemError(message);
}
