"""The component's export, used by the app module `bifrost-build` generates.

componentize-py imports the app module while it builds the component and snapshots the
interpreter after that, so `prepare` (logging) and the workflow module's own top-level code
run once, at build time.
"""

from __future__ import annotations

import sys

import wit_world
from componentize_py_types import Err

from . import _host, _workflow, handler


def prepare() -> None:
    """Everything a workflow finds set up: the host's imports, Python's logging into the execution's log, and
    `print` written out line by line (the host records each stdout line as an `INFO` line and
    each stderr line as an `ERROR` line, so a printed line is in the log when the next call
    reads it)."""
    # The generated bindings exist only while componentize-py builds the component: import
    # them now, into the snapshot.
    _host.install(_host.WitHost())
    handler.install()
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)


class WitWorld(wit_world.WitWorld):  # type: ignore[misc]
    """The world's `run` export: the registered workflow on the execution's input."""

    def run(self, input: str) -> str:
        try:
            return _workflow.run(input)
        except _workflow.Failure as failure:
            raise Err(failure.message) from None
