"""What a cell shows about the reload step: one short line, failures once, nothing when idle."""

from __future__ import annotations

import queue
from typing import Any

import pytest

from .harness import CELL_TIMEOUT, Notebook, StartKernel

TWO_FUNCTIONS = """\
def first():
    return {first}

def second():
    return {second}

LIMIT = {limit}
"""


def two_functions(first: int = 1, second: int = 1, limit: int = 10) -> str:
    return TWO_FUNCTIONS.format(first=first, second=second, limit=limit)


# --- what is said after an edit -----------------------------------------------------------


@pytest.mark.parametrize(
    ("edited", "expected"),
    [
        pytest.param(two_functions(first=2), "↻ reloaded shapes (first)\n", id="one-function"),
        pytest.param(
            two_functions(first=2, second=2),
            "↻ reloaded shapes (first, second)\n",
            id="two-functions",
        ),
        pytest.param(two_functions(limit=20), "↻ reloaded shapes\n", id="top-level"),
    ],
)
def test_edit_is_announced_in_one_stderr_line(
    notebook: Notebook, edited: str, expected: str
) -> None:
    notebook.write("shapes.py", two_functions())
    notebook.run("import shapes").check()
    notebook.write("shapes.py", edited)

    cell = notebook.run("shapes.first(), shapes.second(), shapes.LIMIT").check()

    assert cell.stderr == expected
    assert cell.output_types == ["stream", "execute_result"]


def test_a_compiler_warning_of_the_new_version_is_shown_in_the_cell_that_loads_it(
    notebook: Notebook,
) -> None:
    notebook.write("warns.py", "def check(x):\n    return x == 1\n")
    notebook.run("import warns").check()
    notebook.run("pass").check()  # the module is watched from here on
    notebook.write("warns.py", "def check(x):\n\n    return x is 1\n")

    cell = notebook.run("warns.check(1)").check()

    assert cell.streams[0] == ("stderr", "↻ reloaded warns (check)\n")
    assert 'warns.py:3: SyntaxWarning: "is" with a literal' in cell.stderr
    assert cell.result == "True"


def test_edits_to_two_modules_are_announced_together(notebook: Notebook) -> None:
    notebook.write("alpha.py", "def f():\n    return 1\n")
    notebook.write("beta.py", "VALUE = 1\n")
    notebook.run("import alpha, beta").check()
    notebook.write("alpha.py", "def f():\n    return 2\n")
    notebook.write("beta.py", "VALUE = 2\n")

    cell = notebook.run("alpha.f() + beta.VALUE").check()

    assert cell.stderr == "↻ reloaded alpha (f), beta\n"
    assert cell.result == "4"


def test_reload_line_comes_before_everything_the_cell_prints(notebook: Notebook) -> None:
    notebook.write("chatty.py", "def talk():\n    return 1\n")
    notebook.run("import chatty").check()
    notebook.write("chatty.py", "def talk():\n    return 2\n")

    cell = notebook.run(
        "import sys\n"
        "print('out', chatty.talk())\n"
        "print('err', file=sys.stderr)\n"
        "sys.stderr.flush()\n"
        "print('out again')\n"
    ).check()

    assert cell.streams[0] == ("stderr", "↻ reloaded chatty (talk)\n")
    assert "".join(text for name, text in cell.streams[1:] if name == "stdout") == (
        "out 2\nout again\n"
    )
    assert "".join(text for name, text in cell.streams[1:] if name == "stderr") == "err\n"


def test_reload_line_comes_before_the_error_of_a_cell_that_raises(notebook: Notebook) -> None:
    notebook.write("chatty.py", "VALUE = 1\n")
    notebook.run("import chatty").check()
    notebook.write("chatty.py", "VALUE = 2\n")

    cell = notebook.run("raise ValueError(chatty.VALUE)")

    assert (cell.output_types, cell.error) == (["stream", "error"], ("ValueError", "2"))
    assert cell.stderr == "↻ reloaded chatty\n"


@pytest.mark.parametrize(
    ("edit", "line"),
    [
        pytest.param("VALUE = 2\n", "↻ reloaded fragile\n", id="reloaded"),
        pytest.param("VALUE = (\n", "⚠ reload failed: fragile.py line 1: SyntaxError", id="failed"),
    ],
)
def test_the_reload_line_is_shown_while_the_cell_still_runs(
    notebook: Notebook, edit: str, line: str
) -> None:
    """In a long cell, the user sees at once that the edit is in (or may stop the cell and fix
    the file), not when the cell ends."""
    notebook.write("fragile.py", "VALUE = 1\n")
    notebook.run("import fragile").check()
    notebook.write("fragile.py", edit)
    release = notebook.workdir / "release"
    msg_id = notebook.client.execute(
        f"import os, time\nwhile not os.path.exists({str(release)!r}):\n    time.sleep(0.01)\n"
    )
    try:
        shown = _first_output_while_running(notebook, msg_id)
    finally:
        release.write_text("", encoding="utf-8")  # the cell ends either way

    assert shown["name"] == "stderr"
    assert shown["text"].startswith(line)
    reply = notebook.client.get_shell_msg(timeout=CELL_TIMEOUT)
    assert reply["content"]["status"] == "ok"


