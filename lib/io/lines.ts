/**
 * Splits a byte stream into lines (without their `\n`), reading only as lines
 * are consumed. A line longer than maxLine is cut there, so a child that never
 * prints a newline cannot make this hold unbounded text.
 */
export async function* readLines(source: AsyncIterable<Uint8Array | string>, maxLine = 1024 * 1024): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of source) {
    pending += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    let newline = pending.indexOf("\n");
    while (newline !== -1) {
      yield pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
    }
    while (pending.length > maxLine) {
      yield pending.slice(0, maxLine);
      pending = pending.slice(maxLine);
    }
  }
  pending += decoder.decode();
  if (pending) yield pending;
}
