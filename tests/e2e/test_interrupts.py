"""The interrupt button during a long reload: the kernel survives, no module is left half-loaded,
the cell is not run, and the next cell tries the reload again.

Two user modules are edited together: ``alpha`` (a function, a class the notebook holds an
instance of, a constant the notebook imported by name) and ``slow``, which imports from
``alpha`` and whose new top level takes as long as the test wants. ``alpha`` therefore loads
first; the interrupt lands while ``slow`` runs, after ``alpha``'s new version is in place: the
whole step must be rolled back, ``alpha`` included.

The kernel's state between the interrupt and the retry is read with a *silent* request's
``user_expressions``: silent requests never reload, so looking does not retry.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable, Iterator

import pytest

from .harness import CELL_TIMEOUT, Cell, Notebook, unique_name

WAIT_TIMEOUT = 60

ALPHA = """\
VALUE = {version}


def version():
    return {version}


class Thing:
    def version(self):
        return {version}
"""

SLOW_FAST_VERSION = """\
from {alpha} import VALUE as ALPHA


def version():
    return {version}
"""

#: Version 2 of ``slow``: announces that its top level started, then works until released.
SLOW_LONG_VERSION = """\
import time
from pathlib import Path

from {alpha} import VALUE as ALPHA

_here = Path(__file__).parent
(_here / "{key}_started").touch()
_deadline = time.monotonic() + 120
while not (_here / "{key}_release").exists():
    if time.monotonic() > _deadline:
        raise TimeoutError("the test never released this module")
    time.sleep(0.01)


def version():
    return {version}
"""


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.01)


def start_cell(notebook: Notebook, code: str) -> str:
    """Send a cell without waiting for it (so the test can press interrupt meanwhile)."""
    msg_id: str = notebook.client.execute(textwrap.dedent(code))
    return msg_id


def finish_cell(notebook: Notebook, msg_id: str) -> Cell:
    """Everything the frontend shows for a cell sent with ``start_cell``, and its reply."""
    cell = Cell(status="")
    deadline = time.monotonic() + CELL_TIMEOUT
    while True:
        message = notebook.client.get_iopub_msg(timeout=deadline - time.monotonic())
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = message["msg_type"], message["content"]
        if kind == "status":
            if content["execution_state"] == "idle":
                break
            continue
        if kind == "execute_input":
            continue
        cell.output_types.append(kind)
        if kind == "stream" and content["name"] == "stderr":
            cell.stderr += content["text"]
        elif kind == "stream":
            cell.stdout += content["text"]
        elif kind == "error":
            cell.error = (content["ename"], content["evalue"])
    while True:
        reply = notebook.client.get_shell_msg(timeout=deadline - time.monotonic())
        if reply["parent_header"].get("msg_id") == msg_id:
            cell.status = reply["content"]["status"]
            return cell


def run_silently(notebook: Notebook, code: str) -> None:
    """Run code without a reload step (a silent request), as frontends' own probes do."""
    reply = notebook.client.execute_interactive(code, silent=True, timeout=CELL_TIMEOUT)
    assert reply["content"]["status"] == "ok", reply["content"]


def peek(notebook: Notebook, expression: str) -> str:
    """Evaluate ``expression`` in the kernel without triggering a reload (silent request)."""
    reply = notebook.client.execute_interactive(
        "", silent=True, user_expressions={"value": expression}, timeout=CELL_TIMEOUT
    )
    result = reply["content"]["user_expressions"]["value"]
    assert result["status"] == "ok", result
    text: str = result["data"]["text/plain"]
    return text


@pytest.fixture(scope="module")
def notebook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Notebook]:
    with Notebook(tmp_path_factory.mktemp("interrupts") / "work") as running:
        yield running


@pytest.fixture
def session(notebook: Notebook) -> Iterator[Session]:
    """Two fresh modules; afterwards ``slow`` is released and loaded, so the shared kernel's
    next reload step does not wait for it."""
    started = Session(notebook)
    yield started
    started.release.touch()
    notebook.flush_iopub()
    notebook.run("pass").check()


class Session:
    """``alpha`` and ``slow`` imported; the notebook holds an instance, a name and a list."""

    def __init__(self, notebook: Notebook) -> None:
        self.notebook = notebook
        self.key = unique_name("i")
        self.alpha = f"alpha_{self.key}"
        self.slow = f"slow_{self.key}"
        self.started = notebook.workdir / f"{self.key}_started"
        self.release = notebook.workdir / f"{self.key}_release"
        notebook.write(f"{self.alpha}.py", ALPHA.format(version=1))
        notebook.write(f"{self.slow}.py", SLOW_FAST_VERSION.format(alpha=self.alpha, version=1))
        notebook.run(
            f"""
            import {self.alpha}, {self.slow}
            from {self.alpha} import VALUE
            keep = {self.alpha}.Thing()
            data = [1, 2, 3]
            """
        ).check()

    @property
    def state(self) -> str:
        """Every piece of both modules, and what the notebook holds of them."""
        a, s = self.alpha, self.slow
        return f"({a}.VALUE, {a}.version(), keep.version(), VALUE, {s}.ALPHA, {s}.version(), data)"

    @staticmethod
    def expected(version: int) -> str:
        return f"({', '.join([str(version)] * 6)}, [1, 2, 3])"

    def edit_both(self) -> None:
        self.notebook.write(f"{self.alpha}.py", ALPHA.format(version=2))
        slow = SLOW_LONG_VERSION.format(alpha=self.alpha, key=self.key, version=2)
        self.notebook.write(f"{self.slow}.py", slow)

    def interrupt_reload(self) -> Cell:
        """Run a cell whose reload step gets stuck in ``slow``; press interrupt meanwhile."""
        cell = start_cell(self.notebook, "cell_ran = True")
        wait_until(self.started.exists, "slow's new top level runs")
        self.notebook.manager.interrupt_kernel()
        return finish_cell(self.notebook, cell)