def _first_output_while_running(notebook: Notebook, msg_id: str) -> dict[str, Any]:
    """The content of the cell's first output, which must come before the cell ends."""
    while True:
        try:
            message = notebook.client.get_iopub_msg(timeout=CELL_TIMEOUT)
        except queue.Empty:
            pytest.fail("nothing was shown while the cell ran")
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        kind = message["msg_type"]
        assert kind != "status" or message["content"]["execution_state"] != "idle", (
            "the cell ended before anything was shown"
        )
        if kind not in ("status", "execute_input"):
            content: dict[str, Any] = message["content"]
            return content


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(None, id="no-edit"),
        pytest.param("# a comment\ndef bar():\n    return 1\n", id="comment-added"),
        pytest.param("def bar():\n    return 1\n", id="same-bytes-saved-again"),
    ],
)
def test_cell_shows_nothing_when_nothing_changed(notebook: Notebook, edit: str | None) -> None:
    notebook.write("foo_file.py", "def bar():\n    return 1\n")
    notebook.run("from foo_file import bar").check()
    if edit is not None:
        notebook.write("foo_file.py", edit)

    cell = notebook.run("x = bar()").check()

    assert cell.output_types == []


# --- failures -----------------------------------------------------------------------------

BROKEN = [
    pytest.param(
        "def bar(:\n    return 2\n",
        "⚠ reload failed: foo_file.py line 1: SyntaxError: invalid syntax"
        " — still using the previous version\n"
        "    def bar(:\n",
        id="syntax-error",
    ),
    pytest.param(
        "def bar():\n    return 2\n\nsetting = undefined_name\n",
        "⚠ reload failed: foo_file.py line 4: NameError: name 'undefined_name' is not defined"
        " — still using the previous version\n"
        "    setting = undefined_name\n",
        id="error-while-running-the-module",
    ),
]


@pytest.mark.parametrize(("broken", "expected"), BROKEN)
def test_failed_reload_is_shown_once_with_file_and_line_and_the_cell_runs_on_the_old_code(
    notebook: Notebook, broken: str, expected: str
) -> None:
    notebook.write("foo_file.py", "def bar():\n    return 1\n")
    notebook.run("from foo_file import bar").check()
    notebook.write("foo_file.py", broken)

    failed = notebook.run("bar()").check()
    after = notebook.run("bar()").check()

    assert failed.stderr == expected
    assert failed.result == "1"
    assert "error" not in failed.output_types
    assert after.output_types == ["execute_result"]


def test_fixing_the_file_loads_it_and_says_so(notebook: Notebook) -> None:
    notebook.write("foo_file.py", "def bar():\n    return 1\n")
    notebook.run("from foo_file import bar").check()
    notebook.write("foo_file.py", "def bar(:\n    return 2\n")
    notebook.run("bar()").check()
    notebook.write("foo_file.py", "def bar():\n    return 3\n")

    cell = notebook.run("bar()").check()

    assert cell.stderr == "↻ reloaded foo_file (bar)\n"
    assert cell.result == "3"


def test_saving_the_same_mistake_again_after_undoing_it_is_shown_again(notebook: Notebook) -> None:
    good, broken = "def bar():\n    return 1\n", "def bar(:\n    return 2\n"
    notebook.write("foo_file.py", good)
    notebook.run("from foo_file import bar").check()
    notebook.write("foo_file.py", broken)
    notebook.run("bar()").check()
    notebook.write("foo_file.py", good)
    notebook.run("bar()").check()
    notebook.write("foo_file.py", broken)

    cell = notebook.run("bar()").check()

    assert cell.stderr.startswith("⚠ reload failed: foo_file.py line 1: SyntaxError")


def test_deleted_file_is_reported_once_and_the_module_keeps_working(notebook: Notebook) -> None:
    path = notebook.write("helpers.py", "def h():\n    return 'kept'\n")
    notebook.run("import helpers").check()
    path.unlink()

    first = notebook.run("helpers.h()").check()
    second = notebook.run("helpers.h()").check()

    assert first.stderr == (
        "⚠ helpers.py was deleted — module helpers keeps the version already loaded\n"
    )
    assert first.result == second.result == "'kept'"
    assert second.output_types == ["execute_result"]


# --- verbosity ----------------------------------------------------------------------------


def test_verbose_report_says_how_each_module_was_reloaded(start_kernel: StartKernel) -> None:
    notebook = start_kernel(extra_arguments=["--ReloadKernel.report=verbose"])
    notebook.write("foo_file.py", "def bar():\n    return 1\n")
    notebook.run("from foo_file import bar").check()
    notebook.write("foo_file.py", "def bar():\n    return 2\n")

    cell = notebook.run("bar()").check()

    assert cell.stderr == (
        "↻ reloaded foo_file (foo_file.py): function bodies updated in place; changed: bar\n"
    )


