"""The exceptions of the executions module.

Every error the module raises is an `ExecutionsError`; its `kind` names which. The
reference SDK's exception types hold too, so code written for it catches what it expects:

| kind | class | also a |
|---|---|---|
| `not-found` | `ExecutionNotFound` | `ValueError` |
| `permission-denied` | `ExecutionAccessDenied` | `PermissionError` |
| `no-execution-context` | `NoExecutionContext` | `RuntimeError` |
| `invalid-argument` | `InvalidArgument` (`.parameter`, `.reason`) | `ValueError` |
| `unavailable` | `BackendUnavailable` (`.retryable` is true) | |
| `too-large` | `TooLarge` | |
| `limit-reached` | `LimitReached` | |
| `internal` | `HostError` | |

and two of `bifrost.workflows`:

| kind | class | also a |
|---|---|---|
| `not-found` | `WorkflowNotFound` (`.workflow_name`) | `ValueError` |
| `child-failed` | `ChildExecutionFailed` (`.execution_id`, `.status`, `.error_message`, `.execution`) | |

The messages are the Rust crate's, word for word.
"""

from __future__ import annotations

from typing import Any

from ._quote import rust_debug


class ExecutionsError(Exception):
    """Base of every error of the executions module."""

    kind: str = "internal"
    """Which error: `not-found`, `permission-denied`, `invalid-argument`,
    `no-execution-context`, `unavailable`, `too-large`, `limit-reached`, `child-failed` or
    `internal`."""

    @property
    def retryable(self) -> bool:
        """Whether the same call may succeed later (a backend was unavailable)."""
        return False


class ExecutionNotFound(ExecutionsError, ValueError):
    """No execution has this id (the reference SDK's `ValueError`)."""

    kind = "not-found"

    def __init__(self, execution_id: str) -> None:
        self.execution_id = execution_id
        super().__init__(
            f"execution {execution_id} not found" if execution_id else "execution not found"
        )


class ExecutionAccessDenied(ExecutionsError, PermissionError):
    """The execution exists but the caller may not see it (the reference SDK's
    `PermissionError`)."""

    kind = "permission-denied"

    def __init__(self, execution_id: str) -> None:
        self.execution_id = execution_id
        super().__init__(
            f"permission denied: execution {execution_id} belongs to someone else"
            if execution_id
            else "permission denied: the execution belongs to someone else"
        )


class NoExecutionContext(ExecutionsError, RuntimeError):
    """The call needs the current execution and the code runs outside one (the reference
    SDK's `RuntimeError`): pass an execution id."""

    kind = "no-execution-context"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            detail
            or "no execution context: the call needs the current execution, "
            "and the workflow runs outside one (pass an execution id)"
        )


class InvalidArgument(ExecutionsError, ValueError):
    """A parameter is malformed or out of range; `parameter` is its name."""

    kind = "invalid-argument"

    def __init__(self, parameter: str, reason: str) -> None:
        self.parameter = parameter
        self.reason = reason
        super().__init__(f"invalid argument `{parameter}`: {reason}")


class BackendUnavailable(ExecutionsError):
    """A backend (database, log stream) could not be reached; retrying later may succeed."""

    kind = "unavailable"

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"backend unavailable: {detail}")

    @property
    def retryable(self) -> bool:
        return True


class TooLarge(ExecutionsError):
    """A value exceeds a size limit set by the host."""

    kind = "too-large"

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"too large: {detail}")


class LimitReached(ExecutionsError):
    """A limit on workflows that start workflows was reached: the depth of the chain of
    parents, or the children of one execution."""

    kind = "limit-reached"

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"limit reached: {detail}")


class WorkflowNotFound(ExecutionsError, ValueError):
    """`workflows.execute` or `workflows.start` named a workflow that is not deployed (the
    reference SDK's `ValueError`)."""

    kind = "not-found"

    def __init__(self, workflow_name: str) -> None:
        self.workflow_name = workflow_name
        super().__init__(f"workflow {rust_debug(workflow_name)} is not deployed")


class ChildExecutionFailed(ExecutionsError):
    """A child execution ended other than `Success` (or had not ended): `execution` is its
    whole record (a `WorkflowExecution`), `execution_id`, `workflow_name`, `status` and
    `error_message` its fields."""

    kind = "child-failed"

    def __init__(self, execution: Any) -> None:
        self.execution = execution
        self.execution_id: str = execution.execution_id
        self.workflow_name: str = execution.workflow_name
        self.status = execution.status
        self.error_message: str | None = execution.error_message
        head = f"child execution {self.execution_id} ({self.workflow_name})"
        if not execution.status.is_final:
            message = f"{head} has not ended: {self.status}"
        elif self.error_message is not None:
            message = f"{head} ended {self.status}: {self.error_message}"
        else:
            message = f"{head} ended {self.status}"
        super().__init__(message)


class HostError(ExecutionsError):
    """The host (or its answer) failed in a way that is not the caller's fault."""

    kind = "internal"

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"internal error: {detail}")


def from_host(error: Any) -> ExecutionsError:
    """The exception for an error the host answered (a case of the WIT `error` variant, as
    the generated bindings name it: `Error_NotFound`, `Error_InvalidArgument`, ...)."""
    case = type(error).__name__.removeprefix("Error_")
    value: Any = getattr(error, "value", None)
    if case == "NotFound":
        return ExecutionNotFound(value)
    if case == "PermissionDenied":
        return ExecutionAccessDenied(value)
    if case == "InvalidArgument":
        return InvalidArgument(value.parameter, value.reason)
    if case == "NoExecutionContext":
        return NoExecutionContext()
    if case == "Unavailable":
        return BackendUnavailable(value)
    if case == "TooLarge":
        return TooLarge(value)
    if case == "LimitReached":
        return LimitReached(value)
    if case == "Internal":
        return HostError(value)
    return HostError(f"the host answered an error this package does not know: {error!r}")
