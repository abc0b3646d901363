"""Faults in the user's files, through a real kernel: nothing the user holds is ever lost.

For every fault the same four promises are checked:

1. the kernel answers and the cell still runs (status ok, no ``error`` output);
2. the notebook's variables and the instances it holds are intact, and the module keeps the
   version loaded before the fault;
3. the message on stderr names the file, what went wrong and (when there is one) the line, and
   is shown once, not again on the next cell;
4. the next fix is loaded: the module, and the instances created before the fault, run it.

One kernel serves the whole file (each test imports modules of its own names), so a fault that
damaged the kernel would also show up in the tests after it.

Unreadable files: the tests run as root, for whom ``chmod 000`` does not stop reads. The file is
made unreadable for the kernel in two ways: it is replaced by something ``open`` cannot read as a
file (a directory, a FIFO with no writer, a dangling symlink), and in a separate kernel started
through ``setpriv`` without the capabilities that let root ignore file permissions
(CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), where ``chmod 000`` gives a real EACCES.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .harness import Cell, Notebook, unique_name

HEALTHY_SOURCE = """\
def version():
    return {version}


class Thing:
    def version(self):
        return {version}
"""
#: What the probe cell shows while the module and the instance run version 1.
DATA = "[1, 2, 3]"


def healthy(version: int) -> str:
    return HEALTHY_SOURCE.format(version=version)


def broken_after(statements: str) -> str:
    """Version 2 of the module, failing at the end of its top level with ``statements``."""
    return healthy(2) + "\n" + textwrap.dedent(statements)


def line_of(text: str, needle: str) -> int:
    """The 1-based number of the first line of ``text`` containing ``needle``."""
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


@dataclass
class UserModule:
    """A package ``pkg_<id>`` with a module ``mod`` the notebook imported and holds pieces of.

    The notebook binds ``m_<id>`` (the module), ``keep_<id>`` (an instance of its class) and
    ``data_<id>`` (a plain variable), like a user who has been working for hours.
    """

    notebook: Notebook
    key: str = field(default_factory=lambda: unique_name("f"))

    @property
    def package(self) -> str:
        return f"pkg_{self.key}"

    @property
    def folder(self) -> Path:
        return self.notebook.workdir / self.package

    @property
    def path(self) -> Path:
        return self.folder / "mod.py"

    @property
    def probe(self) -> str:
        """A cell showing what the module, the held instance and the variable hold."""
        return f"(m_{self.key}.version(), keep_{self.key}.version(), data_{self.key})"

    def expected(self, version: int) -> str:
        return f"({version}, {version}, {DATA})"

    def write(self, text: str | bytes) -> None:
        self.folder.mkdir(exist_ok=True)
        if isinstance(text, bytes):
            self.path.write_bytes(text)
        else:
            self.path.write_text(text, encoding="utf-8")

    def import_version_1(self) -> UserModule:
        self.write(healthy(1))
        (self.folder / "__init__.py").write_text("", encoding="utf-8")
        self.notebook.run(
            f"""
            import {self.package}.mod as m_{self.key}
            keep_{self.key} = m_{self.key}.Thing()
            data_{self.key} = {DATA}
            """
        ).check()
        assert self.notebook.value(self.probe) == self.expected(1)
        return self

    def run_probe(self) -> Cell:
        return self.notebook.run(self.probe)


def assert_cell_ran_quietly(cell: Cell) -> None:
    """The cell ran and the frontend got no ``error`` output (papermill fails runs on those)."""
    assert cell.status == "ok", cell.error
    assert "error" not in cell.output_types


def assert_fault_contained(user: UserModule, message: list[str]) -> None:
    """Promises 1–3 for the cell right after the fault."""
    cell = user.run_probe()
    assert_cell_ran_quietly(cell)
    assert cell.result == user.expected(1)
    for fragment in message:
        assert fragment in cell.stderr, f"{fragment!r} missing from {cell.stderr!r}"
    again = user.run_probe()
    assert_cell_ran_quietly(again)
    assert again.result == user.expected(1)
    assert again.stderr == "", "the same problem was reported twice"


def assert_fix_loaded(user: UserModule, version: int = 3) -> None:
    """Promise 4: the fix reaches the module and the instance created before the fault."""
    user.write(healthy(version))
    cell = user.run_probe()
    assert_cell_ran_quietly(cell)
    assert cell.result == user.expected(version)
    assert f"↻ reloaded {user.package}.mod" in cell.stderr


@pytest.fixture(scope="module")
def notebook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Notebook]:
    """One kernel for every fault in this file."""
    with Notebook(tmp_path_factory.mktemp("faults") / "work") as running:
        yield running


@pytest.fixture
def user(notebook: Notebook) -> UserModule:
    return UserModule(notebook).import_version_1()


# --- broken contents ------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokenContent:
    """Version 2 of the module, saved with something wrong in it."""

    id: str
    content: str | bytes
    message: list[str]
    """Fragments of the stderr message, besides the file's name."""


