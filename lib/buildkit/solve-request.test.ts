import { describe, expect, it } from "vitest";
import { frameMessage, MessageSplitter } from "./grpc-messages.ts";
import { lengthDelimited, mapEntries, mapEntry, readFields, stringField } from "./protobuf.ts";
import { exportToContainerd } from "./solve-request.ts";

const exporter = (type: string, attrs: [string, string][]) =>
  lengthDelimited(13, Buffer.concat([lengthDelimited(1, type), ...attrs.map(([key, value]) => mapEntry(2, key, value))]));

function exporters(request: Buffer): { type: string | undefined; attrs: Record<string, string> }[] {
  return readFields(request)
    .filter((field) => field.number === 13)
    .map((field) => readFields(field.payload!))
    .map((fields) => ({ type: stringField(fields, 1), attrs: Object.fromEntries(mapEntries(fields, 2)) }));
}

describe("exportToContainerd", () => {
  it("keeps an untagged build as a dangling image, as dockerd does", () => {
    const request = Buffer.concat([lengthDelimited(1, "ref"), exporter("moby", [["prefer-image-digest", "true"]])]);
    expect(exporters(exportToContainerd(request))).toEqual([
      { type: "image", attrs: { "prefer-image-digest": "true", unpack: "true", "dangling-name-prefix": "<none>" } },
    ]);
  });

  it("keeps what the client set itself, and leaves a name that is no reference for buildkitd to refuse", () => {
    const request = exporter("moby", [["name", "Not A Reference"], ["unpack", "false"]]);
    expect(exporters(exportToContainerd(request))).toEqual([{ type: "image", attrs: { name: "Not A Reference", unpack: "false" } }]);
  });

  it("changes the deprecated single exporter too, and its attributes", () => {
    const request = Buffer.concat([lengthDelimited(3, "moby"), mapEntry(4, "name", "app"), exporter("moby", [["name", "app"]])]);
    const fields = readFields(exportToContainerd(request));
    expect(stringField(fields, 3)).toBe("image");
    expect(Object.fromEntries(mapEntries(fields, 4))).toEqual({ name: "docker.io/library/app:latest", unpack: "true" });
  });

  it("leaves a request without dockerd's exporter byte for byte", () => {
    const request = Buffer.concat([lengthDelimited(1, "ref"), exporter("local", [["dest", "/out"]]), lengthDelimited(5, "session")]);
    expect(exportToContainerd(request)).toBe(request);
  });
});

describe("MessageSplitter", () => {
  it("gives each gRPC message whole, however the bytes were cut", async () => {
    const bytes = Buffer.concat([frameMessage(Buffer.from("one")), frameMessage(Buffer.alloc(0)), frameMessage(Buffer.from("three"))]);
    const splitter = new MessageSplitter(1024);
    for (let i = 0; i < bytes.length; i += 2) splitter.write(bytes.subarray(i, i + 2));
    splitter.end();
    const messages: string[] = [];
    for await (const message of splitter as AsyncIterable<Buffer>) messages.push(message.toString());
    expect(messages).toEqual(["one", "", "three"]);
  });

  it("fails the stream on a message over its limit, or compressed", async () => {
    const over = new MessageSplitter(4);
    over.end(frameMessage(Buffer.from("too long")));
    await expect(over.toArray()).rejects.toThrow(/over the 4-byte limit/);
    const compressed = frameMessage(Buffer.from("x"));
    compressed[0] = 1;
    const refusing = new MessageSplitter(1024);
    refusing.end(compressed);
    await expect(refusing.toArray()).rejects.toThrow(/compressed/);
  });
});
