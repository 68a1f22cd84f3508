// What a built workflow component runs first: the host's imports behind the package's
// calls, `console` into the execution's log, and the `run` export around the workflow.
// Only `bifrost-build` imports this module (from the entry module it generates); the
// `bifrost:executions/...` imports exist only inside the component.

import * as witExecutions from "bifrost:executions/executions@0.3.0";
import * as witLogging from "bifrost:executions/logging@0.3.0";
import * as witContext from "bifrost:executions/context@0.3.0";
import * as witWorkflows from "bifrost:executions/workflows@0.3.0";
import * as host from "./host.js";
import { fromHost } from "./errors.js";
import { describeError, installConsole } from "./logging.js";
import { Failure, makeRun } from "./run.js";

/** `f(...args)`, with the host's error (thrown by the bindings as a `ComponentError` whose
 * `payload` is the WIT `error` case) thrown as the package's error. */
function call(f, ...args) {
  try {
    return f(...args);
  } catch (e) {
    if (e !== null && typeof e === "object" && "payload" in e) throw fromHost(e.payload);
    throw e;
  }
}

const witHost = {
  list: (filter) => call(witExecutions.list, filter),
  listPage: (filter, cursor) => call(witExecutions.listPage, filter, cursor),
  get: (id) => call(witExecutions.get, id),
  getCurrentLogs: (id, start, count) => call(witExecutions.getCurrentLogs, id, start, count),
  log: (level, message, metadata) => call(witLogging.log, level, message, metadata),
  executionId: () => witContext.executionId(),
  workflowName: () => witContext.workflowName(),
  parentExecutionId: () => witContext.parentExecutionId(),
  caller: () => witContext.caller(),
  setVariable: (name, value) => call(witContext.setVariable, name, value),
  execute: (name, input) => call(witWorkflows.execute, name, input),
  start: (name, input) => call(witWorkflows.start, name, input),
  wait: (id, timeoutMs) => call(witWorkflows.wait, id, timeoutMs),
  workflows: () => call(witWorkflows.list),
};

host.install(witHost);
const stderr = console.error.bind(console);
installConsole(console, stderr);

/** The `run` export of the workflow `module[exportName]` (see `run.js`). The bindings take
 * a thrown value as the `result`'s error: the error message, as text. */
export function workflowRun(module, exportName, source) {
  const run = makeRun(module, exportName, source, (text) => {
    try {
      call(witLogging.log, "error", text, undefined);
    } catch {
      stderr(text);
    }
  });
  return async function runExport(input) {
    try {
      return await run(input);
    } catch (e) {
      throw e instanceof Failure ? e.message : describeError(e);
    }
  };
}