def test_verbose_report_names_rebound_notebook_names(start_kernel: StartKernel) -> None:
    notebook = start_kernel(extra_arguments=["--ReloadKernel.report=verbose"])
    notebook.write("settings.py", "LIMIT = 1\n")
    notebook.run("from settings import LIMIT").check()
    notebook.write("settings.py", "LIMIT = 2\n")

    cell = notebook.run("LIMIT").check()

    assert cell.stderr == (
        "↻ reloaded settings (settings.py): module re-run, objects updated in place\n"
        "↻ notebook names rebound: LIMIT\n"
    )
    assert cell.result == "2"


def test_report_off_says_nothing_even_about_failures(start_kernel: StartKernel) -> None:
    notebook = start_kernel(extra_arguments=["--ReloadKernel.report=off"])
    notebook.write("foo_file.py", "def bar():\n    return 1\n")
    notebook.write("other.py", "X = 1\n")
    notebook.run("from foo_file import bar; import other").check()
    notebook.write("foo_file.py", "def bar(:\n")
    notebook.write("other.py", "X = 2\n")

    cell = notebook.run("bar(), other.X").check()

    assert cell.output_types == ["execute_result"]
    assert cell.result == "(1, 2)"


# --- requests that skip the reload step ---------------------------------------------------


def test_silent_request_does_not_reload_and_the_next_cell_does(notebook: Notebook) -> None:
    notebook.write("foo_file.py", "def bar():\n    return 1\n")
    notebook.run("import foo_file").check()
    notebook.write("foo_file.py", "def bar():\n    return 2\n")

    silent = notebook.run("seen_by_silent = foo_file.bar()", silent=True).check()
    cell = notebook.run("seen_by_silent, foo_file.bar()").check()

    assert silent.output_types == []
    assert cell.stderr == "↻ reloaded foo_file (bar)\n"
    assert cell.result == "(1, 2)"


# --- interrupting the reload step ---------------------------------------------------------

#: Its top level works for two minutes while ``slow.flag`` exists. In short sleeps: the test
#: interrupts right after the print, and a SIGINT that lands between the print and the start
#: of one long ``time.sleep`` (CPython acts on it between bytecodes) would wait for its end.
SLOW_MODULE = """\
import pathlib
import time

VALUE = {value}
if pathlib.Path("slow.flag").exists():
    print("reloading slowly", flush=True)
    _deadline = time.monotonic() + 120
    while time.monotonic() < _deadline:
        time.sleep(0.01)
"""


def interrupt_and_wait_for_reply(notebook: Notebook) -> dict[str, Any]:
    """Press interrupt once; the cell's reply. Without one, press again to tell a lost
    interrupt from a kernel that no longer answers (the test fails either way)."""
    notebook.manager.interrupt_kernel()
    try:
        reply: dict[str, Any] = notebook.client.get_shell_msg(timeout=CELL_TIMEOUT)
        return reply
    except queue.Empty:
        notebook.manager.interrupt_kernel()
    try:
        notebook.client.get_shell_msg(timeout=CELL_TIMEOUT)
    except queue.Empty:
        pytest.fail("no reply to the interrupted cell, not even after a second interrupt")
    pytest.fail("the first interrupt was not acted on (a second one was)")


def test_interrupt_during_the_reload_stops_the_cell_and_the_edit_loads_next_time(
    notebook: Notebook,
) -> None:
    notebook.write("slow.py", SLOW_MODULE.format(value=1))
    notebook.run("import slow").check()
    notebook.write("slow.flag", "")
    notebook.write("slow.py", SLOW_MODULE.format(value=2))

    msg_id = notebook.client.execute("ran = True")
    outputs = []
    while True:  # wait until the module's top level runs inside the reload step
        message = notebook.client.get_iopub_msg(timeout=CELL_TIMEOUT)
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        outputs.append(message)
        if message["msg_type"] == "stream" and "reloading slowly" in message["content"]["text"]:
            break
    reply = interrupt_and_wait_for_reply(notebook)
    while (
        outputs[-1]["msg_type"] != "status" or outputs[-1]["content"]["execution_state"] != "idle"
    ):
        message = notebook.client.get_iopub_msg(timeout=CELL_TIMEOUT)
        if message["parent_header"].get("msg_id") == msg_id:
            outputs.append(message)
    (notebook.workdir / "slow.flag").unlink()

    errors = [message["content"] for message in outputs if message["msg_type"] == "error"]
    stderr = "".join(
        message["content"]["text"]
        for message in outputs
        if message["msg_type"] == "stream" and message["content"]["name"] == "stderr"
    )
    assert stderr == (
        "↻ reload interrupted: every module keeps its previous version;"
        " the next cell reloads them\n"
    )
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert [(error["ename"], error["evalue"]) for error in errors] == [
        ("KeyboardInterrupt", "interrupted while reloading; this cell was not run")
    ]
    after = notebook.run("'ran' in dir(), slow.VALUE").check()
    assert after.stderr == "↻ reloaded slow\n"
    assert after.result == "(False, 2)"
