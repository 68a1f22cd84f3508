// Types of the bifrost package (docs/JAVASCRIPT.md). Field names are camelCase, one rule
// for every field; times of an execution are `Timestamp`s (a `Date` with microseconds), a
// log line's `timestamp` is ISO-8601 text, as the reference has it.

/** An execution's lifecycle state, by the platform's name. */
export type ExecutionStatus =
  | "Scheduled"
  | "Pending"
  | "Running"
  | "Success"
  | "Failed"
  | "Timeout"
  | "Stuck"
  | "CompletedWithErrors"
  | "Cancelling"
  | "Cancelled";

/** A log line's severity, in upper case as the platform stores it. */
export type LogLevel = "DEBUG" | "INFO" | "WARNING" | "ERROR" | "CRITICAL";

/** Any value JSON holds. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A point in time from the host: a `Date` that keeps the host's microseconds. */
export declare class Timestamp extends Date {
  constructor(seconds: number | bigint, nanoseconds?: number);
  /** The microseconds within the second (0 to 999,999). */
  readonly microseconds: number;
  /** The host's text: UTC, six digits of fraction, `Z` (`2026-04-25T08:30:00.250000Z`). */
  toRfc3339(): string;
  /** The host's text, as `toRfc3339`. */
  toJSON(): string;
}

/** One log line of an execution. */
export interface ExecutionLog {
  /** Stream entry id, `<milliseconds>-<sequence>`; increases within an execution. */
  id: string;
  /** The execution that wrote the line. */
  executionId: string;
  level: LogLevel;
  message: string;
  /** Structured data attached to the line, if any. */
  metadata: { [key: string]: Json } | null;
  /** When the line was written: ISO-8601 text in UTC (`2026-04-25T08:30:00.000000Z`). */
  timestamp: string;
}

/** One execution, with the reference SDK's fields. */
export interface WorkflowExecution {
  executionId: string;
  workflowName: string;
  orgId: string | null;
  /** The form that started the execution, if a form did. */
  formId: string | null;
  /** User id of whoever started the execution. */
  executedBy: string;
  executedByName: string;
  status: ExecutionStatus;
  /** The input parameters. */
  inputData: Json;
  /** The result, once the execution has one. */
  result: Json;
  /** A hint for rendering the result: `json`, `text` or `html`. */
  resultType: string | null;
  errorMessage: string | null;
  durationMs: number | null;
  startedAt: Timestamp | null;
  completedAt: Timestamp | null;
  /** When the execution was recorded. */
  createdAt: Timestamp;
  /** Captured log entries: filled by `get` once the execution has ended (at most 1000,
   * oldest first); null from `list` and while it runs (read those with `getCurrentLogs`). */
  logs: ExecutionLog[] | null;
  /** Runtime variables; platform admins only. */
  variables: { [key: string]: Json } | null;
  sessionId: string | null;
  /** Peak linear memory; platform admins only. */
  peakMemoryBytes: number | null;
  /** CPU time spent in the workflow; platform admins only. */
  cpuTotalSeconds: number | null;
  /** Log lines the host's log caps counted but did not keep; null when every line was
   * kept, and while the execution runs. */
  logLinesDropped: number | null;
  /** The execution that started this one with `workflows`; null for one started from
   * outside. */
  parentExecutionId: string | null;
}

/** A deployed workflow a workflow may start. */
export interface WorkflowInfo {
  name: string;
  /** The deployed version: the SHA-256 of its component, lowercase hex. */
  version: string;
  deployedAt: Timestamp;
}

/** Who the workflow runs as. */
export interface Caller {
  userId: string;
  userName: string;
  orgId: string | null;
  isPlatformAdmin: boolean;
}

/** Filters of `executions.list`; all given filters must hold. */
export interface ListOptions {
  workflowName?: string | null;
  /** A status name, tolerant: `"Failed"`, `"failed"`, `"Completed"` for `Success`. */
  status?: string | null;
  /** Inclusive lower bound on `startedAt`: a date (`"2026-04-25"`), a date-time, or a `Date`. */
  startDate?: string | Date | null;
  /** Inclusive upper bound on `startedAt`; a date covers that whole day (UTC). */
  endDate?: string | Date | null;
  /** At most this many: default 50, above 1000 means 1000, below 1 is an error. */
  limit?: number;
}

/** Filters of `executions.pages`: those of `list`, a page of `pageSize` at a time. */
export interface PagesOptions extends Omit<ListOptions, "limit"> {
  /** Default 50. */
  pageSize?: number;
}

/** What `executions.getCurrentLogs` reads. */
export interface LogsOptions {
  /** Another execution's log; the current execution's when absent. */
  executionId?: string | null;
  /** A stream id `<ms>-<seq>`, `<ms>`, or `"0"` / `"-"` for the beginning (the default). */
  start?: string;
  /** At most this many: default 100, above 1000 means 1000, below 1 is an error. */
  count?: number;
}

/** What `executions.logEntries` reads. */
export interface LogEntriesOptions {
  executionId?: string | null;
  start?: string;
  /** Entries read at a time; default 100. */
  pageSize?: number;
}

