// The package's pure parts against a stand-in host: names, mapping, paging, logging, the
// entry point. What the real host answers is tested from the Rust test suite, with
// components built by bifrost-build (tests/tests/all/javascript.rs).

import assert from "node:assert/strict";
import { test } from "node:test";

import * as host from "../src/host.js";
import {
  ChildExecutionFailed,
  ExecutionsError,
  HostError,
  InvalidArgument,
  LimitReached,
  Timestamp,
  WorkflowNotFound,
  context,
  executions,
  isFinal,
  log,
  parseLevel,
  parseStatus,
  workflows,
} from "../src/index.js";
import { fromHost, rustDebug } from "../src/errors.js";
import { consoleLine, describeError, installConsole } from "../src/logging.js";
import { Failure, makeRun } from "../src/run.js";

const ID = "0192f6c5-8a1e-7c3e-9d2b-3f4a5b6c7d8e";

function record(overrides = {}) {
  return {
    executionId: ID,
    workflowName: "sync",
    orgId: undefined,
    formId: undefined,
    executedBy: "u1",
    executedByName: "User One",
    status: "completed-with-errors",
    inputData: '{"n":1}',
    result: "not json",
    resultType: undefined,
    errorMessage: undefined,
    durationMs: 1500n,
    startedAt: { seconds: 1777105800n, nanoseconds: 250000999 },
    completedAt: undefined,
    createdAt: { seconds: 1777105800n, nanoseconds: 0 },
    logs: [
      {
        id: { milliseconds: 1777105800250n, sequence: 2n },
        executionId: ID,
        level: "warning",
        message: "careful",
        metadata: '{"k":[1,2]}',
        timestamp: { seconds: 1777105800n, nanoseconds: 250000000 },
      },
    ],
    variables: undefined,
    sessionId: undefined,
    peakMemoryBytes: 2097152n,
    cpuTotalSeconds: undefined,
    logLinesDropped: undefined,
    parentExecutionId: undefined,
    ...overrides,
  };
}

/** A stand-in host that records what it was asked and answers from `answers`. */
function standIn(answers = {}) {
  const calls = [];
  const h = new Proxy(
    {},
    {
      get(_, name) {
        return (...args) => {
          calls.push([name, ...args]);
          const answer = answers[name];
          return typeof answer === "function" ? answer(...args) : answer;
        };
      },
    },
  );
  host.install(h);
  return calls;
}

test("records become plain objects with camelCase fields, statuses and levels by name", async () => {
  standIn({ get: () => record() });
  const e = await executions.get(ID);
  assert.equal(e.status, "CompletedWithErrors");
  assert.deepEqual(e.inputData, { n: 1 });
  assert.equal(e.result, "not json", "a payload that is not JSON stays text");
  assert.equal(e.durationMs, 1500);
  assert.equal(e.orgId, null);
  assert.ok(e.startedAt instanceof Date && e.startedAt instanceof Timestamp);
  assert.equal(e.startedAt.toISOString(), "2026-04-25T08:30:00.250Z");
  assert.equal(e.startedAt.toRfc3339(), "2026-04-25T08:30:00.250000Z");
  assert.equal(JSON.stringify({ t: e.startedAt }), '{"t":"2026-04-25T08:30:00.250000Z"}');
  assert.equal(e.completedAt, null);
  assert.deepEqual(e.logs, [
    {
      id: "1777105800250-2",
      executionId: ID,
      level: "WARNING",
      message: "careful",
      metadata: { k: [1, 2] },
      timestamp: "2026-04-25T08:30:00.250000Z",
    },
  ]);
  assert.equal(e.peakMemoryBytes, 2097152);
});

