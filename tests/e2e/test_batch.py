"""Batch clients: nbclient and papermill run notebooks that edit a module halfway through.

Each notebook writes ``shapes.py``, imports from it, rewrites it and checks the new behaviour in
a later cell, all with the "autoreload" kernel. A run must finish with no ``error`` output
(papermill fails a whole run on one), and the reload must be reported on the cell's stderr.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat import NotebookNode
from traitlets.config import Config

from .harness import CELL_TIMEOUT, KERNEL_NAME, START_TIMEOUT, kernel_environment, short_ipc_path

PAPERMILL_TIMEOUT = 180

WRITE_VERSION_1 = """\
from pathlib import Path
Path("shapes.py").write_text("def describe():\\n    return 'version 1'\\n")
"""
IMPORT_AND_CHECK_VERSION_1 = """\
from shapes import describe
assert describe() == "version 1", describe()
"""
WRITE_BROKEN_VERSION = """\
Path("shapes.py").write_text("def describe(:\\n    return 'broken'\\n")
"""
CHECK_STILL_VERSION_1 = """\
assert describe() == "version 1", describe()
"""


def write_version(greeting_expression: str) -> str:
    """A cell that rewrites shapes.py so describe() returns the value of the expression."""
    return (
        f"source = 'def describe():\\n    return ' + repr({greeting_expression}) + '\\n'\n"
        "source += 'def added():\\n    return \"added later\"\\n'\n"
        'Path("shapes.py").write_text(source)\n'
    )


def check_version(greeting_expression: str) -> str:
    """A cell that checks the notebook's own ``describe`` and a newly added name."""
    return (
        f"assert describe() == {greeting_expression}, describe()\n"
        "from shapes import added\n"
        'assert added() == "added later"\n'
    )


def notebook_of(*sources: str, parameters: str | None = None) -> NotebookNode:
    cells = []
    if parameters is not None:
        cells.append(nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    cells.extend(nbformat.v4.new_code_cell(source) for source in sources)
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": KERNEL_NAME,
        "display_name": "Python (autoreload)",
        "language": "python",
    }
    return notebook


EDIT_STORY = notebook_of(
    WRITE_VERSION_1,
    IMPORT_AND_CHECK_VERSION_1,
    write_version("new_greeting"),
    check_version("new_greeting"),
    parameters='new_greeting = "version 2"',
)

FAILED_EDIT_STORY = notebook_of(
    WRITE_VERSION_1,
    IMPORT_AND_CHECK_VERSION_1,
    WRITE_BROKEN_VERSION,
    CHECK_STILL_VERSION_1,
    write_version('"version 2"'),
    check_version('"version 2"'),
)


def error_outputs(notebook: NotebookNode) -> list[NotebookNode]:
    return [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]


def stderr_of(cell: NotebookNode) -> str:
    return "".join(
        output.text
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stderr"
    )


def cell_with_source(notebook: NotebookNode, source: str) -> NotebookNode:
    (cell,) = [cell for cell in notebook.cells if cell.source == source]
    return cell


def run_with_papermill(notebook: NotebookNode, workdir: Path, *options: str) -> NotebookNode:
    """Run papermill's command line the way a user does; fail with its output if it fails."""
    source, executed = workdir / "story.ipynb", workdir / "story.out.ipynb"
    nbformat.write(notebook, source)
    command = [sys.executable, "-m", "papermill", str(source), str(executed)]
    command += ["--kernel", KERNEL_NAME, "--cwd", str(workdir), "--no-progress-bar", *options]
    finished = subprocess.run(
        command,
        env=kernel_environment(),
        capture_output=True,
        text=True,
        timeout=PAPERMILL_TIMEOUT,
    )
    assert finished.returncode == 0, finished.stderr
    return nbformat.read(executed, as_version=4)


@pytest.fixture
def ipc_socket_path() -> Iterator[str]:
    """A short socket path of this test's own, so parallel workers never share ports."""
    path = short_ipc_path()
    yield path
    shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def test_nbclient_runs_edit_story_and_sees_the_rewritten_module(
    tmp_path: Path, ipc_socket_path: str
) -> None:
    # nbclient creates (and shuts down) its own kernel manager; config picks its transport.
    on_ipc = Config({"KernelManager": {"transport": "ipc", "ip": ipc_socket_path}})
    client = NotebookClient(
        nbformat.from_dict(EDIT_STORY),
        config=on_ipc,
        timeout=CELL_TIMEOUT,
        startup_timeout=START_TIMEOUT,
        resources={"metadata": {"path": str(tmp_path)}},
    )

    executed = client.execute()

    assert error_outputs(executed) == []
    after_edit = cell_with_source(executed, check_version("new_greeting"))
    assert stderr_of(after_edit) == "↻ reloaded shapes\n"


def test_papermill_runs_edit_story_with_injected_parameters(tmp_path: Path) -> None:
    executed = run_with_papermill(EDIT_STORY, tmp_path, "-p", "new_greeting", "version 3")

    assert error_outputs(executed) == []
    injected = [cell for cell in executed.cells if "injected-parameters" in cell.metadata.tags]
    assert [cell.source.strip().splitlines()[-1] for cell in injected] == [
        'new_greeting = "version 3"'
    ]
    assert "reloaded shapes" in stderr_of(cell_with_source(executed, check_version("new_greeting")))


def test_papermill_run_succeeds_when_an_edit_fails_to_import(tmp_path: Path) -> None:
    executed = run_with_papermill(FAILED_EDIT_STORY, tmp_path)

    assert error_outputs(executed) == []
    broken = stderr_of(cell_with_source(executed, CHECK_STILL_VERSION_1))
    assert "reload failed: shapes.py line 1: SyntaxError" in broken
    fixed = stderr_of(cell_with_source(executed, check_version('"version 2"')))
    assert "reloaded shapes" in fixed
