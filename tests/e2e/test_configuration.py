"""Options: where they can be set, and what each one does."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest

from .harness import CELL_TIMEOUT, Notebook, StartKernel


def imported_foo(notebook: Notebook) -> None:
    notebook.write("foo_file.py", "def bar():\n    return 1\n")
    notebook.run("from foo_file import bar").check()


def edit_foo(notebook: Notebook) -> None:
    notebook.write("foo_file.py", "def bar():\n    return 2\n")


VERBOSE_LINE = "↻ reloaded foo_file (foo_file.py): function bodies updated in place; changed: bar\n"


# --- where options are set ----------------------------------------------------------------


def own_kernelspec(options: list[str]) -> str:
    """Install a kernelspec whose kernel.json argv carries ``options``; return its name."""
    name = f"autoreload-{uuid.uuid4().hex[:8]}"
    directory = Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels" / name
    directory.mkdir(parents=True)
    argv = [sys.executable, "-m", "reload_kernel", "-f", "{connection_file}", *options]
    spec = {"argv": argv, "display_name": name, "language": "python"}
    (directory / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return name


def config_file_in(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "ipython_kernel_config.py"
    path.write_text(text, encoding="utf-8")
    return path


def test_option_in_kernel_json_argv_takes_effect(start_kernel: StartKernel) -> None:
    notebook = start_kernel(kernel_name=own_kernelspec(["--ReloadKernel.report=verbose"]))
    imported_foo(notebook)
    edit_foo(notebook)

    assert notebook.run("bar()").check().stderr == VERBOSE_LINE


def test_option_in_the_profiles_ipython_kernel_config_takes_effect(
    start_kernel: StartKernel, tmp_path: Path
) -> None:
    ipython_dir = tmp_path / "ipython"
    config_file_in(ipython_dir / "profile_default", "c.ReloadKernel.report = 'verbose'\n")
    notebook = start_kernel(env={"IPYTHONDIR": str(ipython_dir)})
    imported_foo(notebook)
    edit_foo(notebook)

    assert notebook.run("bar()").check().stderr == VERBOSE_LINE


def test_option_on_the_command_line_wins_over_the_config_file(
    start_kernel: StartKernel, tmp_path: Path
) -> None:
    ipython_dir = tmp_path / "ipython"
    config_file_in(ipython_dir / "profile_default", "c.ReloadKernel.report = 'off'\n")
    notebook = start_kernel(
        env={"IPYTHONDIR": str(ipython_dir)}, extra_arguments=["--ReloadKernel.report=verbose"]
    )
    imported_foo(notebook)
    edit_foo(notebook)

    assert notebook.run("bar()").check().stderr == VERBOSE_LINE


def test_every_option_from_a_config_file_shows_in_the_status(
    start_kernel: StartKernel, tmp_path: Path
) -> None:
    ipython_dir = tmp_path / "ipython"
    config_file_in(
        ipython_dir / "profile_default",
        "c.ReloadKernel.enabled = False\n"
        "c.ReloadKernel.report = 'Verbose'\n"
        "c.ReloadKernel.strict = True\n"
        "c.ReloadKernel.exclude = ['slow_data', 'vendored']\n"
        "c.ReloadKernel.include = ['shapes_lib']\n",
    )
    notebook = start_kernel(env={"IPYTHONDIR": str(ipython_dir)})

    lines = notebook.run("%reload_kernel status").check().stdout.splitlines()

    assert lines[:4] == [
        "reload_kernel: reloading is off (ReloadKernel.enabled=False) — "
        "`%reload_kernel resume` turns it on",
        "report: verbose · strict: on",
        "include: shapes_lib",
        "exclude: slow_data, vendored",
    ]


# --- enabled ------------------------------------------------------------------------------


def test_disabled_kernel_does_not_reload_and_says_nothing(start_kernel: StartKernel) -> None:
    notebook = start_kernel(extra_arguments=["--ReloadKernel.enabled=False"])
    imported_foo(notebook)
    edit_foo(notebook)

    cell = notebook.run("bar()").check()

    assert cell.result == "1"
    assert cell.output_types == ["execute_result"]


def test_disabled_kernel_imports_like_a_plain_kernel(start_kernel: StartKernel) -> None:
    notebook = start_kernel(extra_arguments=["--ReloadKernel.enabled=False"])
    imported_foo(notebook)

    loader = notebook.value("type(__import__('foo_file').__loader__).__name__")

    assert loader == "'SourceFileLoader'"


def test_disabled_kernel_can_be_turned_on_at_run_time(start_kernel: StartKernel) -> None:
    notebook = start_kernel(extra_arguments=["--ReloadKernel.enabled=False"])
    imported_foo(notebook)
    notebook.run("%reload_kernel resume").check()
    edit_foo(notebook)

    cell = notebook.run("bar()").check()

    assert cell.stderr == "↻ reloaded foo_file (bar)\n"
    assert cell.result == "2"


# --- exclude ------------------------------------------------------------------------------


def test_excluded_module_is_not_reloaded_and_others_are(start_kernel: StartKernel) -> None:
    notebook = start_kernel(extra_arguments=["--ReloadKernel.exclude=['data_cache']"])
    notebook.write("data_cache.py", "ROWS = 1\n")
    notebook.write("model.py", "SIZE = 1\n")
    notebook.run("import data_cache, model").check()
    notebook.write("data_cache.py", "ROWS = 2\n")
    notebook.write("model.py", "SIZE = 2\n")

    cell = notebook.run("data_cache.ROWS, model.SIZE").check()

    assert cell.result == "(1, 2)"
    assert cell.stderr == "↻ reloaded model\n"


def test_excluded_package_covers_its_submodules_but_not_a_longer_name(
    start_kernel: StartKernel,
) -> None:
    notebook = start_kernel(extra_arguments=["--ReloadKernel.exclude=['vendored']"])
    notebook.write("vendored/__init__.py", "")
    notebook.write("vendored/sub.py", "X = 1\n")
    notebook.write("vendored_extra.py", "X = 1\n")
    notebook.run("import vendored.sub, vendored_extra").check()
    notebook.write("vendored/sub.py", "X = 2\n")
    notebook.write("vendored_extra.py", "X = 2\n")

    cell = notebook.run("vendored.sub.X, vendored_extra.X").check()

    assert cell.result == "(1, 2)"
    assert cell.stderr == "↻ reloaded vendored_extra\n"


@pytest.mark.parametrize(
    "options",
    [
        pytest.param(
            ["--ReloadKernel.exclude=first", "--ReloadKernel.exclude=second"], id="repeated"
        ),
        pytest.param(["--ReloadKernel.exclude=first,second"], id="comma-separated"),
        pytest.param(["--ReloadKernel.exclude=['first', 'second']"], id="python-list"),
        pytest.param(['--ReloadKernel.exclude=["first","second"]'], id="json-list"),
    ],
)
def test_several_exclusions_in_every_spelling(
    start_kernel: StartKernel, options: list[str]
) -> None:
    notebook = start_kernel(extra_arguments=options)
    for name in ("first", "second", "third"):
        notebook.write(f"{name}.py", "X = 1\n")
    notebook.run("import first, second, third").check()
    for name in ("first", "second", "third"):
        notebook.write(f"{name}.py", "X = 2\n")

    cell = notebook.run("first.X, second.X, third.X").check()

    assert cell.result == "(1, 1, 2)"


# --- include: a package installed (not editable) into site-packages -----------------------

PACKAGE = "shapes_lib"
PACKAGE_FILES = {
    f"{PACKAGE}/__init__.py": "from .core import area\n",
    f"{PACKAGE}/core.py": "def area():\n    return 1\n",
}


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


@pytest.fixture(scope="session")
def installed_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install --target .../site-packages`` of a small wheel: a normal install."""
    root = tmp_path_factory.mktemp("wheel")
    info = f"{PACKAGE}-1.0.dist-info"
    files = {path: text.encode() for path, text in PACKAGE_FILES.items()}
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: 1.0\n".encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = [_record_line(path, data) for path, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = root / f"{PACKAGE}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    target = root / "prefix" / "lib" / "site-packages"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    offline = ["--no-deps", "--no-index"]
    subprocess.run([*pip, *offline, "--target", str(target), str(wheel)], check=True, timeout=120)
    return target


