import { HTTPError } from "h3";

/** What a failed engine call was about, for Docker's own wording. */
export interface ErrorSubject {
  kind?: "image" | "container" | "volume" | "network" | "exec";
  /** The name or id exactly as the client sent it. */
  name?: string;
}

/** An error with Docker's status code and `{"message": …}` body. */
export class DockerError extends HTTPError {
  constructor(status: number, message: string) {
    // h3 recognises its errors by name, so this keeps HTTPError's.
    super({ status, message });
  }
}

export const badParameter = (message: string) => new DockerError(400, message);
export const notFound = (message: string) => new DockerError(404, message);
export const conflict = (message: string) => new DockerError(409, message);
export const notImplemented = (message: string) => new DockerError(501, message);

/** Docker's 404 wording, which clients (compose, Testcontainers) match on. */
export function noSuch(kind: NonNullable<ErrorSubject["kind"]>, name: string): DockerError {
  switch (kind) {
    case "image":
      return notFound(`No such image: ${name}`);
    case "container":
      return notFound(`No such container: ${name}`);
    case "volume":
      return notFound(`get ${name}: no such volume`);
    case "network":
      return notFound(`network ${name} not found`);
    case "exec":
      return notFound(`No such exec instance: ${name}`);
  }
}

interface StderrRule {
  pattern: RegExp;
  toError(message: string, subject: ErrorSubject): DockerError;
}

/**
 * nerdctl's failures, by what its stderr says, to Docker's status codes.
 * The first matching rule wins; anything unmatched is a 500 carrying nerdctl's message.
 */
const STDERR_RULES: StderrRule[] = [
  {
    pattern: /no such (image|container|volume|network|object)|not found|does not exist|unable to find/i,
    toError: (message, subject) =>
      subject.kind && subject.name !== undefined ? noSuch(subject.kind, subject.name) : notFound(message),
  },
  {
    pattern: /already exists|already in use|name .* is already|conflict/i,
    toError: (message) => conflict(message),
  },
  {
    pattern: /is (being )?used by|in use|is running|cannot remove .* running/i,
    toError: (message) => conflict(message),
  },
  {
    pattern: /invalid reference format|invalid argument|unknown flag|invalid (name|value|filter)|must be/i,
    toError: (message) => badParameter(message),
  },
];

/** The human message inside nerdctl's logrus output (`level=fatal msg="…"`), or the stderr itself. */
export function nerdctlMessage(stderr: string): string {
  const lines = stderr.split("\n").filter((line) => line.trim() !== "");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    const quoted = /\blevel=(?:fatal|error)\b.*?\bmsg="((?:[^"\\]|\\.)*)"/.exec(line);
    if (quoted) return JSON.parse(`"${quoted[1]}"`) as string;
    const bare = /\blevel=(?:fatal|error)\b.*?\bmsg=(\S+)/.exec(line);
    if (bare) return bare[1]!;
    const prefixed = /^(?:FATA|ERRO)\[\d+\]\s*(.*)$/.exec(line);
    if (prefixed) return prefixed[1]!;
  }
  return lines.join("\n").trim() || "nerdctl failed without a message";
}

/** Maps a failed nerdctl call to the Docker error a client expects. */
export function errorFromStderr(stderr: string, subject: ErrorSubject = {}): DockerError {
  const message = nerdctlMessage(stderr);
  const rule = STDERR_RULES.find((candidate) => candidate.pattern.test(message));
  return rule ? rule.toError(message, subject) : new DockerError(500, message);
}
