// Query execution history and read execution logs, with the caller's visibility: the
// reference SDK's `executions` module, the JavaScript way.
//
//     import { executions } from "bifrost";
//     const recent = await executions.list({ limit: 10 });
//     const failedToday = await executions.list({ status: "Failed", startDate: "2026-04-25" });
//     const detail = await executions.get(recent[0].executionId);
//     const logs = await executions.getCurrentLogs();
//
// and two async iterators for what the reference leaves to its users: `pages` walks every
// matching execution a page at a time through the host's cursor, `logEntries` reads every
// log line of an execution with no gap and no duplicate.
//
// A platform admin sees every execution of their organisation (all of them if they have
// none); any other user sees only the executions they started in their organisation. The
// host decides this from the identity it bound to the workflow's instance.

import * as host from "./host.js";
import { HostError, InvalidArgument } from "./errors.js";
import { executionFromRecord, logFromRecord, parseStatus, typeName, UnknownStatus, witStatus } from "./models.js";
import { after, parseStart, startError, successor } from "./streamid.js";

const U32_MAX = 2 ** 32 - 1;
const MAX_LOG_COUNT = 1000;

/**
 * Executions matching every given filter, newest first (by `startedAt`, then by id).
 *
 * - `workflowName`: only this workflow's executions.
 * - `status`: a status name, tolerant as the Rust crate (`"Failed"`, `"failed"`,
 *   `"Completed"` for `Success`); an unknown name throws `InvalidArgument` naming `status`.
 * - `startDate`, `endDate`: inclusive ISO-8601 bounds on `startedAt`: a date
 *   (`"2026-04-25"`, that whole day in UTC) or a date-time (with an offset it is converted
 *   to UTC, without one UTC is assumed); a `Date` works too.
 * - `limit`: at most this many (default 50; above 1000 means 1000; below 1 is an error).
 */
export async function list(options = {}) {
  const filter = listFilter(options, "limit", 50);
  return host.current().list(filter).map(executionFromRecord);
}

/**
 * Every matching execution, newest first, a page of at most `pageSize` (default 50) at a
 * time; the filters are those of `list`. Empty pages are skipped.
 *
 *     for await (const page of executions.pages({ workflowName: "sync", pageSize: 200 })) { ... }
 */
export async function* pages(options = {}) {
  const o = object(options, "pages");
  pageSize(o.pageSize ?? 50);
  const filter = listFilter(o, "pageSize", 50);
  const h = host.current();
  let cursor;
  for (;;) {
    const page = h.listPage(filter, cursor);
    const next = page.nextCursor ?? undefined;
    if (next !== undefined && next === cursor) {
      throw new HostError("the host returned the same page cursor twice");
    }
    if (page.executions.length > 0) yield page.executions.map(executionFromRecord);
    if (next === undefined) return;
    cursor = next;
  }
}

/**
 * One execution by id, with its log entries once it has ended. Throws `ExecutionNotFound`
 * if no execution has this id, `ExecutionAccessDenied` if it belongs to someone else, and
 * `InvalidArgument` naming `execution_id` if the id is not a UUID.
 */
export async function get(executionId) {
  return executionFromRecord(host.current().get(idText(executionId, "executionId")));
}

/**
 * Log entries of an execution, oldest first, from stream id `start` inclusive.
 *
 * - `executionId`: defaults to the current execution; outside one that throws
 *   `NoExecutionContext`.
 * - `start`: a stream id `<ms>-<seq>`, `<ms>`, or `"0"` / `"-"` for the beginning.
 * - `count`: at most this many (default 100; above 1000 means 1000; below 1 is an error).
 *
 * The same entries, ids and order while the execution runs and after it ended.
 */
export async function getCurrentLogs(options = {}) {
  const { executionId, start = "0", count = 100 } = object(options, "getCurrentLogs");
  const first = startRecord(start);
  return host
    .current()
    .getCurrentLogs(optionalId(executionId), first, countOf(count, "count"))
    .map(logFromRecord);
}

