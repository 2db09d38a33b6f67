import { frameMessage, MessageSplitter } from "./grpc-messages.ts";
import { buildkitSession, grpcRequestHeaders, grpcStatus, type Dial } from "./http2-relay.ts";
import { mapEntries, readFields } from "./protobuf.ts";

/** Control.ListWorkers: each worker's labels (ListWorkersResponse.record = 1, WorkerRecord.Labels = 2). */
const LIST_WORKERS = "/moby.buildkit.v1.Control/ListWorkers";
const RECORD = 1;
const LABELS = 2;
const MAX_RESPONSE_BYTES = 1 << 20;

/** The labels buildkit's containerd worker carries. */
export const WORKER_EXECUTOR = "org.mobyproject.buildkit.worker.executor";
export const WORKER_NAMESPACE = "org.mobyproject.buildkit.worker.containerd.namespace";

/** buildkitd's workers, by their labels; rejects when it does not answer within the signal's time. */
export async function listWorkerLabels(dial: Dial, signal: AbortSignal): Promise<Record<string, string>[]> {
  const session = buildkitSession(dial);
  try {
    const call = session.request(grpcRequestHeaders(LIST_WORKERS), { signal });
    call.end(frameMessage(Buffer.alloc(0)));
    let status: { code: number; message: string } | undefined;
    call.on("response", (headers) => (status ??= grpcStatus(headers)));
    call.on("trailers", (trailers) => (status ??= grpcStatus(trailers)));
    const splitter = new MessageSplitter(MAX_RESPONSE_BYTES);
    call.on("error", (error) => splitter.destroy(error));
    const messages: Buffer[] = [];
    for await (const message of call.pipe(splitter) as AsyncIterable<Buffer>) messages.push(message);
    if (status?.code !== 0) throw new Error(`buildkitd: ListWorkers failed: ${status?.message ?? "no status"}`);
    return messages.flatMap((message) =>
      readFields(message)
        .filter((field) => field.number === RECORD && field.payload)
        .map((field) => Object.fromEntries(mapEntries(readFields(field.payload!), LABELS))),
    );
  } finally {
    session.destroy();
  }
}