@pytest.fixture
def site_packages(installed_package: Path, tmp_path: Path) -> Path:
    """A private copy of the installed package: each test edits its own files."""
    copy = tmp_path / "env" / "lib" / "site-packages"
    shutil.copytree(installed_package, copy)
    return copy


def start_with_package(start_kernel: StartKernel, site_packages: Path, *options: str) -> Notebook:
    return start_kernel(env={"PYTHONPATH": str(site_packages)}, extra_arguments=list(options))


def edit_installed(site_packages: Path) -> None:
    (site_packages / PACKAGE / "core.py").write_text("def area():\n    return 2\n")


def test_installed_package_is_not_reloaded_without_include(
    start_kernel: StartKernel, site_packages: Path
) -> None:
    notebook = start_with_package(start_kernel, site_packages)
    notebook.run(f"import {PACKAGE}").check()
    edit_installed(site_packages)

    cell = notebook.run(f"{PACKAGE}.core.area()").check()

    assert notebook.value(f"{PACKAGE}.__file__").startswith(repr(str(site_packages))[:-1])
    assert cell.result == "1"
    assert cell.output_types == ["execute_result"]


def test_included_installed_package_is_reloaded(
    start_kernel: StartKernel, site_packages: Path
) -> None:
    notebook = start_with_package(start_kernel, site_packages, f"--ReloadKernel.include={PACKAGE}")
    notebook.run(f"from {PACKAGE} import core").check()
    notebook.run("core.area()").check()
    edit_installed(site_packages)

    cell = notebook.run("core.area()").check()

    assert cell.stderr == f"↻ reloaded {PACKAGE}.core (area)\n"
    assert cell.result == "2"


