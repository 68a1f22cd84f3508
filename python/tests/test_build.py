"""bifrost-build's checks before it runs componentize-py, and how it reports a failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from bifrost._build import BuildError, build, main, summarise, wit_dir


def test_the_wit_package_ships_with_the_package() -> None:
    text = (wit_dir() / "executions.wit").read_text()
    assert "package bifrost:executions@" in text and "world workflow" in text


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("my-workflow.py", "the file name must be a Python module name"),
        ("json.py", "`json` would hide a module of the same name"),
        ("bifrost.py", "`bifrost` would hide a module of the same name"),
        ("notes.txt", "a workflow is a Python file ending in .py"),
    ],
)
def test_files_the_component_could_not_import_are_refused(tmp_path: Path, name: str, message: str) -> None:
    source = tmp_path / name
    source.write_text("from bifrost import workflow\n")
    with pytest.raises(BuildError, match=message):
        build(source, tmp_path / "out.wasm")
    assert not (tmp_path / "out.wasm").exists()


def test_missing_inputs_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "absent.py")]) == 1
    assert capsys.readouterr().err == f"bifrost-build: {tmp_path / 'absent.py'}: no such file\n"
    source = tmp_path / "wf.py"
    source.write_text("")
    assert main([str(source), "-p", str(tmp_path / "nowhere")]) == 1
    assert "not a directory" in capsys.readouterr().err


def test_a_failed_import_shows_the_workflows_traceback_only() -> None:
    output = (
        "Traceback (most recent call last):\n"
        '  File "<string>", line 1, in <module>\n'
        "AssertionError: Traceback (most recent call last):\n"
        '  File "/0/wf.py", line 2, in <module>\n'
        "    import nosuchmod\n"
        "ModuleNotFoundError: No module named 'nosuchmod'\n"
        "\n\nCaused by:\n    ModuleNotFoundError: ...\n\nStack backtrace:\n   0: anyhow\n"
    )
    assert summarise(output) == (
        "importing the workflow failed while building:\n"
        "Traceback (most recent call last):\n"
        '  File "/0/wf.py", line 2, in <module>\n'
        "    import nosuchmod\n"
        "ModuleNotFoundError: No module named 'nosuchmod'"
    )
    assert summarise("error: world `x` not found\n\nStack backtrace:\n 0: f") == (
        "componentize-py failed:\nerror: world `x` not found"
    )