RAISES = broken_after("raise ValueError('boom at import')")
EXITS = broken_after("import sys\nsys.exit('leaving at import')")
INTERRUPTS = broken_after("raise KeyboardInterrupt")
RECURSES = broken_after("def forever():\n    return forever()\n\nforever()")
SYNTAX = healthy(2).replace("def version():", "def version(:")

BROKEN_CONTENTS = [
    BrokenContent("syntax-error", SYNTAX, ["SyntaxError", "line 1", "def version(:"]),
    BrokenContent(
        "exception-at-import",
        RAISES,
        ["ValueError: boom at import", f"line {line_of(RAISES, 'raise ValueError')}"],
    ),
    BrokenContent(
        "sys-exit-at-import",
        EXITS,
        ["SystemExit: leaving at import", f"line {line_of(EXITS, 'sys.exit')}"],
    ),
    BrokenContent(
        "keyboard-interrupt-raised-at-import",
        INTERRUPTS,
        ["KeyboardInterrupt", f"line {line_of(INTERRUPTS, 'raise KeyboardInterrupt')}"],
    ),
    BrokenContent("infinite-recursion-at-import", RECURSES, ["RecursionError", "forever()"]),
    BrokenContent(
        "expression-nested-too-deeply-to-compile",
        "X = " + "-" * 200_000 + "1\n" + healthy(2),
        ["reload failed"],
    ),
    BrokenContent("binary-garbage", bytes(range(256)) * 64, ["reload failed"]),
    BrokenContent(
        "invalid-utf8",
        healthy(2).encode() + b"NAME = '\xff\xfe'\n",
        ["UnicodeDecodeError", "can't decode byte 0xff"],
    ),
    BrokenContent(
        "unknown-encoding-cookie",
        b"# -*- coding: no-such-codec -*-\n" + healthy(2).encode(),
        ["unknown encoding", "no-such-codec"],
    ),
]


@pytest.mark.parametrize("broken", BROKEN_CONTENTS, ids=lambda broken: broken.id)
def test_broken_module_keeps_previous_version_until_fixed(
    user: UserModule, broken: BrokenContent
) -> None:
    user.write(broken.content)

    assert_fault_contained(user, [f"{user.package}/mod.py", *broken.message])
    assert_fix_loaded(user)


# --- the file itself goes wrong -------------------------------------------------------------


@dataclass(frozen=True)
class FileFault:
    """Something done to the module's file (or folder), and how the user later clears it."""

    id: str
    apply: Callable[[UserModule], None]
    message: list[str]
    clear: Callable[[UserModule], None] = lambda user: None


def replace_by_directory(user: UserModule) -> None:
    user.path.unlink()
    user.path.mkdir()


def replace_by_fifo(user: UserModule) -> None:
    # Opening a FIFO with no writer blocks forever: a reloader that opens it hangs the kernel.
    user.path.unlink()
    os.mkfifo(user.path)


def replace_by_dangling_symlink(user: UserModule) -> None:
    user.path.unlink()
    user.path.symlink_to(user.folder / "nowhere.py")


