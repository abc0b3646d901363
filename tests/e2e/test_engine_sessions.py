"""Edits inside a module that a one-edit table row cannot express: timing and multi-step sessions.

Adversarial timing (no sleeps anywhere): an edit saved immediately before a cell, same-size edits
within one clock second (with a bytecode cache on disk, as on users' machines), an edit made by a
thread while the cell runs. Multi-step: a failed reload retried on the next change, a deleted file
restored, an in-place update that is impossible said once and never raising afterwards.
"""

from __future__ import annotations

import importlib.util
import os
import py_compile
import re
import shutil
import sys
import time
import zipfile
from pathlib import Path

from .harness import Notebook

WARNING = "⚠"
RELOADED = "↻"


def set_mtime(path: Path, seconds: int) -> None:
    """Give ``path`` the modification time ``seconds`` (whole seconds, like FAT or old ext3)."""
    os.utime(path, ns=(seconds * 1_000_000_000, seconds * 1_000_000_000))


# --- adversarial timing ---------------------------------------------------------------------


def test_each_edit_saved_right_before_a_cell_is_seen_by_that_cell(notebook: Notebook) -> None:
    notebook.write("counter.py", "N = 0\n")
    notebook.run("import counter").check()
    seen = []
    for n in range(1, 11):  # same size every time: only the content tells them apart
        notebook.write("counter.py", f"N = {n}\n")
        seen.append(notebook.value("counter.N"))

    assert seen == [str(n) for n in range(1, 11)]


def test_two_same_size_edits_within_one_second_are_both_seen(notebook: Notebook) -> None:
    second = int(time.time())
    path = notebook.write("fast.py", "def f():\n    return 'aaa'\n")
    set_mtime(path, second)
    notebook.run("from fast import f").check()

    notebook.write("fast.py", "def f():\n    return 'bbb'\n")
    set_mtime(path, second)
    first = notebook.value("f()")
    notebook.write("fast.py", "def f():\n    return 'ccc'\n")
    set_mtime(path, second)
    second_edit = notebook.value("f()")

    assert (first, second_edit) == ("'bbb'", "'ccc'")


def test_stale_bytecode_with_matching_mtime_and_size_is_never_used(notebook: Notebook) -> None:
    # The .pyc is written by this interpreter for the kernel's: they must share a cache tag.
    assert notebook.value("import sys; sys.implementation.cache_tag") == repr(
        sys.implementation.cache_tag
    )
    second = int(time.time()) - 10
    path = notebook.write("cached.py", "VALUE = 'from the old bytecode'\n")
    set_mtime(path, second)
    py_compile.compile(str(path), cfile=importlib.util.cache_from_source(str(path)))
    notebook.write("cached.py", "VALUE = 'from the new source!!'\n")
    set_mtime(path, second)  # same size, same mtime: the .pyc header still "matches"

    assert notebook.value("import cached; cached.VALUE") == "'from the new source!!'"

    notebook.write("cached.py", "VALUE = 'from the newer source!'\n")
    set_mtime(path, second)
    assert notebook.value("cached.VALUE") == "'from the newer source!'"


def test_edit_made_by_a_thread_while_the_cell_runs_is_seen_by_the_next_cell(
    notebook: Notebook,
) -> None:
    notebook.write("live.py", "def f():\n    return 'before'\n")
    notebook.run("from live import f").check()

    during = notebook.run(
        """
        import threading
        def save():
            with open('live.py', 'w') as file:
                file.write("def f():\\n    return 'after!'\\n")
        saver = threading.Thread(target=save)
        saver.start()
        saver.join()
        f()
        """
    ).check()

    assert during.result == "'before'"  # the edit came after this cell's reload step
    assert notebook.value("f()") == "'after!'"


def test_module_imported_then_edited_in_the_same_cell_is_reloaded_by_the_next(
    notebook: Notebook,
) -> None:
    notebook.write("same_cell.py", "X = 'as imported'\n")

    notebook.run(
        """
        import same_cell
        with open('same_cell.py', 'w') as file:
            file.write("X = 'edited after'\\n")
        """
    ).check()

    assert notebook.value("same_cell.X") == "'edited after'"


# --- multi-step sessions --------------------------------------------------------------------


def test_failed_module_is_retried_on_its_next_change(notebook: Notebook) -> None:
    notebook.write("flaky.py", "def f():\n    return 1\n")
    notebook.run("from flaky import f").check()

    notebook.write("flaky.py", "def f():\n    return 2\nraise ValueError('not yet')\n")
    failed = notebook.run("f()").check()
    repeat = notebook.run("f()").check()
    notebook.write("flaky.py", "def f():\n    return 3\n")
    fixed = notebook.run("f()").check()

    assert failed.result == "1"
    assert WARNING in failed.stderr and "ValueError" in failed.stderr
    assert "flaky.py" in failed.stderr and "line 3" in failed.stderr
    assert repeat.stderr == ""  # shown once
    assert fixed.result == "3"
    assert RELOADED in fixed.stderr and WARNING not in fixed.stderr


