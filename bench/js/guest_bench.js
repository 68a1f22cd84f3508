// The benchmarks' JavaScript workflow: repeats one executions call `n` times through the
// `bifrost` npm package, as `tests/programs/src/bench.rs` does through the Rust crate (same
// input, same result shape). `get_raw` and `list_raw` (limit 50) call the component's
// imports directly, as the Rust program's ops of those names do: the boundary and the
// bindings' own conversion, without the package's mapping into its plain objects.

import { executions } from "bifrost";
import * as raw from "bifrost:executions/executions@0.3.0";

export default async function guestBench({ op, n, id, limit = 50 }) {
  let items = 0;
  if (op === "get") {
    for (let i = 0; i < n; i++) {
      const e = await executions.get(id);
      items += e.executionId ? 1 : 0;
    }
  } else if (op === "get_raw") {
    for (let i = 0; i < n; i++) items += raw.get(id).executionId ? 1 : 0;
  } else if (op === "list") {
    for (let i = 0; i < n; i++) items += (await executions.list({ limit })).length;
  } else if (op === "list_raw") {
    for (let i = 0; i < n; i++) items += raw.list({ limit: 50 }).length;
  } else {
    throw new RangeError(`unknown op ${JSON.stringify(op)}`);
  }
  return { calls: n, items };
}
