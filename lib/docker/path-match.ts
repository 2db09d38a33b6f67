import { badParameter } from "../errors.ts";

/**
 * Compiles a pattern of Go's path.Match, as the `reference` filter takes them
 * (reference.FamiliarMatch); an invalid one is a 400 (dockerd answers 500
 * "syntax error in pattern").
 */
export function compileGlob(pattern: string): RegExp {
  const bad = () => badParameter(`invalid filter 'reference=${pattern}': syntax error in pattern`);
  const chars = [...pattern];
  let source = "^";
  // Under the "u" flag only syntax characters may be escaped, and "-" only inside a class.
  const escape = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
  const escapeInClass = (c: string) => c.replace(/[\\\]\[^-]/g, "\\$&");
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === "*") {
      // A run of stars matches what one does.
      if (chars[i + 1] !== "*") source += "[^/]*";
    } else if (c === "?") source += "[^/]";
    else if (c === "\\") {
      i += 1;
      if (i >= chars.length) throw bad();
      source += escape(chars[i]!);
    } else if (c === "[") {
      i += 1;
      let negate = false;
      if (chars[i] === "^") {
        negate = true;
        i += 1;
      }
      let ranges = "";
      let count = 0;
      for (;;) {
        if (i >= chars.length) throw bad();
        if (chars[i] === "]" && count > 0) break;
        const escaped = (): string => {
          const ch = chars[i];
          if (ch === undefined || ch === "-" || ch === "]") throw bad();
          if (ch === "\\") {
            i += 1;
            if (i >= chars.length) throw bad();
          }
          const value = chars[i]!;
          i += 1;
          if (i >= chars.length) throw bad();
          return value;
        };
        const lo = escaped();
        if (chars[i] === "-") {
          i += 1;
          const hi = escaped();
          ranges += `${escapeInClass(lo)}-${escapeInClass(hi)}`;
        } else {
          ranges += escapeInClass(lo);
        }
        count += 1;
      }
      source += `[${negate ? "^" : ""}${ranges}]`;
    } else {
      source += escape(c);
    }
  }
  try {
    const compiled = new RegExp(`${source}$`, "u");
    // V8 compiles on first use: a pattern too large to compile fails here, not in a later match.
    compiled.test("");
    return compiled;
  } catch {
    // A range Go accepts but a RegExp does not (lo > hi) matches nothing in Go; nor does a
    // pattern too large for a RegExp, which is far longer than any image name it could match.
    return /(?!)/;
  }
}