def test_interrupted_reload_leaves_every_module_as_it_was(
    notebook: Notebook, session: Session
) -> None:
    session.edit_both()

    session.interrupt_reload()

    assert peek(notebook, session.state) == session.expected(1)
    assert peek(notebook, f"' '.join(sorted(vars({session.slow})))") == (
        "'ALPHA __builtins__ __cached__ __doc__ __file__ __loader__ __name__ __package__ "
        "__spec__ version'"
    )


def test_next_cell_retries_the_interrupted_reload(notebook: Notebook, session: Session) -> None:
    session.edit_both()
    session.interrupt_reload()
    session.started.unlink()
    session.release.touch()

    retry = notebook.run(session.state)

    assert retry.status == "ok"
    assert retry.result == session.expected(2)
    assert f"↻ reloaded {session.alpha}, {session.slow}" in retry.stderr
    assert session.started.exists(), "slow's top level did not run again"


def test_interrupted_reload_says_so_and_does_not_run_the_cell(
    notebook: Notebook, session: Session
) -> None:
    # What a user who presses interrupt expects: the cell stops before it starts, like any
    # interrupted cell (the reply is an error, so "Run all" stops too), with words that say
    # the reload was abandoned and will be tried again.
    session.edit_both()

    interrupted = session.interrupt_reload()

    assert interrupted.status == "error"
    assert interrupted.error is not None and interrupted.error[0] == "KeyboardInterrupt"
    assert "reload interrupted" in interrupted.stderr
    assert peek(notebook, "'cell_ran' in dir()") == "False"


def test_interrupting_a_cell_after_a_reload_still_interrupts_the_cell(
    notebook: Notebook, session: Session
) -> None:
    # The reload step handles SIGINT itself while it runs: the kernel's own handling must be
    # back in place for the cell that follows.
    notebook.write(f"{session.alpha}.py", ALPHA.format(version=2))
    marker = notebook.workdir / f"{session.key}_cell_started"
    cell = start_cell(
        notebook,
        f"""
        import time, pathlib
        pathlib.Path({str(marker)!r}).touch()
        time.sleep(120)
        """,
    )
    wait_until(marker.exists, "the cell runs")
    notebook.manager.interrupt_kernel()

    interrupted = finish_cell(notebook, cell)

    # Seen once in CI and not since: IPython failed to format the interrupt ("Unexpected
    # exception formatting exception"). The whole of what the cell printed says where.
    everything_printed = f"stdout:\n{interrupted.stdout}\nstderr:\n{interrupted.stderr}"
    assert interrupted.status == "error", everything_printed
    assert interrupted.error is not None, everything_printed
    assert interrupted.error[0] == "KeyboardInterrupt", everything_printed
    assert f"↻ reloaded {session.alpha}" in interrupted.stderr
    assert notebook.value(f"{session.alpha}.version()") == "2"


# --- interrupts that land in the reloader's own bookkeeping ---------------------------------

INTERRUPT_AFTER_COMMIT = """\
import signal
_reloader = get_ipython().kernel.reloader
_commit = _reloader._commit

def _commit_then_interrupt(name, *args, **kwargs):
    _commit(name, *args, **kwargs)
    if name == {module!r}:
        signal.raise_signal(signal.SIGINT)  # as if the user pressed it right now

_reloader._commit = _commit_then_interrupt
"""


@pytest.mark.parametrize("interrupted_after", ["alpha", "slow"], ids=["first", "last"])
def test_interrupt_during_bookkeeping_rolls_back_the_whole_step(
    notebook: Notebook, session: Session, interrupted_after: str
) -> None:
    # The interrupt arrives right after a module was committed (between two modules, or
    # after the last one): it must neither leave the step half done nor be lost.
    module = session.alpha if interrupted_after == "alpha" else session.slow
    notebook.run(INTERRUPT_AFTER_COMMIT.format(module=module)).check()
    notebook.write(f"{session.alpha}.py", ALPHA.format(version=2))
    notebook.write(f"{session.slow}.py", SLOW_FAST_VERSION.format(alpha=session.alpha, version=2))
    try:
        interrupted = notebook.run("cell_ran_after_bookkeeping = True")
        assert "reload interrupted" in interrupted.stderr
        assert peek(notebook, session.state) == session.expected(1)
    finally:
        # Silently: a silent request runs no reload step, which would be interrupted again.
        run_silently(notebook, "_reloader._commit = _commit")

    retry = notebook.run(session.state)
    assert retry.result == session.expected(2)
    assert f"↻ reloaded {session.alpha}, {session.slow}" in retry.stderr


def test_interrupt_raised_by_module_code_is_a_failure_not_an_interrupt(
    notebook: Notebook, session: Session
) -> None:
    notebook.write(f"{session.slow}.py", "raise KeyboardInterrupt\n")

    cell = notebook.run("cell_ran_despite_module = True; data")

    assert cell.status == "ok"
    assert cell.result == "[1, 2, 3]"
    assert "reload failed" in cell.stderr and "KeyboardInterrupt" in cell.stderr
    assert "reload interrupted" not in cell.stderr
    assert notebook.run(session.state).stderr == "", "the failure must be reported once"


@pytest.fixture(autouse=True)
def _no_cell_left_running(notebook: Notebook) -> Iterator[None]:
    """Leave the shared kernel idle and quiet for the next test."""
    yield
    notebook.flush_iopub()
