"""Kernel subshells (ipykernel 7): a cell in a subshell neither triggers nor breaks a reload.

A subshell is created over the control channel (``create_subshell_request``) and runs the cells
whose header carries its ``subshell_id`` on a thread of its own, concurrently with the main
shell. Only the main shell reloads; edits stay pending until the main shell's next cell.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import Any

import pytest

from .harness import CELL_TIMEOUT, Cell, Notebook

SUBSHELLS_FEATURE = "kernel subshells"

VERSION_1 = "def version():\n    return 1\n"
VERSION_2 = "def version():\n    return 2\n"


class Traffic:
    """Requests sent without waiting, and everything the kernel answers, sorted per request.

    ``Notebook.run`` discards messages for other requests while it waits; with a main shell and
    a subshell busy at once, every message must be kept for the request it answers.
    """

    def __init__(self, notebook: Notebook) -> None:
        self.client = notebook.client
        self.cells: dict[str, Cell] = {}
        self.idle: set[str] = set()
        self.replies: dict[str, dict[str, Any]] = {}

    def execute(self, code: str, *, subshell_id: str | None = None) -> str:
        request = self.client.session.msg(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": True,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
        )
        if subshell_id is not None:
            request["header"]["subshell_id"] = subshell_id
        self.client.shell_channel.send(request)
        msg_id: str = request["header"]["msg_id"]
        self.cells[msg_id] = Cell(status="")
        return msg_id

    def wait_until(self, condition: Callable[[], bool], timeout: float = CELL_TIMEOUT) -> None:
        """Sort iopub messages into their cells until ``condition`` holds."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            try:
                message = self.client.get_iopub_msg(timeout=max(remaining, 0.01))
            except queue.Empty:
                raise AssertionError(f"no answer within {timeout}s: {self.cells}") from None
            self._sort(message)

    def finish(self, msg_id: str, timeout: float = CELL_TIMEOUT) -> Cell:
        """Wait for the cell's last output and its execute_reply."""
        self.wait_until(lambda: msg_id in self.idle, timeout)
        deadline = time.monotonic() + timeout
        while msg_id not in self.replies:
            remaining = deadline - time.monotonic()
            reply = self.client.get_shell_msg(timeout=max(remaining, 0.01))
            self.replies[reply["parent_header"]["msg_id"]] = reply
        cell = self.cells[msg_id]
        cell.status = self.replies[msg_id]["content"]["status"]
        return cell

    def _sort(self, message: dict[str, Any]) -> None:
        cell = self.cells.get(message["parent_header"].get("msg_id", ""))
        if cell is None:
            return
        kind, content = message["msg_type"], message["content"]
        if kind == "status":
            if content["execution_state"] == "idle":
                self.idle.add(message["parent_header"]["msg_id"])
            return
        if kind == "execute_input":
            return
        cell.add_output(kind, content)


def kernel_features(notebook: Notebook) -> list[str]:
    reply = notebook.client.kernel_info(reply=True, timeout=CELL_TIMEOUT)
    features: list[str] = reply["content"].get("supported_features", [])
    return features


def create_subshell(notebook: Notebook) -> str:
    client = notebook.client
    request = client.session.msg("create_subshell_request", {})
    client.control_channel.send(request)
    reply = client.get_control_msg(timeout=CELL_TIMEOUT)
    assert reply["parent_header"]["msg_id"] == request["header"]["msg_id"]
    assert reply["content"]["status"] == "ok", reply["content"]
    subshell_id: str = reply["content"]["subshell_id"]
    return subshell_id


@pytest.fixture
def subshell(notebook: Notebook) -> str:
    """The id of a new subshell of the ``notebook`` kernel (skips where there are none)."""
    if SUBSHELLS_FEATURE not in kernel_features(notebook):
        pytest.skip("this ipykernel has no kernel subshells (they arrived in ipykernel 7)")
    return create_subshell(notebook)


def test_subshell_cell_after_an_edit_does_not_reload_and_next_main_cell_does(
    notebook: Notebook, subshell: str
) -> None:
    notebook.write("versioned.py", VERSION_1)
    notebook.run("from versioned import version").check()
    notebook.write("versioned.py", VERSION_2)
    traffic = Traffic(notebook)

    in_subshell = traffic.finish(traffic.execute("version()", subshell_id=subshell)).check()
    in_main_shell = notebook.run("version()").check()

    assert (in_subshell.result, in_subshell.stderr) == ("1", "")
    assert (in_main_shell.result, in_main_shell.stderr) == ("2", "↻ reloaded versioned (version)\n")


def test_edit_saved_while_main_cell_runs_is_left_to_main_shell_by_a_concurrent_subshell_cell(
    notebook: Notebook, subshell: str
) -> None:
    notebook.write("versioned.py", VERSION_1)
    notebook.run("from versioned import version\nimport threading\nrelease = threading.Event()")
    traffic = Traffic(notebook)
    # Results are printed: while two shells run at once, ipykernel 7.4's displayhook may send
    # an execute_result under the other cell's header (its parent header is not per thread).
    main_cell = traffic.execute(
        "print('waiting', flush=True)\nassert release.wait(60)\nprint('main sees', version())"
    )
    traffic.wait_until(lambda: "waiting" in traffic.cells[main_cell].stdout)

    notebook.write("versioned.py", VERSION_2)
    in_subshell = traffic.execute(
        "release.set()\nprint('subshell sees', version())", subshell_id=subshell
    )
    in_subshell_cell = traffic.finish(in_subshell).check()
    running_main = traffic.finish(main_cell).check()
    next_main = notebook.run("version()").check()

    assert (in_subshell_cell.stdout, in_subshell_cell.stderr) == ("subshell sees 1\n", "")
    assert (running_main.stdout, running_main.stderr) == ("waiting\nmain sees 1\n", "")
    assert (next_main.result, next_main.stderr) == ("2", "↻ reloaded versioned (version)\n")


def test_module_first_imported_in_a_subshell_is_reloaded_by_the_main_shell(
    notebook: Notebook, subshell: str
) -> None:
    notebook.write("versioned.py", VERSION_1)
    traffic = Traffic(notebook)
    traffic.finish(traffic.execute("import versioned", subshell_id=subshell)).check()
    notebook.write("versioned.py", VERSION_2)

    in_main_shell = notebook.run("versioned.version()").check()

    assert (in_main_shell.result, in_main_shell.stderr) == ("2", "↻ reloaded versioned (version)\n")


def test_name_imported_in_a_subshell_cell_is_rebound_after_the_main_shell_reloads(
    notebook: Notebook, subshell: str
) -> None:
    notebook.write("limits.py", "LIMIT = 1\n")
    traffic = Traffic(notebook)
    traffic.finish(traffic.execute("from limits import LIMIT", subshell_id=subshell)).check()
    notebook.write("limits.py", "LIMIT = 20\n")

    in_main_shell = notebook.run("LIMIT").check()

    assert (in_main_shell.result, in_main_shell.stderr) == ("20", "↻ reloaded limits\n")
