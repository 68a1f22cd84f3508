// The workflow entry point: the module's default export (or the export `bifrost-build
// --export NAME` names), an async (or plain) function of the execution's input.
//
//     export default async function report({ days = 1 }) {
//       const failed = await executions.list({ status: "Failed", limit: 100 });
//       return { failed: failed.length };
//     }
//
// The input is the execution's input as JSON parsed (`{}` when there is none); what the
// function returns (or its promise resolves to), through `JSON.stringify`, is the
// execution's result (`undefined` is `null`). An exception it does not catch, or a promise
// that rejects, ends the execution `Failed` with the error message `Name: message`, and the
// error with its stack is logged as one ERROR line.

import { describeError } from "./logging.js";

/** The execution failed; `message` becomes its error message. */
export class Failure extends Error {
  constructor(message) {
    super(message);
    this.name = "Failure";
  }
}

/**
 * The component's `run`: the workflow `module[exportName]` on the input text; the result
 * as JSON text, or a `Failure`. `logError(text)` writes the ERROR line of an uncaught error.
 */
export function makeRun(module, exportName, source, logError) {
  return async function run(inputText) {
    const entry = module[exportName];
    if (typeof entry !== "function") {
      const what = exportName === "default" ? "no default export" : `no export ${JSON.stringify(exportName)}`;
      throw new Failure(`no workflow: ${source} has ${what} that is a function`);
    }
    let input = {};
    if (inputText.trim() !== "") {
      try {
        input = JSON.parse(inputText);
      } catch (e) {
        throw new Failure(`the input is not JSON: ${e.message}`);
      }
    }
    let outcome;
    try {
      outcome = await entry(input);
    } catch (e) {
      logError(describeError(e, true));
      throw new Failure(describeError(e));
    }
    let text;
    try {
      text = JSON.stringify(outcome === undefined ? null : outcome);
    } catch (e) {
      throw new Failure(`TypeError: the workflow's result is not JSON-serialisable: ${e.message}`);
    }
    if (text === undefined) {
      throw new Failure(`TypeError: the workflow's result is not JSON-serialisable: it is a ${typeof outcome}`);
    }
    return text;
  };
}
