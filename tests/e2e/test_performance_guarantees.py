"""Free when idle, without missing an edit: checked through real kernels, without any timing.

"Costs nothing" is asserted as "looks at no file": an idle cell must not stat or read any
tracked file (the kernel's watcher answers from its event queue). The benchmark
(``benchmarks/run.py``) measures the time; these tests guard the mechanism and its guarantee.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .harness import CELL_TIMEOUT, Notebook

#: Records the files the reloader looks at (stat or read) from now on, in ``_files_looked_at``:
#: in the reload step and on the thread that compiles saved modules ahead of the cell.
COUNT_LOOKS = """
import json
import reload_kernel.engine.ahead as _ahead, reload_kernel.engine.reloader as _engine
_files_looked_at = set()
def _recording(real):
    def looking(path):
        _files_looked_at.add(path)
        return real(path)
    return looking
_engine.stat_stamp = _recording(_engine.stat_stamp)
_engine.read_snapshot = _recording(_engine.read_snapshot)
_ahead.read_snapshot = _recording(_ahead.read_snapshot)
"""


def write_modules(notebook: Notebook, count: int) -> list[str]:
    names = [f"mod_{index:02d}" for index in range(count)]
    for name in names:
        notebook.write(f"pkg/{name}.py", f"VALUE = {name!r}\n")
    notebook.write("pkg/__init__.py", "")
    return names


def test_idle_cells_look_at_no_file(notebook: Notebook) -> None:
    names = write_modules(notebook, 30)
    notebook.run("import " + ", ".join(f"pkg.{name}" for name in names)).check()
    notebook.run(COUNT_LOOKS).check()

    for _ in range(5):
        notebook.run("x = 1").check()

    assert notebook.value("len(_files_looked_at)") == "0"


def test_a_cell_after_one_edit_looks_at_that_file_only(notebook: Notebook) -> None:
    names = write_modules(notebook, 30)
    notebook.run("import " + ", ".join(f"pkg.{name}" for name in names)).check()
    notebook.run(COUNT_LOOKS).check()

    edited = notebook.write("pkg/mod_07.py", "VALUE = 'edited'\n")
    cell = notebook.run("print(json.dumps([pkg.mod_07.VALUE, sorted(_files_looked_at)]))")

    assert json.loads(cell.check().stdout) == ["edited", [str(edited)]]


@pytest.mark.parametrize("poll", [False, True], ids=["inotify", "polling"])
def test_every_same_size_edit_saved_before_a_cell_is_seen_by_that_cell(
    tmp_path: Path, poll: bool
) -> None:
    env = {"RELOAD_KERNEL_POLL": "1"} if poll else {"RELOAD_KERNEL_POLL": ""}
    with Notebook(tmp_path / "work", env=env) as notebook:
        notebook.write("m.py", "VALUE = 'v00'\n")
        notebook.run("import m").check()
        uses_inotify = notebook.value("get_ipython().kernel.reloader._watcher.uses_inotify")
        assert uses_inotify == str(not poll)

        seen = []
        for version in range(1, 40):
            # Same size each time, saved moments before the cell: same mtime tick, often.
            notebook.write("m.py", f"VALUE = 'v{version:02d}'\n")
            seen.append(notebook.value("m.VALUE"))

        assert seen == [f"'v{version:02d}'" for version in range(1, 40)]


def test_edit_saved_by_renaming_over_the_file_is_seen(notebook: Notebook) -> None:
    path = notebook.write("m.py", "VALUE = 'old'\n")
    notebook.run("import m").check()

    temporary = path.with_name("m.py.tmp")
    temporary.write_text("VALUE = 'new'\n", encoding="utf-8")
    temporary.replace(path)

    assert notebook.value("m.VALUE") == "'new'"


#: A silent request (it runs no reload step) that lets the kernel's event loop run until the
#: old box is freed, or ten seconds have passed.
WAIT_UNTIL_IDLE_WORK_FREES_IT = """
import asyncio, time
_deadline = time.monotonic() + 10
while first_box() is not None and time.monotonic() < _deadline:
    await asyncio.sleep(0.001)
"""


def test_what_a_reload_replaced_is_freed_once_the_cell_is_done(notebook: Notebook) -> None:
    """The module versions a reload step replaced are freed when the kernel is idle after the
    cell's reply, not on the cell's way: nothing runs a reload step meanwhile."""
    notebook.write("boxes.py", "class Box:\n    pass\n")
    source = "import boxes\nBOX = boxes.Box()\nVERSION = {version}\n"
    notebook.write("m.py", source.format(version=1))
    notebook.run("import m, weakref\nfirst_box = weakref.ref(m.BOX)").check()

    notebook.write("m.py", source.format(version=2))
    reloading = notebook.run("m.VERSION, first_box() is m.BOX, first_box() is not None").check()
    reply = notebook.client.execute_interactive(
        WAIT_UNTIL_IDLE_WORK_FREES_IT,
        silent=True,
        user_expressions={"freed": "first_box() is None"},
        timeout=CELL_TIMEOUT,
    )

    assert reloading.result == "(2, False, True)"  # (still there while the cell ran)
    assert reply["content"]["user_expressions"]["freed"]["data"]["text/plain"] == "True"
