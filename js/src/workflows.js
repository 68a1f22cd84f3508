// Start deployed workflows from a workflow, with the reference SDK's names:
//
//     import { workflows } from "bifrost";
//     const result = await workflows.execute("process_order", { order_id: "12345" });
//     const deployed = await workflows.list();
//     const child = await workflows.get(executionId);
//
// and `start` / `wait` for children that run side by side. Every child is an execution of
// its own: its own id, its record (whose `parentExecutionId` is this execution), its own
// logs and limits. It runs as this workflow's caller (same user, organisation and admin
// flag; never more), so it sees what the parent sees; it can read the parent's log so far
// with `executions.getCurrentLogs({ executionId: context.parentExecutionId() })`.
//
// Errors: `WorkflowNotFound` for a workflow that is not deployed; `ChildExecutionFailed`,
// naming the child's id, status and error, when `execute`'s child did not succeed;
// `LimitReached` past the host's depth or children limit.

import * as host from "./host.js";
import * as executions from "./executions.js";
import { ChildExecutionFailed, ExecutionNotFound, WorkflowNotFound } from "./errors.js";
import { executionFromRecord, typeName, workflowInfoFromRecord } from "./models.js";
import { jsonText } from "./context.js";

/** Runs the deployed workflow `workflowName` with `parameters` (any JSON value; none is
 * `{}`) as a child of this execution, waits for it, and returns its result. */
export async function execute(workflowName, parameters) {
  const name = nameOf(workflowName);
  const input = inputOf(parameters);
  const child = executionFromRecord(named(name, (h) => h.execute(name, input)));
  if (child.status !== "Success") throw new ChildExecutionFailed(child);
  return child.result;
}

/** Starts the deployed workflow as `execute` does, without waiting; the child's id. */
export async function start(workflowName, parameters) {
  const name = nameOf(workflowName);
  const input = inputOf(parameters);
  return named(name, (h) => h.start(name, input));
}

/**
 * Waits for a child this execution started, at most `timeoutMs` milliseconds (none: until
 * it ends), and returns its record whatever its status: still `Pending` or `Running` if the
 * time ran out first. Throws `ExecutionNotFound` for an id that is no child of this one.
 */
export async function wait(executionId, { timeoutMs } = {}) {
  const id = executions.idText(executionId, "executionId");
  let timeout;
  if (timeoutMs != null && timeoutMs !== Infinity) {
    if (typeof timeoutMs !== "number" || !(timeoutMs >= 0)) {
      throw new TypeError(`timeoutMs is a number of milliseconds, at least 0, not ${String(timeoutMs)}`);
    }
    timeout = BigInt(Math.min(Math.floor(timeoutMs), Number.MAX_SAFE_INTEGER));
  }
  return executionFromRecord(host.current().wait(id, timeout));
}

/** The deployed workflows, by name: `{ name, version, deployedAt }`. */
export async function list() {
  return host.current().workflows().map(workflowInfoFromRecord);
}

/** An execution by id: `executions.get`, for a child or any execution the caller sees. */
export async function get(executionId) {
  return executions.get(executionId);
}

function nameOf(workflowName) {
  if (typeof workflowName !== "string") {
    throw new TypeError(`workflowName must be a string, not ${typeName(workflowName)}`);
  }
  return workflowName;
}

function inputOf(parameters) {
  return jsonText(parameters == null ? {} : parameters, "parameters");
}

/** `call(host)`, with the host's `not-found` (the workflow) thrown as `WorkflowNotFound`. */
function named(workflowName, call) {
  try {
    return call(host.current());
  } catch (e) {
    if (e instanceof ExecutionNotFound) throw new WorkflowNotFound(workflowName);
    throw e;
  }
}
