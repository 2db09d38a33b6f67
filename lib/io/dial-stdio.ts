import { connect } from "node:net";
import type { Readable, Writable } from "node:stream";

/**
 * What `docker system dial-stdio` does, for the docker CLI's ssh:// hosts:
 * input's bytes go to the unix socket at path and the socket's to output,
 * with back-pressure both ways. The end of input half-closes the connection
 * (the daemon still answers); settles when the daemon's side has ended.
 */
export function dialStdio(path: string, input: Readable, output: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.on("error", reject);
    socket.once("connect", () => {
      input.pipe(socket);
      socket.pipe(output);
      output.once("error", () => socket.destroy());
      socket.once("end", () => {
        input.unpipe(socket);
        // Nothing more is read from input: a terminal or ssh channel left open must not keep the command alive.
        input.pause();
        resolve();
      });
    });
  });
}

/** The socket path of a unix:// (or bare path) host. */
export function unixSocketPath(host: string): string | undefined {
  if (host.startsWith("unix://")) return host.slice("unix://".length);
  return host.startsWith("/") ? host : undefined;
}