def rename_folder_away(user: UserModule) -> None:
    user.folder.rename(user.folder.with_name(user.package + "_renamed"))


def rename_folder_back(user: UserModule) -> None:
    user.folder.with_name(user.package + "_renamed").rename(user.folder)


def remove_file(user: UserModule) -> None:
    user.path.unlink()


def remove_directory(user: UserModule) -> None:
    shutil.rmtree(user.path)


def remove_package_folder(user: UserModule) -> None:
    shutil.rmtree(user.folder)


def recreate_package(user: UserModule) -> None:
    user.folder.mkdir()
    (user.folder / "__init__.py").write_text("", encoding="utf-8")


FILE_FAULTS = [
    FileFault(
        "replaced-by-directory",
        replace_by_directory,
        ["reload failed", "cannot read", "not a regular file"],
        remove_directory,
    ),
    FileFault(
        "replaced-by-fifo",
        replace_by_fifo,
        ["reload failed", "cannot read", "not a regular file"],
        remove_file,
    ),
    FileFault(
        "replaced-by-dangling-symlink",
        replace_by_dangling_symlink,
        ["reload failed", "cannot read", "broken symbolic link"],
        remove_file,
    ),
    FileFault("file-deleted", remove_file, ["was deleted", "keeps the version already loaded"]),
    FileFault(
        "file-renamed",
        lambda user: user.path.rename(user.path.with_name("renamed.py")),
        ["was deleted", "keeps the version already loaded"],
        lambda user: user.path.with_name("renamed.py").unlink(),
    ),
    FileFault(
        "folder-deleted",
        remove_package_folder,
        ["was deleted", "keeps the version already loaded"],
        recreate_package,
    ),
    FileFault(
        "folder-renamed",
        rename_folder_away,
        ["was deleted", "keeps the version already loaded"],
        rename_folder_back,
    ),
]


@pytest.mark.parametrize("fault", FILE_FAULTS, ids=lambda fault: fault.id)
def test_file_fault_keeps_previous_version_until_fixed(user: UserModule, fault: FileFault) -> None:
    fault.apply(user)

    assert_fault_contained(user, [f"{user.package}/mod.py", *fault.message])
    fault.clear(user)
    assert_fix_loaded(user)


def test_restoring_the_deleted_file_unchanged_is_silent(user: UserModule) -> None:
    saved = user.path.read_bytes()
    remove_file(user)
    assert_fault_contained(user, ["was deleted"])

    user.write(saved)
    cell = user.run_probe()

    assert_cell_ran_quietly(cell)
    assert cell.result == user.expected(1)
    assert cell.stderr == ""


def test_package_turned_into_module_and_back(notebook: Notebook) -> None:
    key = unique_name("p")
    package_init = notebook.workdir / key / "__init__.py"
    notebook.write(f"{key}/__init__.py", healthy(1))
    notebook.run(f"import {key}; keep_{key} = {key}.Thing()").check()
    probe = f"({key}.version(), keep_{key}.version())"

    shutil.rmtree(package_init.parent)
    notebook.write(f"{key}.py", healthy(2))
    cell = notebook.run(probe)
    assert_cell_ran_quietly(cell)
    assert cell.result == "(1, 1)"
    assert f"{key}/__init__.py was deleted" in cell.stderr

    (notebook.workdir / f"{key}.py").unlink()
    notebook.write(f"{key}/__init__.py", healthy(3))
    cell = notebook.run(probe)
    assert_cell_ran_quietly(cell)
    assert cell.result == "(3, 3)"
    assert f"↻ reloaded {key}" in cell.stderr


# --- modules that do unusual things ---------------------------------------------------------


#: A generated data module: 10,000 rows of about 1 kB (long text, as embedded data has).
#: Cost that grows with the syntax tree's node count (not with bytes) is measured apart: see
#: the report of issue #8 (a 10 MB module of 140,000 short rows takes tens of seconds).
ROWS = 10_000
ROW_TEXT = "generated data " * 66


