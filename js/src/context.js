// The execution this workflow runs in and who runs it, as bound by the host.

import * as host from "./host.js";
import { typeName } from "./models.js";

/** The current execution's id; null outside an execution. */
export function executionId() {
  return host.current().executionId() ?? null;
}

/** The current workflow's name; null outside an execution. */
export function workflowName() {
  return host.current().workflowName() ?? null;
}

/** The execution that started the current one with `workflows`; null for one started from
 * outside, and outside an execution. */
export function parentExecutionId() {
  return host.current().parentExecutionId() ?? null;
}

/** Who this workflow runs as: `{ userId, userName, orgId, isPlatformAdmin }`. */
export function caller() {
  const c = host.current().caller();
  return {
    userId: c.userId,
    userName: c.userName,
    orgId: c.orgId ?? null,
    isPlatformAdmin: c.isPlatformAdmin,
  };
}

/**
 * Records a runtime variable on the current execution (any value `JSON.stringify` takes).
 * Throws `InvalidArgument` naming `name` if the name is empty, `NoExecutionContext` outside
 * an execution, `TooLarge` beyond the host's limit.
 */
export function setVariable(name, value) {
  if (typeof name !== "string") throw new TypeError(`a variable name is a string, not ${typeName(name)}`);
  host.current().setVariable(name, jsonText(value, `variable ${JSON.stringify(name)}`));
}

/** `value` as JSON text; a value JSON cannot hold is a `TypeError` naming `what`. */
export function jsonText(value, what) {
  let text;
  try {
    text = JSON.stringify(value === undefined ? null : value);
  } catch (e) {
    throw new TypeError(`${what} is not JSON-serialisable: ${e.message}`);
  }
  if (text === undefined) throw new TypeError(`${what} is not JSON-serialisable: ${typeName(value)}`);
  return text;
}
