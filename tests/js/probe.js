// The conformance probe in JavaScript: the Rust probe's protocol (tests/protocol), answered
// through the `bifrost` package as a JavaScript author would call it.
//
// The input is `{ calls: [...], nul: marker? }`; the result one answer per call,
// `{ ok: value }` or `{ err: { kind, parameter, message } }`, in the JSON the Rust probe
// writes (its snake_case field names, times in the host's text), so that the tests compare
// the two answer for answer.

import { ExecutionsError, context, executions, log } from "bifrost";

function withNul(value, marker) {
  if (typeof value === "string") return value.replaceAll(marker, "\0");
  if (Array.isArray(value)) return value.map((v) => withNul(v, marker));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replaceAll(marker, "\0"), withNul(v, marker)]));
  }
  return value;
}

const snake = (name) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** An execution or log entry as the Rust probe writes it: its fields in snake_case (the
 * payloads inside them as they are), times as the host's text. */
function plain(value) {
  if (Array.isArray(value)) return value.map(plain);
  const out = {};
  for (const [key, v] of Object.entries(value)) {
    out[snake(key)] = key === "logs" && v !== null ? v.map(plain) : v instanceof Date ? v.toJSON() : v;
  }
  return out;
}

function err(e) {
  return { err: { kind: e.kind, parameter: e.parameter ?? null, message: e.message } };
}

function listOptions(call, sizeName) {
  const options = {};
  for (const [from, to] of [
    ["workflow_name", "workflowName"],
    ["status", "status"],
    ["start_date", "startDate"],
    ["end_date", "endDate"],
  ]) {
    if (from in call) options[to] = call[from];
  }
  if ("limit" in call) options[sizeName] = call.limit;
  return options;
}

async function answer(call) {
  try {
    switch (call.op) {
      case "list":
        return { ok: plain(await executions.list(listOptions(call, "limit"))) };
      case "list_all": {
        const found = [];
        for await (const page of executions.pages(listOptions(call, "pageSize"))) found.push(...page);
        return { ok: plain(found) };
      }
      case "get":
        return { ok: plain(await executions.get(call.id)) };
      case "logs": {
        const options = {};
        if ("execution_id" in call) options.executionId = call.execution_id;
        if ("start" in call) options.start = call.start;
        if ("count" in call) options.count = call.count;
        return { ok: plain(await executions.getCurrentLogs(options)) };
      }
      case "read_all_logs": {
        const options = { executionId: call.execution_id };
        if ("count" in call) options.pageSize = call.count;
        const entries = [];
        for await (const entry of executions.logEntries(options)) entries.push(entry);
        return { ok: plain(entries) };
      }
      case "log":
        log(call.level, call.message, call.metadata);
        return { ok: null };
      case "context": {
        const caller = context.caller();
        return {
          ok: {
            execution_id: context.executionId(),
            workflow_name: context.workflowName(),
            user_id: caller.userId,
            user_name: caller.userName,
            org_id: caller.orgId,
            is_platform_admin: caller.isPlatformAdmin,
          },
        };
      }
      case "set_variable":
        context.setVariable(call.name, call.value);
        return { ok: null };
      case "print":
        console.log(call.text);
        return { ok: null };
      case "fail":
        throw new Error(call.message);
    }
  } catch (e) {
    if (e instanceof ExecutionsError) return err(e);
    throw e;
  }
  throw new TypeError(`bad call: the JavaScript probe does not make ${JSON.stringify(call.op)} calls`);
}

export default async function probe({ calls, nul }) {
  if (nul != null) calls = calls.map((c) => withNul(c, nul));
  const answers = [];
  for (const call of calls) answers.push(await answer(call));
  return answers;
}