def test_ten_megabyte_module_loads_and_patches(user: UserModule) -> None:
    rows = "".join(f"    ({row}, '{row:07d} {ROW_TEXT}'),\n" for row in range(ROWS))
    big = healthy(2) + "\nDATA = [\n" + rows + "]\n"
    assert len(big) >= 10_000_000
    user.write(big)

    started = time.monotonic()
    cell = user.notebook.run(f"{user.probe}, len(m_{user.key}.DATA)")
    rerun_seconds = time.monotonic() - started
    assert_cell_ran_quietly(cell)
    assert cell.result == f"({user.expected(2)}, {ROWS})"
    assert f"↻ reloaded {user.package}.mod" in cell.stderr

    user.write(big.replace("return 2", "return 3"))
    started = time.monotonic()
    cell = user.run_probe()
    patch_seconds = time.monotonic() - started
    assert_cell_ran_quietly(cell)
    assert cell.result == user.expected(3)
    assert f"↻ reloaded {user.package}.mod (version, Thing.version)" in cell.stderr
    print(f"10 MB module: re-run {rerun_seconds:.1f} s, function bodies {patch_seconds:.1f} s")


def test_module_that_rewrites_its_own_source_reloads_once_per_cell(user: UserModule) -> None:
    # Each run of the module bumps GENERATION in its own file: every cell finds one more edit.
    # The reloader must load the bytes it read (not the file the run left behind) and never
    # chase the module's own writes inside one reload step.
    self_editing = healthy(2) + textwrap.dedent(
        """
        GENERATION = 1

        from pathlib import Path as _Path
        _source = _Path(__file__).read_text()
        _Path(__file__).write_text(
            _source.replace(f"GENERATION = {GENERATION}\\n", f"GENERATION = {GENERATION + 1}\\n")
        )
        """
    )
    user.write(self_editing)
    generations = []
    for _ in range(3):
        cell = user.notebook.run(f"m_{user.key}.GENERATION")
        assert_cell_ran_quietly(cell)
        assert cell.stderr.count("↻ reloaded") == 1
        generations.append(cell.result)
    assert generations == ["1", "2", "3"]
    assert "GENERATION = 4\n" in user.path.read_text()

    assert_fix_loaded(user)
    assert user.run_probe().stderr == ""


def test_module_that_replaces_itself_in_sys_modules_is_left_as_it_was(user: UserModule) -> None:
    user.write(
        broken_after(
            """
            import sys

            class _Replacement:
                version = staticmethod(version)

            sys.modules[__name__] = _Replacement()
            """
        )
    )

    assert_fault_contained(user, [f"{user.package}/mod.py", "replaced itself in sys.modules"])
    assert (
        user.notebook.value(f"import sys; sys.modules['{user.package}.mod'] is m_{user.key}")
        == "True"
    )
    assert_fix_loaded(user)


def test_module_replaced_in_sys_modules_since_import_is_not_touched(notebook: Notebook) -> None:
    # The module swapped itself for another object when first imported: nothing the reloader
    # could update in place. An edit must not be executed into the replacement object.
    key = unique_name("r")
    replacing = """\
        import sys, types

        class _Module(types.ModuleType):
            VERSION = {version}

        sys.modules[__name__] = _Module(__name__)
        """
    notebook.write(f"{key}.py", replacing.format(version=1))
    notebook.run(f"import {key}; held_{key} = {key}").check()

    notebook.write(f"{key}.py", replacing.format(version=2))
    cell = notebook.run(f"({key}.VERSION, held_{key} is {key})")

    assert_cell_ran_quietly(cell)
    assert cell.result == "(1, True)"
    assert f"{key}.py" in cell.stderr and "replaced itself in sys.modules" in cell.stderr
    assert notebook.run(f"{key}.VERSION").stderr == ""


# --- a file the kernel's user really may not read ---------------------------------------------

NO_DAC_KERNEL = "autoreload-no-dac"
SETPRIV = shutil.which("setpriv")
DROP_FILE_PERMISSION_BYPASS = [
    "--inh-caps=-all",
    "--bounding-set=-dac_override,-dac_read_search",
]


