"""The workflows functions against a stand-in host: arguments, results, errors."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from bifrost import (
    ChildExecutionFailed,
    ExecutionNotFound,
    ExecutionStatus,
    LimitReached,
    WorkflowNotFound,
    context,
    workflows,
)
from bifrost.errors import from_host
from conftest import WitStatus, execution_record, when


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def error(case: str, value: Any = None) -> Exception:
    """An error as the bindings raise it: `Err` holding an `Error_<case>`."""
    return from_host(type(f"Error_{case}", (), {"value": value})())


def test_execute_returns_the_childs_result(host: Any) -> None:
    host.record = execution_record(status=WitStatus.SUCCESS, result='{"shipped": true}')
    assert run(workflows.execute("process_order", {"order_id": "12345"})) == {"shipped": True}
    assert host.calls == [("execute", ("process_order", '{"order_id":"12345"}'))]
    host.calls.clear()
    run(workflows.execute("process_order"))
    assert host.calls == [("execute", ("process_order", "{}"))]


def test_a_child_that_did_not_succeed_raises_naming_it(host: Any) -> None:
    host.record = execution_record(
        execution_id="c1", workflow_name="process_order", status=WitStatus.FAILED,
        error_message="no such order", result=None,
    )
    with pytest.raises(ChildExecutionFailed) as raised:
        run(workflows.execute("process_order", {"order_id": "0"}))
    e = raised.value
    assert str(e) == "child execution c1 (process_order) ended Failed: no such order"
    assert (e.execution_id, e.status, e.error_message, e.kind) == (
        "c1", ExecutionStatus.FAILED, "no such order", "child-failed",
    )
    assert e.execution.workflow_name == "process_order"
    host.record = execution_record(execution_id="c2", status=WitStatus.CANCELLED, error_message=None)
    with pytest.raises(ChildExecutionFailed, match=r"^child execution c2 \(sync\) ended Cancelled$"):
        run(workflows.execute("sync"))


def test_an_unknown_workflow_is_a_value_error_naming_it(host: Any) -> None:
    host.error = error("NotFound", "nope")
    for call in (workflows.execute("nope"), workflows.start("nope", {"a": 1})):
        with pytest.raises(ValueError) as raised:
            run(call)
        assert isinstance(raised.value, WorkflowNotFound)
        assert str(raised.value) == 'workflow "nope" is not deployed'
        assert raised.value.workflow_name == "nope"
    # `wait` of an id that is no child: the execution is not found.
    with pytest.raises(ExecutionNotFound):
        run(workflows.wait("00000000-0000-0000-0000-000000000001"))


def test_limit_reached_is_typed(host: Any) -> None:
    host.error = error("LimitReached", "depth 8")
    with pytest.raises(LimitReached, match="^limit reached: depth 8$"):
        run(workflows.execute("again"))


def test_start_and_wait(host: Any) -> None:
    child = run(workflows.start("sync", [1, 2]))
    assert host.calls == [("start", ("sync", "[1,2]"))]
    host.children[child] = execution_record(
        execution_id=child, status=WitStatus.RUNNING, parent_execution_id=host.current
    )
    record = run(workflows.wait(child, timeout=0.25))
    assert host.calls[-1] == ("wait", (child, 250))
    assert record.status == ExecutionStatus.RUNNING
    assert record.parent_execution_id == host.current
    run(workflows.wait(child))
    assert host.calls[-1] == ("wait", (child, None))
    for bad in (-1, "1", True, float("nan")):
        with pytest.raises(TypeError):
            run(workflows.wait(child, timeout=bad))
    with pytest.raises(TypeError):
        run(workflows.start("sync", {"x": object()}))
    with pytest.raises(TypeError):
        run(workflows.execute(3))  # type: ignore[arg-type]


def test_list_and_get(host: Any) -> None:
    host.deployed = [SimpleNamespace(name="sync", version="ab" * 32, deployed_at=when("2026-04-20T08:00:00Z"))]
    (info,) = run(workflows.list())
    assert (info.name, info.version, info.deployed_at.isoformat()) == (
        "sync", "ab" * 32, "2026-04-20T08:00:00+00:00",
    )
    host.record = execution_record()
    assert run(workflows.get("00000000-0000-0000-0000-000000001000")).workflow_name == "sync"
    assert host.calls[-1] == ("get", ("00000000-0000-0000-0000-000000001000",))


def test_the_parent_in_context(host: Any) -> None:
    assert context.parent_execution_id() is None
    host.parent = "00000000-0000-0000-0000-0000000000aa"
    assert context.parent_execution_id() == "00000000-0000-0000-0000-0000000000aa"
