import { unsupported } from "../../../../lib/server/unsupported.ts";

export default unsupported(
  "nerdctl 2.3 cannot attach a running or created container to another network (it has no `network connect`/`disconnect`); give the networks when creating the container",
);