def test_deleted_file_then_restored_with_an_edit_is_reloaded(notebook: Notebook) -> None:
    path = notebook.write("gone.py", "X = 1\n")
    notebook.run("import gone").check()

    path.unlink()
    deleted = notebook.run("gone.X").check()
    still_deleted = notebook.run("gone.X").check()
    notebook.write("gone.py", "X = 2\n")
    restored = notebook.run("gone.X").check()

    assert (deleted.result, deleted.stderr.count(WARNING)) == ("1", 1)
    assert "gone.py" in deleted.stderr
    assert still_deleted.stderr == ""
    assert restored.result == "2"


def test_impossible_in_place_update_is_said_once_and_later_cells_never_raise(
    notebook: Notebook,
) -> None:
    notebook.write(
        "point.py",
        """\
        import dataclasses
        @dataclasses.dataclass
        class Point:
            x: int
        """,
    )
    notebook.run("from point import Point; p = Point(1)").check()

    notebook.write(
        "point.py",
        """\
        import dataclasses
        @dataclasses.dataclass
        class Point:
            x: int
            y: int
        """,
    )
    changed = notebook.run("p, Point(1, 2)").check()
    later = notebook.run("p, Point(3, 4)").check()
    notebook.write(
        "point.py",
        """\
        import dataclasses
        @dataclasses.dataclass
        class Point:
            x: int
            y: int
            def norm1(self):
                return abs(self.x) + abs(self.y)
        """,
    )
    edited_again = notebook.run("Point(3, -4).norm1(), p").check()

    assert changed.result == "(Point(x=1), Point(x=1, y=2))"
    assert changed.stderr.count(WARNING) == 1 and "Point" in changed.stderr
    assert later.stderr == ""
    assert edited_again.result == "(7, Point(x=1))"
    assert WARNING not in edited_again.stderr


def test_old_instances_follow_three_generations_of_a_class(notebook: Notebook) -> None:
    notebook.write("gen.py", "class K:\n    def v(self):\n        return 1\n")
    notebook.run("from gen import K; first = K()").check()
    notebook.write("gen.py", "class K:\n    def v(self):\n        return 2\n")
    notebook.run("second = K()").check()
    notebook.write("gen.py", "class K:\n    LIMIT = 3\n    def v(self):\n        return 3\n")

    assert notebook.value("first.v(), second.v(), type(first) is type(second) is K") == (
        "(3, 3, True)"
    )


def test_traceback_shown_for_reloaded_code_has_file_line_and_source(notebook: Notebook) -> None:
    notebook.write("boom.py", "def explode():\n    return 1 / 0\n")
    notebook.run("from boom import explode").check()
    notebook.write(
        "boom.py", "def explode():\n    divisor = 0\n    return {'new': 1}['new'] / divisor\n"
    )

    cell = notebook.run("explode()")

    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(cell.traceback))
    assert cell.error is not None and cell.error[0] == "ZeroDivisionError"
    assert "boom.py" in text
    assert re.search(r"\b3\b.*return \{'new': 1\}\['new'\] / divisor", text), text


def test_modules_without_python_source_are_skipped_without_noise(notebook: Notebook) -> None:
    """A C extension, a zip import and a frozen module live beside a user module that changes."""
    extension = importlib.util.find_spec("_bisect")
    assert extension is not None and extension.origin is not None
    package = notebook.workdir / "cpkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    shutil.copy(extension.origin, package)
    archive = notebook.workdir / "zipped.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("zmod.py", "VALUE = 'zipped'\n")
    notebook.write("plain.py", "VALUE = 1\n")
    imported = notebook.run(
        f"""
        import sys
        sys.path.append({str(archive)!r})
        import cpkg._bisect, zmod, __hello__, plain
        """
    ).check()

    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("zmod.py", "VALUE = 'zipped again'\n")
    notebook.write("plain.py", "VALUE = 2\n")
    after = notebook.run("plain.VALUE, zmod.VALUE, cpkg._bisect.bisect_right([1, 2], 2)").check()

    assert imported.stderr == ""
    assert after.result == "(2, 'zipped', 2)"
    assert RELOADED in after.stderr and "plain" in after.stderr
    assert WARNING not in after.stderr
    assert not re.search(r"zmod|zipped|_bisect|hello", after.stderr), after.stderr
