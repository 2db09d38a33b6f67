/**
 * Builds (POST /build, the classic builder API) and build cache pruning, driven
 * through the daemon's own routes so the fixtures hold exactly the argv the
 * handlers build. Each build gets a fixed directory name under the recording's
 * work dir (normalised to /tmp/nerdctld-fixture), so recorded argv is stable;
 * the route tests (lib/server/build-routes.test.ts) send the same contexts.
 * The images built (fixture/app:*) stay in the engine: this scenario is last.
 */
import { packTar, type TarEntry } from "../../lib/archive/tar-writer.ts";
import { buildDirectories } from "../../lib/archive/build-context.ts";
import type { Scenario } from "../fixture-scenarios.ts";

const file = (name: string, content: string, mode = 0o644): TarEntry => ({ type: "file", name, mode, content: Buffer.from(content) });

/** A two-stage build with an ARG, a LABEL and a COPY; `sub/Dockerfile.alt` builds only the first stage. */
export const APP_CONTEXT: TarEntry[] = [
  file(
    "Dockerfile",
    [
      "FROM busybox AS base",
      "ARG GREETING=hi",
      'RUN echo "$GREETING" > /greeting',
      "LABEL stage=base",
      "",
      "FROM base AS final",
      "COPY hello.txt /hello.txt",
      'CMD ["cat", "/greeting"]',
      "",
    ].join("\n"),
  ),
  file("hello.txt", "hello from the build context\n"),
  { type: "directory", name: "sub" },
  file("sub/Dockerfile.alt", "FROM busybox\nRUN echo alt > /alt\n"),
];

/** A build whose RUN step fails with exit code 3. */
export const FAILING_CONTEXT: TarEntry[] = [file("Dockerfile", "FROM busybox\nRUN echo boom && exit 3\n")];

export async function tarOf(entries: TarEntry[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of packTar(entries)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Query strings of the recorded builds, by the directory name each gets. */
export const BUILD_REQUESTS = {
  success: `t=fixture/app:v1&t=fixture/app:extra&buildargs=${encodeURIComponent('{"GREETING":"howdy","UNSET":null}')}&labels=${encodeURIComponent('{"org.example.kind":"fixture"}')}&target=final&rm=1&forcerm=1&shmsize=67108864&cachefrom=${encodeURIComponent('["busybox"]')}&version=1`,
  quiet: "t=fixture/app:quiet&q=1&dockerfile=sub/Dockerfile.alt",
  failure: "t=fixture/failing",
  k8s: "t=fixture/app:k8s&nocache=1",
} as const;

export const BUILD_PRUNE_REQUESTS = [
  `filters=${encodeURIComponent('{"until":{"24h":true},"type":{"regular":true}}')}&keep-storage=10000000`,
  "all=1",
] as const;

let work: string | undefined;

export const BUILD_SCENARIOS: Scenario[] = [
  {
    name: "build",
    async prepare(_nerdctl, workDir) {
      work = workDir;
    },
    async record(_nerdctl, _runner, request) {
      if (!work) throw new Error("build scenario: prepare() did not run");
      const saved = { ...buildDirectories };
      buildDirectories.parent = () => work!;
      const post = async (name: keyof typeof BUILD_REQUESTS, context: TarEntry[], headers: Record<string, string> = {}) => {
        buildDirectories.uniqueName = () => name;
        const response = await request(`/v1.43/build?${BUILD_REQUESTS[name]}`, {
          method: "POST",
          headers: { "Content-Type": "application/x-tar", ...headers },
          body: new Uint8Array(await tarOf(context)),
        });
        const text = await response.text();
        if (response.status !== 200) throw new Error(`build ${name}: ${response.status} ${text}`);
      };
      try {
        await post("success", APP_CONTEXT);
        await post("quiet", APP_CONTEXT);
        await post("failure", FAILING_CONTEXT);
        await post("k8s", APP_CONTEXT, { "X-Containerd-Namespace": "k8s.io" });
        for (const query of BUILD_PRUNE_REQUESTS) {
          const response = await request(`/v1.43/build/prune?${query}`, { method: "POST" });
          if (response.status !== 200) throw new Error(`build prune ${query}: ${response.status} ${await response.text()}`);
        }
      } finally {
        Object.assign(buildDirectories, saved);
      }
    },
  },
];
