/**
 * `WWW-Authenticate` challenges (RFC 7235), as registries send them:
 * `Bearer realm="https://auth.docker.io/token",service="registry.docker.io"`
 * or `Basic realm="Registry Realm"`, possibly several in one header.
 */
export interface Challenge {
  /** Lower case: `bearer`, `basic`. */
  scheme: string;
  /** Parameter names in lower case. */
  parameters: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

/** Parses every challenge in a WWW-Authenticate value; what cannot be read is skipped. */
export function parseChallenges(header: string | null | undefined): Challenge[] {
  const challenges: Challenge[] = [];
  if (!header) return challenges;
  let rest = header.slice(0, 8192);
  let current: Challenge | undefined;
  while (rest.length > 0) {
    rest = rest.replace(/^[\s,]+/, "");
    const name = TOKEN.exec(rest)?.[0];
    if (!name) break;
    const after = rest.slice(name.length);
    const parameter = /^\s*=\s*/.exec(after);
    if (parameter && current) {
      rest = after.slice(parameter[0].length);
      let value: string;
      if (rest.startsWith('"')) {
        let end = 1;
        value = "";
        while (end < rest.length && rest[end] !== '"') {
          if (rest[end] === "\\" && end + 1 < rest.length) end++;
          value += rest[end];
          end++;
        }
        rest = rest.slice(end + 1);
      } else {
        // Leniently: up to the next comma or space (realms are often sent unquoted).
        value = /^[^\s,]*/.exec(rest)![0];
        rest = rest.slice(value.length);
      }
      current.parameters[name.toLowerCase()] = value;
      continue;
    }
    // A new challenge: `scheme` followed by parameters (or a token68, ignored).
    current = { scheme: name.toLowerCase(), parameters: {} };
    challenges.push(current);
    rest = after;
    const token68 = /^\s+[A-Za-z0-9\-._~+/]+=*\s*(?:,|$)/.exec(rest);
    if (token68 && !/=\s*[^=\s,]/.test(token68[0])) rest = rest.slice(token68[0].length);
  }
  return challenges;
}
