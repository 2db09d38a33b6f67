import { defineRoute } from "../../lib/server/route.ts";

// containerd has no Docker engine plugins: the list is always empty, as on a dockerd without any.
export default defineRoute(() => []);
