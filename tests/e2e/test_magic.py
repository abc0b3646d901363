"""``%reload_kernel`` at run time, and notebooks written for IPython's ``%autoreload``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .harness import CELL_TIMEOUT, Notebook, StartKernel

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def pager_text(notebook: Notebook, code: str) -> str:
    """What ``thing?`` shows: IPython sends it as a "page" payload of the execute reply."""
    reply = notebook.client.execute_interactive(
        code, output_hook=lambda message: None, timeout=CELL_TIMEOUT
    )
    pages = [item for item in reply["content"]["payload"] if item.get("source") == "page"]
    assert len(pages) == 1, reply["content"]
    return ANSI_ESCAPE.sub("", pages[0]["data"]["text/plain"])


def imported_foo(notebook: Notebook, version: int = 1) -> None:
    notebook.write("foo_file.py", f"def bar():\n    return {version}\n")
    notebook.run("from foo_file import bar").check()


def edit_foo(notebook: Notebook, version: int) -> None:
    notebook.write("foo_file.py", f"def bar():\n    return {version}\n")


# --- help and status ----------------------------------------------------------------------


def test_help_documents_every_command(notebook: Notebook) -> None:
    text = pager_text(notebook, "%reload_kernel?")

    for command in ["status", "pause", "resume", "now", "off|brief|verbose", "strict on|off"]:
        assert f"%reload_kernel {command}" in text
    assert "%reload_kernel exclude NAME" in text


def test_status_shows_settings_tracked_modules_last_reload_and_failures(
    notebook: Notebook,
) -> None:
    notebook.write("good.py", "def f():\n    return 1\n")
    notebook.write("bad.py", "X = 1\n")
    notebook.run("import good, bad").check()
    notebook.write("good.py", "def f():\n    return 2\n")
    notebook.write("bad.py", "X = (\n")
    notebook.run("good.f()").check()

    lines = notebook.run("%reload_kernel status").check().stdout.splitlines()

    assert lines[:3] == [
        "reload_kernel: reloading is on",
        "report: brief · strict: off",
        "tracking 2 modules: good, bad",
    ]
    assert re.fullmatch(
        r"last reload: before cell \[2\] at \d\d:\d\d:\d\d — reloaded good \(f\), 1 failed",
        lines[3],
    )
    assert lines[4:6] == [
        "failing (still using the previous version):",
        "  bad.py line 1: SyntaxError: '(' was never closed",
    ]


def test_bare_magic_shows_the_status(notebook: Notebook) -> None:
    cell = notebook.run("%reload_kernel").check()

    assert cell.stdout.splitlines()[0] == "reload_kernel: reloading is on"


def test_unknown_command_is_a_usage_error_naming_the_help(notebook: Notebook) -> None:
    cell = notebook.run("%reload_kernel loud")

    assert cell.status == "error"
    assert cell.error == (
        "UsageError",
        "unknown %reload_kernel command 'loud'; see %reload_kernel? for the commands",
    )


# --- pause, resume, now -------------------------------------------------------------------


def test_paused_kernel_keeps_the_old_code_and_says_nothing(notebook: Notebook) -> None:
    imported_foo(notebook)
    paused = notebook.run("%reload_kernel pause").check()
    edit_foo(notebook, 2)

    cell = notebook.run("bar()").check()

    assert paused.stdout == (
        "reload_kernel: paused; `%reload_kernel resume` reloads before each cell again\n"
    )
    assert cell.result == "1"
    assert cell.output_types == ["execute_result"]


def test_resume_loads_the_edits_made_while_paused_before_the_next_cell(
    notebook: Notebook,
) -> None:
    imported_foo(notebook)
    notebook.run("%reload_kernel pause").check()
    compiling_ahead = "get_ipython().kernel.reloader.compile_ahead"
    assert notebook.value(compiling_ahead) == "False"  # (no use compiling saves while paused)
    edit_foo(notebook, 2)
    notebook.run("bar()").check()

    resumed = notebook.run("%reload_kernel resume").check()
    cell = notebook.run("bar()").check()

    assert resumed.stdout == "reload_kernel: reloading before each cell\n"
    assert cell.stderr == "↻ reloaded foo_file (bar)\n"
    assert cell.result == "2"
    assert notebook.value(compiling_ahead) == "True"


def test_now_reloads_while_paused_and_says_what(notebook: Notebook) -> None:
    imported_foo(notebook)
    notebook.run("%reload_kernel pause").check()
    edit_foo(notebook, 2)

    cell = notebook.run("%reload_kernel now\nbar()").check()

    assert cell.stderr == "↻ reloaded foo_file (bar)\n"
    assert cell.result == "2"


def test_now_loads_an_edit_saved_while_the_cell_runs(notebook: Notebook) -> None:
    imported_foo(notebook)

    cell = notebook.run(
        """
        from pathlib import Path
        Path("foo_file.py").write_text("def bar():\\n    return 2\\n")
        %reload_kernel now
        bar()
        """
    ).check()

    assert cell.stderr == "↻ reloaded foo_file (bar)\n"
    assert cell.result == "2"


def test_now_with_nothing_changed_says_so(notebook: Notebook) -> None:
    imported_foo(notebook)

    cell = notebook.run("%reload_kernel now").check()

    assert cell.stderr == "↻ nothing to reload\n"


# --- verbosity and strict at run time -----------------------------------------------------


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        pytest.param(
            "verbose",
            "↻ reloaded foo_file (foo_file.py): function bodies updated in place; changed: bar\n",
            id="verbose",
        ),
        pytest.param("brief", "↻ reloaded foo_file (bar)\n", id="brief"),
        pytest.param("off", "", id="off"),
    ],
)
def test_report_level_changes_at_run_time(notebook: Notebook, level: str, expected: str) -> None:
    imported_foo(notebook)
    switched = notebook.run(f"%reload_kernel {level}").check()
    edit_foo(notebook, 2)

    cell = notebook.run("bar()").check()

    assert switched.stdout == f"reload_kernel: report set to {level}\n"
    assert cell.stderr == expected
    assert cell.result == "2"


def test_strict_mode_switched_on_at_run_time_stops_cells_and_off_lets_them_run(
    notebook: Notebook,
) -> None:
    imported_foo(notebook)
    notebook.run("%reload_kernel strict on").check()
    notebook.write("foo_file.py", "def bar(:\n")

    refused = notebook.run("ran = bar()")
    switched_off = notebook.run("%reload_kernel strict off").check()
    runs = notebook.run("ran = bar(); ran").check()

    assert refused.status == "error"
    assert refused.error is not None and refused.error[0] == "ReloadError"
    assert switched_off.stdout == (
        "reload_kernel: strict off; cells run on the previous version of a module\n"
    )
    assert runs.result == "1"


def test_strict_mode_switched_on_while_a_module_fails_stops_the_next_cell(
    notebook: Notebook,
) -> None:
    imported_foo(notebook)
    notebook.write("foo_file.py", "def bar(:\n")
    notebook.run("bar()").check()  # (runs on the previous version; the failure is shown)
    notebook.run("pass").check()
    notebook.run("%reload_kernel strict on").check()

    refused = notebook.run("ran = bar()")  # nothing new since the failure: refused all the same
    notebook.run("%reload_kernel strict off").check()

    assert refused.error is not None and refused.error[0] == "ReloadError"
    assert notebook.value("'ran' in dir()") == "False"


def test_exclude_at_run_time_stops_reloading_that_module_only(notebook: Notebook) -> None:
    notebook.write("data_cache.py", "ROWS = 1\n")
    notebook.write("model.py", "SIZE = 1\n")
    notebook.run("import data_cache, model").check()
    excluded = notebook.run("%reload_kernel exclude data_cache").check()
    notebook.write("data_cache.py", "ROWS = 2\n")
    notebook.write("model.py", "SIZE = 2\n")

    cell = notebook.run("data_cache.ROWS, model.SIZE").check()
    status = notebook.run("%reload_kernel status").check()

    assert excluded.stdout == "reload_kernel: no longer reloading data_cache\n"
    assert cell.result == "(1, 2)"
    assert cell.stderr == "↻ reloaded model\n"
    assert "exclude: data_cache" in status.stdout.splitlines()
    assert "tracking 1 module: model" in status.stdout.splitlines()


# --- notebooks written for IPython's %autoreload ------------------------------------------

COUNTING_MODULE = """\
with open("executions.log", "a") as log:
    log.write("{version}\\n")

