import { defineRoute } from "../../lib/server/route.ts";
import { buildkitControl } from "../../lib/service/buildkit.ts";

export default defineRoute((request) => request.switchProtocols("h2c", () => buildkitControl(request.scope)));