test("list passes the reference's filters and defaults to the host", async () => {
  const calls = standIn({ list: () => [record()] });
  const found = await executions.list({ status: "completed", startDate: new Date(Date.UTC(2026, 3, 25)) });
  assert.equal(found.length, 1);
  assert.deepEqual(calls[0], [
    "list",
    { workflowName: undefined, status: "success", startDate: "2026-04-25T00:00:00.000Z", endDate: undefined, limit: 50 },
  ]);
  await executions.list({ workflowName: "w", status: "Completed_With_Errors", limit: 5000, endDate: "2026-04-26" });
  assert.deepEqual(calls[1][1], {
    workflowName: "w",
    status: "completed-with-errors",
    startDate: undefined,
    endDate: "2026-04-26",
    limit: 5000,
  });
});

test("bad arguments are refused with the host's words or a TypeError", async () => {
  standIn({ list: () => [] });
  await assert.rejects(executions.list({ status: "Done" }), (e) => {
    assert.ok(e instanceof InvalidArgument && e instanceof ExecutionsError);
    assert.equal(e.kind, "invalid-argument");
    assert.equal(e.parameter, "status");
    assert.match(e.message, /^invalid argument `status`: unknown execution status "Done"; expected one of Scheduled, /);
    return true;
  });
  await assert.rejects(executions.list({ limit: -1 }), { parameter: "limit", message: "invalid argument `limit`: must be at least 1" });
  await assert.rejects(executions.list({ limit: 2.5 }), TypeError);
  await assert.rejects(executions.list({ workflowName: 7 }), TypeError);
  await assert.rejects(executions.list("sync"), TypeError);
  await assert.rejects(executions.pages("sync").next(), { name: "TypeError", message: "pages takes an object of options, not a string" });
  await assert.rejects(executions.getCurrentLogs({ start: "soon" }), {
    parameter: "start",
    message: 'invalid argument `start`: "soon" is not a stream id (expected <milliseconds>-<sequence>, <milliseconds>, or 0 for the beginning)',
  });
  await assert.rejects(executions.get(42), TypeError);
  await assert.rejects(
    (async () => {
      for await (const _ of executions.pages({ pageSize: 0 }));
    })(),
    { parameter: "page_size" },
  );
});

test("pages follow the cursor and skip empty pages; a repeated cursor is an error", async () => {
  const answers = [
    { executions: [record()], nextCursor: "a" },
    { executions: [], nextCursor: "b" },
    { executions: [record(), record()], nextCursor: undefined },
  ];
  const calls = standIn({ listPage: () => answers.shift() });
  const sizes = [];
  for await (const page of executions.pages({ pageSize: 2 })) sizes.push(page.length);
  assert.deepEqual(sizes, [1, 2]);
  assert.deepEqual(calls.map((c) => c[2]), [undefined, "a", "b"]);
  standIn({ listPage: () => ({ executions: [], nextCursor: undefined }) });
  assert.deepEqual(await executions.pages(null).next(), { value: undefined, done: true }, "null is no options");
  standIn({ listPage: () => ({ executions: [], nextCursor: "same" }) });
  const seen = [];
  await assert.rejects(
    (async () => {
      for await (const page of executions.pages()) seen.push(page);
    })(),
    HostError,
  );
});

test("logEntries reads on after the last entry, with no duplicate", async () => {
  const line = (ms, seq) => ({ ...record().logs[0], id: { milliseconds: BigInt(ms), sequence: BigInt(seq) } });
  const stream = [line(5, 0), line(5, 1), line(6, 0)];
  const calls = standIn({
    getCurrentLogs: (id, start, count) =>
      stream.filter((l) => l.id.milliseconds > start.milliseconds || (l.id.milliseconds === start.milliseconds && l.id.sequence >= start.sequence)).slice(0, count),
  });
  const ids = [];
  for await (const entry of executions.logEntries({ pageSize: 2, start: "5" })) ids.push(entry.id);
  assert.deepEqual(ids, ["5-0", "5-1", "6-0"]);
  assert.deepEqual(calls.map((c) => c[2]), [
    { milliseconds: 5n, sequence: 0n },
    { milliseconds: 5n, sequence: 2n },
    { milliseconds: 6n, sequence: 1n },
  ]);
});