def _kernel_argv_that_obeys_file_permissions(probe_file: Path) -> list[str]:
    """The command prefix under which this process's user gets EACCES on a mode-000 file."""
    probe = [sys.executable, "-c", f"open({str(probe_file)!r}).read()"]
    if os.geteuid() != 0:
        return []
    if SETPRIV is None:
        pytest.skip("running as root without setpriv: cannot make a file unreadable")
    prefix = [SETPRIV, *DROP_FILE_PERMISSION_BYPASS]
    result = subprocess.run([*prefix, *probe], capture_output=True, text=True, timeout=30)
    if "PermissionError" not in result.stderr:
        pytest.skip(f"cannot drop CAP_DAC_OVERRIDE here: {result.stderr.strip()[-200:]}")
    return prefix


@pytest.fixture(scope="module")
def permission_notebook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Notebook]:
    """A kernel for which ``chmod 000`` really makes a file unreadable, even under root."""
    scratch = tmp_path_factory.mktemp("permissions")
    locked = scratch / "locked.txt"
    locked.write_text("secret")
    locked.chmod(0)
    prefix = _kernel_argv_that_obeys_file_permissions(locked)
    spec_dir = Path(os.environ["JUPYTER_PATH"]) / "kernels" / NO_DAC_KERNEL
    spec_dir.mkdir(parents=True, exist_ok=True)
    argv = [*prefix, sys.executable, "-m", "reload_kernel", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": "autoreload, no DAC override", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    with Notebook(scratch / "work", kernel_name=NO_DAC_KERNEL) as running:
        yield running


def test_file_without_read_permission_keeps_previous_version_until_fixed(
    permission_notebook: Notebook,
) -> None:
    user = UserModule(permission_notebook).import_version_1()
    user.write(healthy(2))
    user.path.chmod(0)
    try:
        assert_fault_contained(user, [f"{user.package}/mod.py", "cannot read", "Permission denied"])
    finally:
        user.path.chmod(0o644)
    assert_fix_loaded(user)


def test_folder_without_search_permission_keeps_previous_version_until_fixed(
    permission_notebook: Notebook,
) -> None:
    user = UserModule(permission_notebook).import_version_1()
    user.write(healthy(2))
    user.folder.chmod(0)
    try:
        assert_fault_contained(user, [f"{user.package}/mod.py", "cannot read", "Permission denied"])
    finally:
        user.folder.chmod(0o755)
    assert_fix_loaded(user)


# --- a bug in the reloader itself ------------------------------------------------------------

INJECT_RELOADER_BUG = """\
import reload_kernel.engine.reloader as _engine

_real_patch_bodies = _engine.patch_bodies

def _patch_bodies_then_fail(module, compiled, undo):
    _real_patch_bodies(module, compiled, undo)  # functions already hold the new code...
    if module.__name__ == {module!r}:
        raise TypeError("injected reloader bug")  # ...when the reloader trips over itself
    return True

_engine.patch_bodies = _patch_bodies_then_fail
"""


def test_reloader_bug_leaves_the_module_as_it_was_and_loads_the_others(
    notebook: Notebook,
) -> None:
    victim, bystander = UserModule(notebook).import_version_1(), UserModule(notebook)
    bystander.import_version_1()
    notebook.run(INJECT_RELOADER_BUG.format(module=f"{victim.package}.mod")).check()
    try:
        victim.write(healthy(2))
        bystander.write(healthy(2))
        cell = notebook.run(f"{victim.probe}, {bystander.probe}")
    finally:
        notebook.run("_engine.patch_bodies = _real_patch_bodies").check()

    assert_cell_ran_quietly(cell)
    assert cell.result == f"({victim.expected(1)}, {bystander.expected(2)})"
    assert f"{victim.package}/mod.py" in cell.stderr
    assert "the reloader could not load this version" in cell.stderr
    assert "injected reloader bug" in cell.stderr
    assert_fix_loaded(victim)
