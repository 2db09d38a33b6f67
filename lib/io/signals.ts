/** Runs `onGone` once if the signal aborts (the client went away); returns a function that stops listening. */
export function whenClientGone(signal: AbortSignal, onGone: () => void): () => void {
  if (signal.aborted) {
    onGone();
    return () => {};
  }
  signal.addEventListener("abort", onGone, { once: true });
  return () => signal.removeEventListener("abort", onGone);
}