test("getCurrentLogs defaults: the current execution, from the beginning, 100", async () => {
  const calls = standIn({ getCurrentLogs: () => [] });
  await executions.getCurrentLogs();
  await executions.getCurrentLogs({ executionId: ID, start: "-", count: 5000 });
  assert.deepEqual(calls[0], ["getCurrentLogs", undefined, { milliseconds: 0n, sequence: 0n }, 100]);
  assert.deepEqual(calls[1], ["getCurrentLogs", ID, { milliseconds: 0n, sequence: 0n }, 5000]);
});

test("the host's errors become the package's classes with the Rust crate's messages", () => {
  const cases = [
    [{ tag: "not-found", val: ID }, "not-found", `execution ${ID} not found`],
    [{ tag: "permission-denied", val: ID }, "permission-denied", `permission denied: execution ${ID} belongs to someone else`],
    [{ tag: "invalid-argument", val: { parameter: "start_date", reason: "bad" } }, "invalid-argument", "invalid argument `start_date`: bad"],
    [{ tag: "no-execution-context" }, "no-execution-context", "no execution context: the call needs the current execution, and the workflow runs outside one (pass an execution id)"],
    [{ tag: "unavailable", val: "redis" }, "unavailable", "backend unavailable: redis"],
    [{ tag: "too-large", val: "line" }, "too-large", "too large: line"],
    [{ tag: "limit-reached", val: "depth 8" }, "limit-reached", "limit reached: depth 8"],
    [{ tag: "internal", val: "x" }, "internal", "internal error: x"],
  ];
  for (const [payload, kind, message] of cases) {
    const e = fromHost(payload);
    assert.ok(e instanceof ExecutionsError && e instanceof Error);
    assert.equal(e.kind, kind);
    assert.equal(e.message, message);
    assert.equal(e.retryable, kind === "unavailable");
  }
  assert.ok(fromHost({ tag: "limit-reached", val: "" }) instanceof LimitReached);
  assert.equal(fromHost({ tag: "new-kind", val: 1 }).kind, "internal");
  assert.equal(rustDebug('a"b\\c\n\u0001é'), '"a\\"b\\\\c\\n\\u{1}é"');
});

test("statuses and levels parse as tolerantly as the Rust crate", () => {
  assert.equal(parseStatus("failed"), "Failed");
  assert.equal(parseStatus("Completed"), "Success");
  assert.equal(parseStatus("completed with errors"), "CompletedWithErrors");
  assert.throws(() => parseStatus("Done"), RangeError);
  assert.equal(isFinal("Running"), false);
  assert.equal(isFinal("Stuck"), true);
  assert.equal(parseLevel(" warn "), "WARNING");
  assert.throws(() => parseLevel("loud"), { message: 'unknown log level "loud"; expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL' });
});

test("log and console write lines with levels and metadata", () => {
  const calls = standIn({ log: () => undefined });
  log("warn", "careful", { step: 2 });
  assert.deepEqual(calls[0], ["log", "warning", "careful", '{"step":2}']);
  assert.throws(() => log("loud", "x"), { parameter: "level" });
  assert.throws(() => log("INFO", "x", [1]), { parameter: "metadata", message: "invalid argument `metadata`: must be a JSON object" });
  const fake = {};
  const refused = [];
  installConsole(fake, (text) => refused.push(text));
  fake.info("synced", { rows: 42 });
  fake.warn("slow", 1.5, "s", { a: 1 });
  fake.error(new TypeError("bad"));
  fake.debug();
  assert.deepEqual(calls.slice(1, 3), [
    ["log", "info", "synced", '{"rows":42}'],
    ["log", "warning", 'slow 1.5 s {"a":1}', undefined],
  ]);
  assert.equal(calls[3][1], "error");
  assert.match(calls[3][2], /^TypeError: bad\n/);
  assert.deepEqual(calls[4], ["log", "debug", "", undefined]);
  standIn({
    log: () => {
      throw fromHost({ tag: "too-large", val: "a log line of 2000000 bytes" });
    },
  });
  fake.log("x".repeat(10));
  assert.deepEqual(refused, ["bifrost: a log line was not recorded: too large: a log line of 2000000 bytes"]);
  assert.deepEqual(consoleLine(["a", new Map()]), ["a {}", undefined]);
  assert.equal(describeError("plain"), "Uncaught plain");
});

