"""The @workflow entry point: input as keyword arguments, results, failures, asyncio."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from bifrost import _workflow, executions, handler, workflow
from bifrost._loop import run as run_loop
from bifrost._workflow import Failure
from conftest import execution_record


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    _workflow._registered = None
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    root.handlers = []
    yield
    _workflow._registered = None
    root.handlers, root.level = saved


def test_input_keys_are_keyword_arguments_and_the_result_is_json(host: Any) -> None:
    @workflow
    async def greet(name: str, times: int = 1) -> dict[str, Any]:
        return {"greeting": " ".join([f"Hello, {name}!"] * times), "at": datetime(2026, 4, 25, tzinfo=timezone.utc)}

    assert json.loads(_workflow.run('{"name": "Ada", "times": 2}')) == {
        "greeting": "Hello, Ada! Hello, Ada!",
        "at": "2026-04-25T00:00:00.000000Z",
    }
    assert greet.__bifrost_workflow__["name"] == "greet"


def test_plain_functions_and_empty_input_work(host: Any) -> None:
    @workflow(name="count", description="counts")
    def count(n: int = 3) -> list[int]:
        return list(range(n))

    assert _workflow.run("{}") == "[0,1,2]"
    assert _workflow.run("") == "[0,1,2]"
    assert _workflow.run("null") == "[0,1,2]"
    assert count.__bifrost_workflow__ == {"name": "count", "description": "counts"}


def test_an_uncaught_exception_fails_with_its_type_and_message_and_logs_the_traceback(host: Any) -> None:
    handler.install()

    @workflow
    async def broken() -> None:
        raise ValueError("the input has no name")

    with pytest.raises(Failure) as e:
        _workflow.run("{}")
    assert e.value.message == "ValueError: the input has no name"
    [(level, message, _)] = host.lines
    assert level == "ERROR"
    assert message.startswith("the workflow raised ValueError\nTraceback (most recent call last):")
    assert message.endswith("ValueError: the input has no name")


def test_sys_exit_in_a_workflow_fails_it(host: Any) -> None:
    import sys

    @workflow
    def leaves() -> None:
        sys.exit(3)

    with pytest.raises(Failure) as e:
        _workflow.run("{}")
    assert e.value.message == "SystemExit: 3"


def test_an_exception_without_a_message_is_named_alone(host: Any) -> None:
    @workflow
    def broken() -> None:
        raise LookupError()

    with pytest.raises(Failure) as e:
        _workflow.run("{}")
    assert e.value.message == "LookupError"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "the input must be a JSON object whose keys are the workflow's keyword arguments, not an array"),
        ('"x"', "the input must be a JSON object whose keys are the workflow's keyword arguments, not a string"),
        ("{nope", "the input is not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    ],
)
def test_input_that_is_not_an_object_fails_clearly(host: Any, text: str, message: str) -> None:
    @workflow
    def w() -> int:
        return 1

    with pytest.raises(Failure) as e:
        _workflow.run(text)
    assert e.value.message == message


def test_unknown_keyword_and_bad_result_fail_with_type_error(host: Any) -> None:
    @workflow
    def w(a: int) -> Any:
        return object() if a else float("inf")

    with pytest.raises(Failure) as e:
        _workflow.run('{"b": 1}')
    assert e.value.message.startswith("TypeError: ") and "unexpected keyword argument 'b'" in e.value.message
    with pytest.raises(Failure) as e:
        _workflow.run('{"a": 1}')
    assert e.value.message.startswith("TypeError: the workflow's result is not JSON-serialisable")
    with pytest.raises(Failure) as e:
        _workflow.run('{"a": 0}')
    assert e.value.message.startswith("ValueError: the workflow's result is not JSON-serialisable")


def test_no_workflow_and_two_workflows_are_errors() -> None:
    with pytest.raises(Failure, match="decorate the entry function with @workflow"):
        _workflow.run("{}")

    @workflow
    def one() -> None: ...

    def two() -> None: ...

    with pytest.raises(RuntimeError, match="one workflow per component"):
        workflow(two)


def test_asyncio_works_inside_a_workflow(host: Any) -> None:
    host.pages = [([execution_record()], None)]

    @workflow
    async def concurrent() -> dict[str, Any]:
        async def later(n: int) -> int:
            await asyncio.sleep(0.01 * n)
            return n

        numbers = await asyncio.gather(later(2), later(1), asyncio.create_task(later(0)))
        found = await asyncio.wait_for(executions.list(limit=1), timeout=1)
        return {"numbers": numbers, "found": [e.workflow_name for e in found]}

    assert json.loads(_workflow.run("{}")) == {"numbers": [2, 1, 0], "found": ["sync"]}


def test_awaiting_what_nothing_completes_fails_instead_of_hanging(host: Any) -> None:
    async def stuck() -> None:
        await asyncio.get_running_loop().create_future()

    with pytest.raises(RuntimeError, match="nothing will complete"):
        run_loop(stuck())
