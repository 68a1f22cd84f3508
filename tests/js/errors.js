// Which error each failing call throws, as a JavaScript author sees it: the package's
// classes (`instanceof`), their `kind`, `parameter`, `retryable` and message; a wrong type
// of argument is a plain TypeError.

import {
  BackendUnavailable,
  ExecutionAccessDenied,
  ExecutionNotFound,
  ExecutionsError,
  InvalidArgument,
  NoExecutionContext,
  executions,
} from "bifrost";

function describe(e) {
  return {
    name: e.name,
    executionsError: e instanceof ExecutionsError,
    notFound: e instanceof ExecutionNotFound,
    denied: e instanceof ExecutionAccessDenied,
    invalid: e instanceof InvalidArgument,
    noContext: e instanceof NoExecutionContext,
    unavailable: e instanceof BackendUnavailable,
    typeError: e instanceof TypeError,
    kind: e.kind ?? null,
    parameter: e.parameter ?? null,
    retryable: e.retryable ?? null,
    message: e.message,
  };
}

export default async function errors({ unknown, foreign }) {
  const calls = {
    notFound: () => executions.get(unknown),
    denied: () => executions.get(foreign),
    badId: () => executions.get("not-a-uuid"),
    badLimit: () => executions.list({ limit: 0 }),
    negativeLimit: () => executions.list({ limit: -3 }),
    badDate: () => executions.list({ startDate: "yesterday" }),
    badStatus: () => executions.list({ status: "Done" }),
    badCount: () => executions.getCurrentLogs({ count: 0 }),
    badStart: () => executions.getCurrentLogs({ start: "soon" }),
    wrongType: () => executions.list({ limit: "5" }),
    currentLogs: () => executions.getCurrentLogs(),
  };
  const out = {};
  for (const [name, call] of Object.entries(calls)) {
    try {
      await call();
      out[name] = "ok";
    } catch (e) {
      out[name] = describe(e);
    }
  }
  // The idiom: catch one kind, let the others through.
  try {
    await executions.get(unknown);
  } catch (e) {
    if (!(e instanceof ExecutionNotFound)) throw e;
    out.caughtNotFound = e.executionId === unknown;
  }
  return out;
}