test("context and variables", () => {
  const calls = standIn({
    executionId: () => ID,
    workflowName: () => undefined,
    caller: () => ({ userId: "u", userName: "U", orgId: undefined, isPlatformAdmin: true }),
    setVariable: () => undefined,
  });
  assert.equal(context.executionId(), ID);
  assert.equal(context.workflowName(), null);
  assert.deepEqual(context.caller(), { userId: "u", userName: "U", orgId: null, isPlatformAdmin: true });
  context.setVariable("answer", { n: 42 });
  assert.deepEqual(calls.at(-1), ["setVariable", "answer", '{"n":42}']);
  assert.throws(() => context.setVariable("big", 10n), TypeError);
});

test("workflows: a failed child throws with its record, an unknown workflow is WorkflowNotFound", async () => {
  standIn({ execute: () => record({ status: "failed", errorMessage: "Error: no stock", result: undefined }) });
  await assert.rejects(workflows.execute("process_order", { order_id: "1" }), (e) => {
    assert.ok(e instanceof ChildExecutionFailed);
    assert.equal(e.kind, "child-failed");
    assert.equal(e.executionId, ID);
    assert.equal(e.message, `child execution ${ID} (sync) ended Failed: Error: no stock`);
    return true;
  });
  const calls = standIn({ execute: () => record({ status: "success", result: '{"ok":true}' }) });
  assert.deepEqual(await workflows.execute("process_order"), { ok: true });
  assert.deepEqual(calls[0], ["execute", "process_order", "{}"]);
  standIn({
    start: () => {
      throw fromHost({ tag: "not-found", val: "" });
    },
  });
  await assert.rejects(workflows.start("nope"), (e) => e instanceof WorkflowNotFound && e.message === 'workflow "nope" is not deployed');
  const waits = standIn({ wait: () => record({ status: "running" }) });
  assert.equal((await workflows.wait(ID, { timeoutMs: 250 })).status, "Running");
  assert.deepEqual(waits[0], ["wait", ID, 250n]);
});

test("the entry point: input, result, and an uncaught error ends the execution Failed", async () => {
  const logged = [];
  const module = {
    default: async (input) => ({ got: input }),
    fails: async () => {
      throw new RangeError("too far");
    },
    undef: () => undefined,
    cyclic: () => {
      const o = {};
      o.o = o;
      return o;
    },
  };
  const run = (name) => makeRun(module, name, "wf.js", (t) => logged.push(t));
  assert.equal(await run("default")('{"a":1}'), '{"got":{"a":1}}');
  assert.equal(await run("default")(""), '{"got":{}}');
  assert.equal(await run("undef")("{}"), "null");
  await assert.rejects(run("fails")("{}"), (e) => e instanceof Failure && e.message === "RangeError: too far");
  assert.equal(logged.length, 1);
  assert.match(logged[0], /^RangeError: too far\n.+/s, "the stack follows the message");
  await assert.rejects(run("default")("{nope"), { message: /^the input is not JSON: / });
  await assert.rejects(run("missing")("{}"), { message: 'no workflow: wf.js has no export "missing" that is a function' });
  await assert.rejects(run("cyclic")("{}"), { message: /^TypeError: the workflow's result is not JSON-serialisable: / });
  host.install(null);
  await assert.rejects(executions.list(), HostError);
});