/** Query execution history and read execution logs, with the caller's visibility. */
export declare namespace executions {
  /** Executions matching every given filter, newest first. */
  function list(options?: ListOptions): Promise<WorkflowExecution[]>;
  /** Every matching execution, newest first, a page at a time. */
  function pages(options?: PagesOptions): AsyncGenerator<WorkflowExecution[], void, undefined>;
  /** One execution by id, with its log entries once it has ended. */
  function get(executionId: string): Promise<WorkflowExecution>;
  /** Log entries of an execution, oldest first, from `start` inclusive. */
  function getCurrentLogs(options?: LogsOptions): Promise<ExecutionLog[]>;
  /** Every log entry of an execution from `start`, with no gap and no duplicate. */
  function logEntries(options?: LogEntriesOptions): AsyncGenerator<ExecutionLog, void, undefined>;
}

/** Start deployed workflows from a workflow; each child is an execution of its own. */
export declare namespace workflows {
  /** Runs the workflow as a child, waits, and returns its result; throws
   * `ChildExecutionFailed` if it did not succeed, `WorkflowNotFound` if none is deployed. */
  function execute(workflowName: string, parameters?: unknown): Promise<Json>;
  /** Starts the workflow as a child without waiting; its execution id. */
  function start(workflowName: string, parameters?: unknown): Promise<string>;
  /** Waits for a child, at most `timeoutMs` (none: until it ends); its record. */
  function wait(executionId: string, options?: { timeoutMs?: number | null }): Promise<WorkflowExecution>;
  /** The deployed workflows, by name. */
  function list(): Promise<WorkflowInfo[]>;
  /** An execution by id (`executions.get`). */
  function get(executionId: string): Promise<WorkflowExecution>;
}

/** The execution this workflow runs in and who runs it, as bound by the host. */
export declare namespace context {
  /** The current execution's id; null outside an execution. */
  function executionId(): string | null;
  /** The current workflow's name; null outside an execution. */
  function workflowName(): string | null;
  /** The execution that started this one with `workflows`; null otherwise. */
  function parentExecutionId(): string | null;
  /** Who this workflow runs as. */
  function caller(): Caller;
  /** Records a runtime variable (any value `JSON.stringify` takes). */
  function setVariable(name: string, value: unknown): void;
}

/** Appends one line to the current execution's log; throws on a refused line. */
export declare function log(
  level: LogLevel | Lowercase<LogLevel> | "WARN" | "warn",
  message: string,
  metadata?: { [key: string]: unknown } | null,
): void;

/** Every execution status, by the platform's name. */
export declare const STATUSES: readonly ExecutionStatus[];
/** Every log level. */
export declare const LEVELS: readonly LogLevel[];
/** A status by name, tolerant as the Rust crate; throws `UnknownStatus`. */
export declare function parseStatus(text: string): ExecutionStatus;
/** A level by name, case-insensitively; `WARN` too; throws a `RangeError`. */
export declare function parseLevel(text: string): LogLevel;
/** Whether an execution of this status has ended. */
export declare function isFinal(status: ExecutionStatus): boolean;

/** The kinds of `ExecutionsError`. */
export type ErrorKind =
  | "not-found"
  | "permission-denied"
  | "invalid-argument"
  | "no-execution-context"
  | "unavailable"
  | "too-large"
  | "limit-reached"
  | "child-failed"
  | "internal";

/** Base of every error of the package. */
export declare class ExecutionsError extends Error {
  readonly kind: ErrorKind;
  /** Whether the same call may succeed later (a backend was unavailable). */
  readonly retryable: boolean;
}
/** No execution has this id. */
export declare class ExecutionNotFound extends ExecutionsError {
  readonly kind: "not-found";
  readonly executionId: string;
}
/** The execution exists but the caller may not see it. */
export declare class ExecutionAccessDenied extends ExecutionsError {
  readonly kind: "permission-denied";
  readonly executionId: string;
}
/** The call needs the current execution and the code runs outside one. */
export declare class NoExecutionContext extends ExecutionsError {
  readonly kind: "no-execution-context";
}
/** A parameter is malformed or out of range; `parameter` is its name as the platform
 * spells it (`start_date`). */
export declare class InvalidArgument extends ExecutionsError {
  readonly kind: "invalid-argument";
  readonly parameter: string;
  readonly reason: string;
}
/** A backend could not be reached; `retryable` is true. */
export declare class BackendUnavailable extends ExecutionsError {
  readonly kind: "unavailable";
  readonly retryable: true;
  readonly detail: string;
}
/** A value exceeds a size limit set by the host. */
export declare class TooLarge extends ExecutionsError {
  readonly kind: "too-large";
  readonly detail: string;
}
/** The depth or children limit of workflows that start workflows was reached. */
export declare class LimitReached extends ExecutionsError {
  readonly kind: "limit-reached";
  readonly detail: string;
}
/** No workflow of this name is deployed. */
export declare class WorkflowNotFound extends ExecutionsError {
  readonly kind: "not-found";
  readonly workflowName: string;
}
/** A child execution did not succeed; `execution` is its whole record. */
export declare class ChildExecutionFailed extends ExecutionsError {
  readonly kind: "child-failed";
  readonly execution: WorkflowExecution;
  readonly executionId: string;
  readonly workflowName: string;
  readonly status: ExecutionStatus;
  readonly errorMessage: string | null;
}
/** The host failed in a way that is not the caller's fault. */
export declare class HostError extends ExecutionsError {
  readonly kind: "internal";
  readonly detail: string;
}
/** A text that names no execution status. */
export declare class UnknownStatus extends RangeError {
  readonly text: string;
}
