// The values the package returns: plain objects with the reference SDK's fields, named
// the JavaScript way (camelCase: `executionId`, `startedAt`), one rule for every field.
// Times of an execution are `Timestamp`s (a `Date` that keeps the host's microseconds);
// a log line's `timestamp` stays ISO-8601 text, as the reference has it. Statuses and
// levels are the platform's names as text (`"Success"`, `"INFO"`).

import { rustDebug } from "./errors.js";

/** Every execution status, by the platform's name. */
export const STATUSES = Object.freeze([
  "Scheduled",
  "Pending",
  "Running",
  "Success",
  "Failed",
  "Timeout",
  "Stuck",
  "CompletedWithErrors",
  "Cancelling",
  "Cancelled",
]);

/** Every log level, in upper case as the platform stores it. */
export const LEVELS = Object.freeze(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]);

const STATUS_BY_KEY = new Map(STATUSES.map((s) => [s.toLowerCase(), s]));
STATUS_BY_KEY.set("completed", "Success");
const WIT_STATUS = new Map(STATUSES.map((s) => [kebab(s), s]));
const LIVE_OR_WAITING = new Set(["Scheduled", "Pending", "Running", "Cancelling"]);

function kebab(name) {
  return name.replace(/[A-Z]/g, (c, i) => (i ? "-" : "") + c.toLowerCase());
}

/** A text that names no execution status (a `RangeError`). */
export class UnknownStatus extends RangeError {
  constructor(text) {
    super(
      `unknown execution status ${rustDebug(text)}; expected one of ${STATUSES.join(", ")} ` +
        "(or Completed, another name of Success)",
    );
    this.name = "UnknownStatus";
    this.text = text;
  }
}

/**
 * A status by name, as tolerant as the Rust crate: the platform's names case-insensitively,
 * also with `_`, `-` or spaces between words (`completed_with_errors`), and `"Completed"` as
 * another name of `Success` (the reference's documentation filters with it). Anything else
 * throws `UnknownStatus`.
 */
export function parseStatus(text) {
  if (typeof text !== "string") throw new TypeError(`a status is a string, not ${typeName(text)}`);
  const found = STATUS_BY_KEY.get(text.replace(/[_\- \t]/g, "").toLowerCase());
  if (found === undefined) throw new UnknownStatus(text);
  return found;
}

/** Whether an execution of this status has ended. */
export function isFinal(status) {
  return !LIVE_OR_WAITING.has(status);
}

/** The WIT enum case of a status (`"completed-with-errors"`). */
export function witStatus(status) {
  return kebab(status);
}

/** A level by name, case-insensitively; `WARN` too. Throws a `RangeError` otherwise. */
export function parseLevel(text) {
  if (typeof text !== "string") throw new TypeError(`a log level is a string, not ${typeName(text)}`);
  const key = text.trim().toUpperCase();
  if (key === "WARN") return "WARNING";
  if (LEVELS.includes(key)) return key;
  throw new RangeError(`unknown log level ${rustDebug(text)}; expected one of ${LEVELS.join(", ")}`);
}

/**
 * A point in time from the host: a `Date` (so everything a `Date` does works) that also
 * keeps the microseconds the host stores. `toJSON()` and `toRfc3339()` give the host's
 * text, `2026-04-25T08:30:00.250000Z`; `toISOString()` stays the `Date`'s (milliseconds).
 */
export class Timestamp extends Date {
  /** From seconds since the Unix epoch and the nanoseconds within that second. */
  constructor(seconds, nanoseconds = 0) {
    const ns = Number(nanoseconds);
    super(Number(seconds) * 1000 + Math.floor(ns / 1e6));
    /** The microseconds within the second; below a microsecond is dropped, as the stores
     * do. (A plain field: a list of 50 makes 150 of these, and `defineProperty` took 2.4
     * times as long inside the component.) */
    this.microseconds = Math.floor(ns / 1000);
  }
  /** The host's text of this time: UTC, six digits of fraction, `Z`. */
  toRfc3339() {
    const iso = super.toISOString();
    return `${iso.slice(0, iso.lastIndexOf("."))}.${String(this.microseconds).padStart(6, "0")}Z`;
  }
  toJSON() {
    return this.toRfc3339();
  }
}

/** A `Timestamp` from the host's `datetime` record. */
export function timeFromRecord(record) {
  return new Timestamp(record.seconds, record.nanoseconds);
}

/** The host's text of a `datetime` record, as `Timestamp.toRfc3339` writes it. */
export function recordText(record) {
  return timeFromRecord(record).toRfc3339();
}

/** A `stream-id` record as `<milliseconds>-<sequence>`. */
export function streamIdText(record) {
  return `${record.milliseconds}-${record.sequence}`;
}

/** A JSON payload from the host; text that is not valid JSON stays the raw text, so that
 * a malformed payload never makes a query fail (as in the Rust crate). */
export function jsonOrText(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function opt(value) {
  return value === undefined ? null : value;
}

function optNumber(value) {
  return value === undefined || value === null ? null : Number(value);
}

/** A log entry from the host's record. */
export function logFromRecord(record) {
  return {
    id: streamIdText(record.id),
    executionId: record.executionId,
    level: record.level.toUpperCase(),
    message: record.message,
    metadata: record.metadata == null ? null : jsonOrText(record.metadata),
    timestamp: recordText(record.timestamp),
  };
}

/** An execution from the host's record. */
export function executionFromRecord(record) {
  return {
    executionId: record.executionId,
    workflowName: record.workflowName,
    orgId: opt(record.orgId),
    formId: opt(record.formId),
    executedBy: record.executedBy,
    executedByName: record.executedByName,
    status: WIT_STATUS.get(record.status) ?? record.status,
    inputData: jsonOrText(record.inputData),
    result: record.result == null ? null : jsonOrText(record.result),
    resultType: opt(record.resultType),
    errorMessage: opt(record.errorMessage),
    durationMs: optNumber(record.durationMs),
    startedAt: record.startedAt == null ? null : timeFromRecord(record.startedAt),
    completedAt: record.completedAt == null ? null : timeFromRecord(record.completedAt),
    createdAt: timeFromRecord(record.createdAt),
    logs: record.logs == null ? null : record.logs.map(logFromRecord),
    variables: record.variables == null ? null : jsonOrText(record.variables),
    sessionId: opt(record.sessionId),
    peakMemoryBytes: optNumber(record.peakMemoryBytes),
    cpuTotalSeconds: optNumber(record.cpuTotalSeconds),
    logLinesDropped: optNumber(record.logLinesDropped),
    parentExecutionId: opt(record.parentExecutionId),
  };
}

/** A deployed workflow from the host's record. */
export function workflowInfoFromRecord(record) {
  return {
    name: record.name,
    version: record.version,
    deployedAt: timeFromRecord(record.deployedAt),
  };
}

/** How a value's type is named in a `TypeError`. */
export function typeName(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "a Date";
  const t = typeof value;
  return t === "object" ? "an object" : `a ${t}`;
}
