/**
 * The answers of the container archive endpoints: the path's stat in
 * X-Docker-Container-Path-Stat, alone (HEAD) or with the tar (GET), which
 * goes out compressed when the client's Accept-Encoding asks, as dockerd's does.
 */
import type { Readable } from "node:stream";
import { pipeline } from "node:stream";
import { createDeflateRaw, createGzip } from "node:zlib";
import type { HTTPResponse } from "h3";
import { archiveEncoding, encodePathStat, PATH_STAT_HEADER, type ContainerPathStat } from "../docker/container-archive.ts";
import type { ContainerArchive } from "../service/container-archive.ts";
import { binaryResponse } from "./streams.ts";

/** HEAD: the stat header and no body. */
export function pathStatResponse(stat: ContainerPathStat): Response {
  return new Response(null, { status: 200, headers: { [PATH_STAT_HEADER]: encodePathStat(stat) } });
}

/** GET: the stat header and the tar (gzip or raw deflate when negotiated, as Go's flate writes it). */
export function archiveResponse(archive: ContainerArchive, acceptEncoding: string | undefined): Response | HTTPResponse {
  const encoding = archiveEncoding(acceptEncoding);
  let body: Readable = archive.tar;
  if (encoding) {
    const compressor = encoding === "gzip" ? createGzip() : createDeflateRaw();
    body = pipeline(archive.tar, compressor, () => {});
  }
  const response = binaryResponse(body, "application/x-tar", archive.stop);
  response.headers.set(PATH_STAT_HEADER, encodePathStat(archive.stat));
  if (encoding) response.headers.set("Content-Encoding", encoding);
  return response;
}
