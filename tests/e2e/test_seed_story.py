"""The story the product exists for: import, edit, re-run, see the new behaviour."""

from __future__ import annotations

from .harness import Notebook


def test_edit_to_imported_function_is_seen_by_next_cell(notebook: Notebook) -> None:
    notebook.write("foo_file.py", "def bar():\n    return 'old'\n")
    notebook.run("from foo_file import bar").check()
    assert notebook.value("bar()") == "'old'"

    notebook.write("foo_file.py", "def bar():\n    return 'new'\n")

    assert notebook.value("bar()") == "'new'"


def test_cell_without_edits_prints_nothing_extra(notebook: Notebook) -> None:
    notebook.write("foo_file.py", "def bar():\n    return 1\n")
    notebook.run("from foo_file import bar").check()

    cell = notebook.run("x = bar()").check()

    assert cell.output_types == []
    assert cell.stdout == cell.stderr == ""


def test_reload_is_announced_on_stderr_in_one_line(notebook: Notebook) -> None:
    notebook.write("foo_file.py", "def bar():\n    return 1\n")
    notebook.run("from foo_file import bar").check()
    notebook.write("foo_file.py", "def bar():\n    return 2\n")

    cell = notebook.run("bar()").check()

    assert cell.stderr == "↻ reloaded foo_file (bar)\n"
    assert cell.result == "2"
    assert "error" not in cell.output_types