/**
 * Every log entry of an execution from `start`, oldest first, read `pageSize` (default
 * 100) at a time, with no gap and no duplicate even while the execution writes or its logs
 * move to the database. It ends at the last entry written so far.
 *
 *     for await (const entry of executions.logEntries()) console.log(entry.id, entry.message);
 */
export async function* logEntries(options = {}) {
  const { executionId, start = "0", pageSize: size = 100 } = object(options, "logEntries");
  const first = startRecord(start);
  const h = host.current();
  const target = optionalId(executionId);
  const count = Math.min(pageSize(size), MAX_LOG_COUNT);
  let last = null;
  let next = [first.milliseconds, first.sequence];
  while (next !== null) {
    const fresh = [];
    for (const record of h.getCurrentLogs(target, { milliseconds: next[0], sequence: next[1] }, count)) {
      const id = [BigInt(record.id.milliseconds), BigInt(record.id.sequence)];
      if (last === null || after(id, last)) fresh.push([id, record]);
    }
    if (fresh.length === 0) return;
    for (const [id, record] of fresh) {
      last = id;
      yield logFromRecord(record);
    }
    next = successor(last);
  }
}

function object(options, what) {
  if (options === undefined || options === null) return {};
  if (typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(`${what} takes an object of options, not ${typeName(options)}`);
  }
  return options;
}

/** The host's `list-filter` of `list`'s options. */
function listFilter(options, limitName, limitDefault) {
  const o = object(options, "list");
  const { workflowName, status } = o;
  const limit = o[limitName] ?? limitDefault;
  if (workflowName != null && typeof workflowName !== "string") {
    throw new TypeError(`workflowName must be a string, not ${typeName(workflowName)}`);
  }
  let parsed;
  if (status != null) {
    try {
      parsed = witStatus(parseStatus(status));
    } catch (e) {
      if (e instanceof UnknownStatus) throw new InvalidArgument("status", e.message);
      throw e;
    }
  }
  return {
    workflowName: workflowName ?? undefined,
    status: parsed,
    startDate: dateBound(o.startDate, "startDate"),
    endDate: dateBound(o.endDate, "endDate"),
    limit: countOf(limit, limitName),
  };
}

/** A `startDate`/`endDate` as the host's text: text as given (the host checks it and names
 * the parameter), a `Date` as ISO-8601 text in UTC. */
function dateBound(value, parameter) {
  if (value == null) return undefined;
  if (typeof value === "string") return value;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new InvalidArgument(snake(parameter), "is an invalid Date");
    return value.toISOString();
  }
  throw new TypeError(`${parameter} must be ISO-8601 text or a Date, not ${typeName(value)}`);
}

/** A limit or count for the host: an integer; 0 goes to the host, which says why it is
 * refused; a negative one is refused here with the same words; above what the host takes
 * means its maximum. */
function countOf(value, parameter) {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`${parameter} must be an integer, not ${typeName(value)}`);
  }
  if (value < 0) throw new InvalidArgument(snake(parameter), "must be at least 1");
  return Math.min(value, U32_MAX);
}

/** A page size: at least 1 (refused here, naming `page_size`). */
function pageSize(value) {
  const n = countOf(value, "pageSize");
  if (n < 1) throw new InvalidArgument("page_size", "must be at least 1");
  return n;
}

/** The reference's name of a parameter, which the host's errors use. */
function snake(name) {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** An execution id as text. */
export function idText(value, parameter) {
  if (typeof value !== "string") {
    throw new TypeError(`${parameter} must be a string (a UUID), not ${typeName(value)}`);
  }
  return value;
}

function optionalId(value) {
  return value == null ? undefined : idText(value, "executionId");
}

/** A `start` argument as the host's `stream-id` record, checked by the host's rules. */
function startRecord(start) {
  if (typeof start !== "string") {
    throw new TypeError(`start must be a string (a stream id), not ${typeName(start)}`);
  }
  const parsed = parseStart(start);
  if (parsed === null) throw new InvalidArgument("start", startError(start));
  return { milliseconds: parsed[0], sequence: parsed[1] };
}