def value():
    return "{version}"
"""
AUTORELOAD_NOTE = (
    "ℹ %autoreload is not needed in this kernel: it loads your edits before every cell "
    "(IPython's autoreload is switched off here).\n"
)


def executions(notebook: Notebook) -> list[str]:
    return (notebook.workdir / "executions.log").read_text().splitlines()


def test_load_ext_autoreload_shows_one_short_note_and_nothing_else(notebook: Notebook) -> None:
    cell = notebook.run("%load_ext autoreload\n%autoreload 2").check()

    assert cell.output_types == ["stream"]
    assert cell.stderr == AUTORELOAD_NOTE


def test_running_the_autoreload_cell_again_does_not_repeat_the_note(notebook: Notebook) -> None:
    notebook.run("%load_ext autoreload\n%autoreload 2").check()

    again = notebook.run("%load_ext autoreload\n%autoreload 2").check()

    assert again.stderr == ""
    # IPython's own words, as in any kernel: the extension counts as loaded.
    assert again.stdout.startswith("The autoreload extension is already loaded.")


@pytest.mark.parametrize("mode", ["2", "3", "all", "1"])
def test_module_runs_once_per_edit_in_an_autoreload_notebook(notebook: Notebook, mode: str) -> None:
    notebook.run(f"%load_ext autoreload\n%autoreload {mode}").check()
    notebook.write("counted.py", COUNTING_MODULE.format(version="v1"))
    notebook.run("import counted").check()
    notebook.write("counted.py", COUNTING_MODULE.format(version="v2"))

    cell = notebook.run("counted.value()").check()
    idle = notebook.run("counted.value()").check()

    assert executions(notebook) == ["v1", "v2"]
    assert cell.stderr == "↻ reloaded counted\n"
    assert cell.output_types == ["stream", "execute_result"]
    assert cell.result == idle.result == "'v2'"
    assert idle.output_types == ["execute_result"]


def test_autoreload_loaded_in_the_same_cell_as_the_import_still_reloads_once(
    notebook: Notebook,
) -> None:
    notebook.write("counted.py", COUNTING_MODULE.format(version="v1"))
    notebook.run("%load_ext autoreload\n%autoreload 2\nimport counted").check()
    notebook.write("counted.py", COUNTING_MODULE.format(version="v2"))

    cell = notebook.run("counted.value()").check()

    assert executions(notebook) == ["v1", "v2"]
    assert cell.stderr == "↻ reloaded counted\n"


def test_autoreload_loaded_between_cells_is_switched_off_before_the_next_cell_runs(
    start_kernel: StartKernel,
) -> None:
    # Loaded by a request that is not a cell of the notebook (a frontend's silent request, an
    # extension) and followed by a cell with nothing to reload: IPython's autoreload must not
    # run in that cell. An excluded module shows it: no one may reload it. (Imported before,
    # and seen once by IPython's autoreload: it reloads a module it has seen before.)
    notebook = start_kernel(extra_arguments=["--ReloadKernel.exclude=counted"])
    notebook.write("counted.py", COUNTING_MODULE.format(version="v1"))
    notebook.write("lib/tracked.py", "X = 1\n")
    notebook.run("import sys; sys.path.append('lib')\nimport counted, tracked").check()
    # (What loading the extension imports, imported before: a cell after an import looks.)
    notebook.run("import IPython.extensions.autoreload, IPython.core.magics.extension").check()
    notebook.run("pass").check()
    notebook.run("%load_ext autoreload\n%autoreload 2\n%autoreload", silent=True).check()
    notebook.write("counted.py", COUNTING_MODULE.format(version="v2"))

    cell = notebook.run("counted.value()").check()

    assert executions(notebook) == ["v1"]
    assert cell.result == "'v1'"
    assert cell.stderr == AUTORELOAD_NOTE


def test_autoreload_magics_map_to_this_kernel(notebook: Notebook) -> None:
    notebook.run("%load_ext autoreload").check()
    imported_foo(notebook)

    paused = notebook.run("%autoreload 0").check()
    edit_foo(notebook, 2)
    while_paused = notebook.run("bar()").check()
    now = notebook.run("%autoreload\nbar()").check()
    resumed = notebook.run("%autoreload 2").check()
    edit_foo(notebook, 3)
    after = notebook.run("bar()").check()

    assert paused.output_types == resumed.output_types == []
    assert while_paused.result == "1"
    assert (now.stderr, now.result) == ("↻ reloaded foo_file (bar)\n", "2")
    assert (after.stderr, after.result) == ("↻ reloaded foo_file (bar)\n", "3")


def test_aimport_imports_into_the_notebook_and_minus_excludes(notebook: Notebook) -> None:
    notebook.run("%load_ext autoreload").check()
    notebook.write("pkg/__init__.py", "")
    notebook.write("pkg/tools.py", "def tool():\n    return 1\n")
    notebook.write("frozen.py", "X = 1\n")

    notebook.run("%aimport pkg.tools as tools, frozen").check()
    notebook.run("%aimport -frozen").check()
    notebook.write("pkg/tools.py", "def tool():\n    return 2\n")
    notebook.write("frozen.py", "X = 2\n")

    assert notebook.value("tools.tool(), frozen.X") == "(2, 1)"


def test_autoreload_from_the_profile_config_is_switched_off_too(
    start_kernel: StartKernel, tmp_path: Path
) -> None:
    profile = tmp_path / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    (profile / "ipython_kernel_config.py").write_text(
        "c.InteractiveShellApp.extensions = ['autoreload']\n"
        "c.InteractiveShellApp.exec_lines = ['%autoreload 2']\n"
    )
    notebook = start_kernel(env={"IPYTHONDIR": str(tmp_path / "ipython")})
    notebook.write("counted.py", COUNTING_MODULE.format(version="v1"))
    first = notebook.run("import counted").check()
    notebook.write("counted.py", COUNTING_MODULE.format(version="v2"))

    cell = notebook.run("counted.value()").check()

    assert first.stderr == AUTORELOAD_NOTE
    assert executions(notebook) == ["v1", "v2"]
    assert cell.stderr == "↻ reloaded counted\n"


def test_autoreload_works_as_usual_when_this_kernel_does_not_reload(
    start_kernel: StartKernel,
) -> None:
    notebook = start_kernel(extra_arguments=["--ReloadKernel.enabled=False"])
    loaded = notebook.run("%load_ext autoreload\n%autoreload 2").check()
    imported_foo(notebook)
    # IPython's autoreload takes a new module's mtime at the next cell, not at the import:
    # an edit saved before that cell would be missed (by design there, not here).
    notebook.run("bar()").check()
    # A different file size: IPython 8's autoreload goes through importlib.reload, which takes a
    # same-size edit saved within the same second from the stale __pycache__ (its own bug, one
    # this kernel exists to avoid; not what this test is about).
    edit_foo(notebook, 22)

    cell = notebook.run("bar()").check()

    assert loaded.output_types == []
    assert cell.result == "22"
    assert cell.output_types == ["execute_result"]
