// Where the package's calls go: the component's imports once `bifrost-build` made the
// workflow a component (`component.js` installs them), or a stand-in a test installs.

import { HostError } from "./errors.js";

let host = null;

/** Makes `h` the host every call of the package goes to; returns the one before. */
export function install(h) {
  const before = host;
  host = h;
  return before;
}

/** The installed host; outside a workflow component there is none. */
export function current() {
  if (host === null) {
    throw new HostError(
      "no host: the bifrost package answers inside a workflow component " +
        "(build the workflow with bifrost-build)",
    );
  }
  return host;
}
