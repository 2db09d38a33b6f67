import { defineHandler } from "h3";

// containerd has no Docker engine plugins: the list is always empty, as on a dockerd without any.
export default defineHandler(() => []);
