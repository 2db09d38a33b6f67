import { describe, expect, it } from "vitest";
import { Normalizer } from "./fixture.ts";

describe("Normalizer", () => {
  const containerId = "760145ab60384cd35bc0c3effde9a8b26844fe3e76a04f4184a5cba6dc279739";
  const imageId = "a22432b839e8442bf4ea3e1680b910a0085746811f7ccb29b35c4cebdae37b48";

  it("gives volatile ids one stand-in everywhere, full and short", () => {
    const normalizer = new Normalizer({ stableIds: [imageId] });
    const full = normalizer.text(`container ${containerId} uses sha256:${imageId}`);
    const short = normalizer.text(`CONTAINER ${containerId.slice(0, 12)}`);
    const standIn = /container ([0-9a-f]{64})/.exec(full)![1]!;
    expect(standIn).not.toBe(containerId);
    expect(full).toContain(`sha256:${imageId}`);
    expect(short).toBe(`CONTAINER ${standIn.slice(0, 12)}`);
  });

  it("replaces temp paths and clock readings", () => {
    const normalizer = new Normalizer({ paths: { "/tmp/nfx-abc": "/tmp/nerdctld-fixture" } });
    expect(normalizer.text('time="2026-11-23T06:06:00Z" level=fatal msg="open /tmp/nfx-abc/x"')).toBe(
      'time="2026-01-01T00:00:00Z" level=fatal msg="open /tmp/nerdctld-fixture/x"',
    );
    expect(normalizer.text('{"SystemTime":"2026-11-23T05:51:48.803461192Z"}')).toBe('{"SystemTime":"2026-01-01T00:00:00Z"}');
  });
});
