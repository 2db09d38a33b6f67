import { defineHandler } from "h3";
import { toChanges } from "../../../../lib/docker/containers.ts";
import { changes } from "../../../../lib/nerdctl/containers.ts";
import { useNerdctl, useParam } from "../../../../lib/server/context.ts";

export default defineHandler(async (event) => toChanges(await changes(useNerdctl(event), useParam(event, "id"))));