def test_included_package_edited_right_after_its_import_is_reloaded(
    start_kernel: StartKernel, site_packages: Path
) -> None:
    notebook = start_with_package(start_kernel, site_packages, f"--ReloadKernel.include={PACKAGE}")
    notebook.run(f"from {PACKAGE} import core").check()
    edit_installed(site_packages)

    assert notebook.value("core.area()") == "2"


# --- strict -------------------------------------------------------------------------------


@pytest.fixture
def strict_notebook_with_broken_module(start_kernel: StartKernel) -> Notebook:
    notebook = start_kernel(extra_arguments=["--ReloadKernel.strict=True"])
    imported_foo(notebook)
    notebook.write("foo_file.py", "def bar():\n    return (2\n")
    return notebook


STRICT_ERROR_VALUE = "foo_file.py line 2: SyntaxError: '(' was never closed"


def test_strict_mode_does_not_run_the_cell_and_replies_with_a_clear_error(
    strict_notebook_with_broken_module: Notebook,
) -> None:
    notebook = strict_notebook_with_broken_module

    cell = notebook.run("ran = bar()")

    assert cell.status == "error"
    assert cell.error == ("ReloadError", STRICT_ERROR_VALUE)
    assert cell.traceback == [
        "ReloadError: this cell was not run because a module failed to reload (strict mode)",
        f"  {STRICT_ERROR_VALUE}",
        "      return (2",
        "Fix the file and run the cell again (`%reload_kernel strict off` runs cells on the "
        "previous version instead).",
    ]
    assert cell.output_types == ["error"]
    notebook.write("foo_file.py", "def bar():\n    return 3\n")
    assert notebook.value("'ran' in dir()") == "False"


def test_strict_mode_keeps_stopping_cells_until_the_file_is_fixed(
    strict_notebook_with_broken_module: Notebook,
) -> None:
    notebook = strict_notebook_with_broken_module
    notebook.run("bar()")

    again = notebook.run("bar()")
    and_again = notebook.run("bar()")  # (nothing new since the cell before: refused all the same)
    notebook.write("foo_file.py", "def bar():\n    return 3\n")
    fixed = notebook.run("bar()").check()

    assert again.error == and_again.error == ("ReloadError", STRICT_ERROR_VALUE)
    assert fixed.stderr == "↻ reloaded foo_file (bar)\n"
    assert fixed.result == "3"


def test_strict_mode_refused_cell_takes_its_number_like_a_failed_cell(
    strict_notebook_with_broken_module: Notebook,
) -> None:
    notebook = strict_notebook_with_broken_module
    reply = notebook.client.execute_interactive(
        "bar()", output_hook=lambda message: None, timeout=60
    )

    notebook.write("foo_file.py", "def bar():\n    return 3\n")
    history = notebook.value("In[-2], _ih[-2]")

    assert reply["content"]["execution_count"] == 2
    assert history == "('bar()', 'bar()')"


def test_strict_mode_still_runs_reload_kernel_commands(
    strict_notebook_with_broken_module: Notebook,
) -> None:
    notebook = strict_notebook_with_broken_module

    cell = notebook.run("%reload_kernel status").check()

    assert "  " + STRICT_ERROR_VALUE in cell.stdout.splitlines()
    assert cell.stderr.startswith("⚠ reload failed: foo_file.py line 2")


def test_strict_mode_stops_run_all_at_the_refused_cell(
    strict_notebook_with_broken_module: Notebook,
) -> None:
    notebook = strict_notebook_with_broken_module
    client = notebook.client
    # Run All while a cell still runs: the cells queue up behind it, as they do in a frontend.
    # (Sent to an idle kernel, the second request could arrive after the first was refused,
    # too late to be aborted: ipykernel aborts only what is queued.) The running cell is
    # silent, so it has no reload step of its own, and ends when the test says so.
    release = notebook.workdir / "release"
    holding = client.execute(
        f"import os\nwhile not os.path.exists({str(release)!r}):\n    os.sched_yield()\n",
        silent=True,
    )
    sent = [client.execute("first = bar()"), client.execute("second = True")]
    release.touch()

    replies = {}
    while len(replies) < len(sent) + 1:  # (the holding cell's reply too)
        reply = client.get_shell_msg(timeout=CELL_TIMEOUT)
        replies[reply["parent_header"]["msg_id"]] = reply["content"]["status"]

    assert [replies[msg_id] for msg_id in [holding, *sent]] == ["ok", "error", "aborted"]
