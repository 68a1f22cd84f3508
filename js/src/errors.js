// The errors of the bifrost package.
//
// Every error the package throws for a call the host refused is an `ExecutionsError`; its
// `kind` names which, and each kind has its own class, so `instanceof` tells them apart:
//
// | kind                   | class                                                  |
// |------------------------|--------------------------------------------------------|
// | `not-found`            | `ExecutionNotFound` (`executionId`)                    |
// | `permission-denied`    | `ExecutionAccessDenied` (`executionId`)                |
// | `no-execution-context` | `NoExecutionContext`                                   |
// | `invalid-argument`     | `InvalidArgument` (`parameter`, `reason`)              |
// | `unavailable`          | `BackendUnavailable` (`retryable` is true)             |
// | `too-large`            | `TooLarge`                                             |
// | `limit-reached`        | `LimitReached`                                         |
// | `internal`             | `HostError`                                            |
//
// and two of `workflows`: `WorkflowNotFound` (kind `not-found`, `workflowName`) and
// `ChildExecutionFailed` (kind `child-failed`, with the child's `execution`).
//
// The messages are the Rust crate's, word for word. A wrong type of argument (a number
// where text is due) is a plain `TypeError`, as JavaScript's own functions throw.

/** Text quoted as Rust's `{:?}` quotes a string, so that both say the same words. */
export function rustDebug(text) {
  let out = '"';
  for (const c of text) {
    const code = c.codePointAt(0);
    if (c === '"') out += '\\"';
    else if (c === "\\") out += "\\\\";
    else if (c === "\n") out += "\\n";
    else if (c === "\r") out += "\\r";
    else if (c === "\t") out += "\\t";
    else if (c === "\0") out += "\\0";
    else if (code < 0x20 || (code >= 0x7f && code < 0xa0)) out += `\\u{${code.toString(16)}}`;
    else out += c;
  }
  return out + '"';
}

/** Base of every error of the package. */
export class ExecutionsError extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
  /** Which error: `not-found`, `permission-denied`, ..., `internal`. */
  get kind() {
    return "internal";
  }
  /** Whether the same call may succeed later (a backend was unavailable). */
  get retryable() {
    return false;
  }
}

/** No execution has this id. */
export class ExecutionNotFound extends ExecutionsError {
  constructor(executionId) {
    super(executionId ? `execution ${executionId} not found` : "execution not found");
    this.executionId = executionId;
  }
  get kind() {
    return "not-found";
  }
}

/** The execution exists but the caller may not see it. */
export class ExecutionAccessDenied extends ExecutionsError {
  constructor(executionId) {
    super(
      executionId
        ? `permission denied: execution ${executionId} belongs to someone else`
        : "permission denied: the execution belongs to someone else",
    );
    this.executionId = executionId;
  }
  get kind() {
    return "permission-denied";
  }
}

/** The call needs the current execution and the code runs outside one: pass an id. */
export class NoExecutionContext extends ExecutionsError {
  constructor(detail) {
    super(
      detail ||
        "no execution context: the call needs the current execution, " +
          "and the workflow runs outside one (pass an execution id)",
    );
  }
  get kind() {
    return "no-execution-context";
  }
}

/** A parameter is malformed or out of range; `parameter` is its name. */
export class InvalidArgument extends ExecutionsError {
  constructor(parameter, reason) {
    super(`invalid argument \`${parameter}\`: ${reason}`);
    this.parameter = parameter;
    this.reason = reason;
  }
  get kind() {
    return "invalid-argument";
  }
}

/** A backend (database, log stream) could not be reached; retrying later may succeed. */
export class BackendUnavailable extends ExecutionsError {
  constructor(detail) {
    super(`backend unavailable: ${detail}`);
    this.detail = detail;
  }
  get kind() {
    return "unavailable";
  }
  get retryable() {
    return true;
  }
}

/** A value exceeds a size limit set by the host. */
export class TooLarge extends ExecutionsError {
  constructor(detail) {
    super(`too large: ${detail}`);
    this.detail = detail;
  }
  get kind() {
    return "too-large";
  }
}

/** A limit on workflows that start workflows was reached: the depth of the chain of
 * parents, or the children of one execution. */
export class LimitReached extends ExecutionsError {
  constructor(detail) {
    super(`limit reached: ${detail}`);
    this.detail = detail;
  }
  get kind() {
    return "limit-reached";
  }
}

/** `workflows.execute` or `workflows.start` named a workflow that is not deployed. */
export class WorkflowNotFound extends ExecutionsError {
  constructor(workflowName) {
    super(`workflow ${rustDebug(workflowName)} is not deployed`);
    this.workflowName = workflowName;
  }
  get kind() {
    return "not-found";
  }
}

/** A child execution ended other than `Success` (or had not ended): `execution` is its
 * whole record; `executionId`, `workflowName`, `status` and `errorMessage` its fields. */
export class ChildExecutionFailed extends ExecutionsError {
  constructor(execution) {
    const head = `child execution ${execution.executionId} (${execution.workflowName})`;
    let message;
    if (!FINAL.has(execution.status)) message = `${head} has not ended: ${execution.status}`;
    else if (execution.errorMessage != null)
      message = `${head} ended ${execution.status}: ${execution.errorMessage}`;
    else message = `${head} ended ${execution.status}`;
    super(message);
    this.execution = execution;
    this.executionId = execution.executionId;
    this.workflowName = execution.workflowName;
    this.status = execution.status;
    this.errorMessage = execution.errorMessage;
  }
  get kind() {
    return "child-failed";
  }
}

/** The host (or its answer) failed in a way that is not the caller's fault. */
export class HostError extends ExecutionsError {
  constructor(detail) {
    super(`internal error: ${detail}`);
    this.detail = detail;
  }
  get kind() {
    return "internal";
  }
}

const FINAL = new Set([
  "Success",
  "Failed",
  "Timeout",
  "Stuck",
  "CompletedWithErrors",
  "Cancelled",
]);

/** The error for a case of the WIT `error` variant, as the bindings give it:
 * `{ tag: "not-found", val: "..." }`. */
export function fromHost(error) {
  const value = error?.val;
  switch (error?.tag) {
    case "not-found":
      return new ExecutionNotFound(value);
    case "permission-denied":
      return new ExecutionAccessDenied(value);
    case "invalid-argument":
      return new InvalidArgument(value.parameter, value.reason);
    case "no-execution-context":
      return new NoExecutionContext();
    case "unavailable":
      return new BackendUnavailable(value);
    case "too-large":
      return new TooLarge(value);
    case "limit-reached":
      return new LimitReached(value);
    case "internal":
      return new HostError(value);
    default:
      return new HostError(
        `the host answered an error this package does not know: ${safeText(error)}`,
      );
  }
}

function safeText(value) {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
