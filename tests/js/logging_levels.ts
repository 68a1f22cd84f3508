// console and log arrive with their levels and metadata; an uncaught error (or a thrown
// value that is no Error) fails the execution with `Name: message` and its stack logged.
// Written in TypeScript, so that a TypeScript workflow is built and run by the tests.

import { log } from "bifrost";

interface Input {
  fail?: boolean;
  throwText?: boolean;
  reject?: boolean;
}

function lookup(table: Record<string, number>, key: string): number {
  const value = table[key];
  if (value === undefined) throw new ReferenceError(`no ${key}`);
  return value;
}

export default async function loggingLevels(input: Input): Promise<string> {
  console.debug("debug line");
  console.info("synced", { rows: 42, tags: ["a", "b"] });
  console.warn("careful now");
  console.error("bad");
  log("CRITICAL", "worse", { code: 7 });
  try {
    lookup({}, "missing");
  } catch (e) {
    console.error("lookup failed", e);
  }
  console.log("printed");
  console.info("count", 3);
  if (input.fail) throw new RangeError("the input has no name");
  if (input.throwText) throw "plain text";
  if (input.reject) await Promise.reject(new TypeError("rejected"));
  return "done";
}
