// The benchmarks' JavaScript workflow: repeats one executions call `n` times through the
// `bifrost` npm package, as `tests/programs/src/bench.rs` does through the Rust crate (same
// input, same result shape).

import { executions } from "bifrost";

export default async function guestBench({ op, n, id, limit = 50 }) {
  let items = 0;
  if (op === "get") {
    for (let i = 0; i < n; i++) {
      const e = await executions.get(id);
      items += e.executionId ? 1 : 0;
    }
  } else if (op === "list") {
    for (let i = 0; i < n; i++) items += (await executions.list({ limit })).length;
  } else {
    throw new RangeError(`unknown op ${JSON.stringify(op)}`);
  }
  return { calls: n, items };
}
