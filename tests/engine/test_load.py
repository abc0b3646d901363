"""Loading a changed module: from the bytes on disk, transactionally, patching or re-running."""

from __future__ import annotations

import builtins
import gc
import importlib.util
import os
import py_compile
import traceback
from pathlib import Path
from types import ModuleType

import pytest

from reload_kernel.engine import ReloadMode
from reload_kernel.engine.detect import read_snapshot
from reload_kernel.engine.load import ModuleLoadError, compile_snapshot, patch_bodies, rerun
from reload_kernel.engine.patch import UndoLog

from .conftest import Workspace


def modes(workspace: Workspace) -> list[ReloadMode]:
    report = workspace.reload()
    assert report.failed == [], report.failed
    return [entry.mode for entry in report.reloaded]


def counting(workspace: Workspace, body: str) -> str:
    """``body`` in a module that appends to a log file each time its top level runs."""
    log = workspace.root / "runs.log"
    return f"with open({str(log)!r}, 'a') as _log:\n    _log.write('x')\n" + body


def runs(workspace: Workspace) -> int:
    return len((workspace.root / "runs.log").read_text())


def last_frame(call: object) -> traceback.FrameSummary:
    try:
        call()  # type: ignore[operator]
    except Exception as error:
        return traceback.extract_tb(error.__traceback__)[-1]
    raise AssertionError("no exception")


# --- compiling ------------------------------------------------------------------------------


def test_stale_bytecode_is_never_used(workspace: Workspace) -> None:
    path = workspace.write("m.py", "X = 'old bytecode'\n")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    py_compile.compile(str(path), cfile=importlib.util.cache_from_source(str(path)))
    path.write_text("X = 'new source!!'\n")  # same size, and the same mtime again:
    os.utime(path, (1_700_000_000, 1_700_000_000))  # the .pyc header still matches

    module = workspace.import_("m")
    assert module.X == "new source!!"

    path.write_text("X = 'newer source'\n")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    workspace.reload()
    assert module.X == "newer source"


def test_source_encoding_declared_in_a_coding_cookie_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes("# -*- coding: latin-1 -*-\nWORD = 'café'\n".encode("latin-1"))

    compiled = compile_snapshot("latin", read_snapshot(str(path)))
    namespace: dict[str, object] = {}
    exec(compiled.code, namespace)

    assert namespace["WORD"] == "café"


def test_syntax_error_is_reported_with_line_and_source(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("X = 1\ndef f(:\n    pass\n")

    with pytest.raises(ModuleLoadError) as caught:
        compile_snapshot("broken", read_snapshot(str(path)))

    assert caught.value.location == (2, "def f(:")
    assert isinstance(caught.value.cause, SyntaxError)


# --- failing transactionally ----------------------------------------------------------------


def test_failed_rerun_leaves_module_exactly_as_it_was(workspace: Workspace) -> None:
    workspace.write(
        "m.py",
        "import enum\nX = 1\nclass K:\n    def m(self):\n        return 'old'\n"
        "class Color(enum.Enum):\n    RED = 1\ndef f(a=1):\n    return a\n",
    )
    module = workspace.import_("m")
    namespace_before = dict(vars(module))
    class_dict_before = dict(vars(module.K))
    members_before = list(module.Color)
    code_before, defaults_before = module.f.__code__, module.f.__defaults__
    workspace.write(
        "m.py",
        "import enum\nX = 2\nNEW = 1\nclass K:\n    def m(self):\n        return 'new'\n"
        "    def added(self):\n        pass\n"
        "class Color(enum.Enum):\n    RED = 1\n    BLUE = 2\ndef f(a=2):\n    return -a\n"
        "raise RuntimeError('half-way')\n",
    )

    report = workspace.reload()

    assert [(f.error_type, f.lineno) for f in report.failed] == [("RuntimeError", 14)]
    assert vars(module).keys() == namespace_before.keys()
    assert all(vars(module)[key] is value for key, value in namespace_before.items())
    assert dict(vars(module.K)) == class_dict_before
    assert list(module.Color) == members_before
    assert (module.f.__code__, module.f.__defaults__) == (code_before, defaults_before)
    assert "__build_class__" not in vars(module)


def test_class_statement_hook_is_removed_after_a_failed_rerun(workspace: Workspace) -> None:
    original = builtins.__build_class__
    workspace.write("m.py", "class K:\n    pass\n")
    workspace.import_("m")
    workspace.write("m.py", "class K:\n    X = 1 / 0\n")

    workspace.reload()

    assert builtins.__build_class__ is original


def test_failed_module_is_retried_only_when_it_changes_again(workspace: Workspace) -> None:
    workspace.write("m.py", "X = 1\n")
    module = workspace.import_("m")
    workspace.write("m.py", "X = 2\nraise ValueError\n")

    first, again = workspace.reload(), workspace.reload()
    workspace.write("m.py", "X = 3\n")
    fixed = workspace.reload()

    assert len(first.failed) == 1 and not again
    assert [entry.mode for entry in fixed.reloaded] == [ReloadMode.RERUN]
    assert module.X == 3


# --- bodies only: the top level does not run again ------------------------------------------


def test_body_edit_patches_code_without_rerunning_top_level(workspace: Workspace) -> None:
    workspace.write("m.py", counting(workspace, "STATE = []\ndef f():\n    return 'old'\n"))
    module = workspace.import_("m")
    state, function = module.STATE, module.f

    workspace.write("m.py", counting(workspace, "STATE = []\ndef f():\n    return 'new'\n"))

    assert modes(workspace) == [ReloadMode.PATCHED]
    assert (function(), module.STATE is state, runs(workspace)) == ("new", True, 1)


def test_decorator_body_edit_reaches_existing_wrappers(workspace: Workspace) -> None:
    source = (
        "import functools\ndef loud(f):\n    @functools.wraps(f)\n    def wrapper():\n"
        "        return f() + '{mark}'\n    return wrapper\n@loud\ndef hi():\n    return 'hi'\n"
    )
    workspace.write("m.py", source.format(mark="!"))
    hi = workspace.import_("m").hi

    workspace.write("m.py", source.format(mark="?!"))

    assert modes(workspace) == [ReloadMode.PATCHED]
    assert hi() == "hi?!"
    assert hi.__doc__ is None and hi.__name__ == "hi"  # what functools.wraps copied stays


def test_body_edit_in_class_made_by_a_factory_is_patched(workspace: Workspace) -> None:
    source = "def make():\n    class K:\n        def v(self):\n            return {n}\n"
    source += "    return K\nK = make()\n"
    workspace.write("m.py", source.format(n=1))
    instance = workspace.import_("m").K()

    workspace.write("m.py", source.format(n=2))

    assert modes(workspace) == [ReloadMode.PATCHED]
    assert instance.v() == 2


def test_conditional_definitions_fall_back_to_a_rerun(workspace: Workspace) -> None:
    # (a condition the compiler cannot fold away, so both definitions exist)
    source = "import sys\nif sys.platform:\n    def f():\n        return {n}\n"
    source += "else:\n    def f():\n        return 0\n"
    workspace.write("m.py", source.format(n=1))
    f = workspace.import_("m").f

    workspace.write("m.py", source.format(n=2))

    assert modes(workspace) == [ReloadMode.RERUN]
    assert f() == 2


def test_patch_bodies_refuses_functions_it_cannot_find(workspace: Workspace) -> None:
    """A decorator returning a non-function hides the function: the module must run again."""
    source = "class Box:\n    def __init__(self, f):\n        self.f = f\n"
    source += "@Box\ndef f():\n    return {n}\n"
    workspace.write("m.py", source.format(n=1))
    module = workspace.import_("m")
    path = workspace.write("m.py", source.format(n=2))
    compiled = compile_snapshot(module.__name__, read_snapshot(str(path)))

    assert patch_bodies(module, compiled, UndoLog()) is False
    assert module.f.f() == 1


def test_traceback_of_patched_function_shows_new_line_and_text(workspace: Workspace) -> None:
    workspace.write("m.py", "def f():\n    return 1 / 0\n")
    module = workspace.import_("m")
    workspace.write("m.py", "def f():\n    zero = 0\n    return 1 / zero\n")
    workspace.reload()

    frame = last_frame(module.f)

    assert (Path(frame.filename).name, frame.lineno, frame.line) == (
        workspace.name("m") + ".py",
        3,
        "return 1 / zero",
    )


def test_traceback_after_a_failed_reload_shows_the_running_versions_lines(
    workspace: Workspace,
) -> None:
    workspace.write("m.py", "def f():\n    return 1 / 0\n")
    module = workspace.import_("m")
    workspace.write("m.py", "# inserted\n# lines\nBROKEN = (\ndef f():\n    return 1 / 0\n")
    assert len(workspace.reload().failed) == 1

    frame = last_frame(module.f)

    assert (frame.lineno, frame.line) == (2, "return 1 / 0")


# --- re-running -----------------------------------------------------------------------------


def test_rerun_gives_the_names_of_a_fresh_import(workspace: Workspace) -> None:
    workspace.write("m.py", "A = 1\nB = 2\ndef gone():\n    pass\n")
    module = workspace.import_("m")
    workspace.write("m.py", "A = 10\nC = 3\n")

    workspace.reload()

    own = {key for key in vars(module) if not key.startswith("__")}
    assert own == {"A", "C"} and module.A == 10


def test_rerun_of_package_keeps_its_imported_submodules(workspace: Workspace) -> None:
    workspace.write("pkg/__init__.py", "A = 1\n")
    workspace.write("pkg/sub.py", "B = 1\n")
    sub = workspace.import_("pkg.sub")
    package = workspace.import_("pkg")
    workspace.write("pkg/__init__.py", "A = 2\n")

    workspace.reload()

    assert package.A == 2 and package.sub is sub


def test_rerun_directly_reports_changed_names(workspace: Workspace) -> None:
    workspace.write("m.py", "A = 1\nB = 2\ndef f():\n    pass\n")
    module: ModuleType = workspace.import_("m")
    path = workspace.write("m.py", "A = 1\nB = 3\ndef f():\n    return 1\n")
    compiled = compile_snapshot(module.__name__, read_snapshot(str(path)))

    outcome = rerun(module, compiled, UndoLog())

    assert outcome.changed_names == {"B"}  # A: the same int; f: the same function, new code
    assert outcome.identity_lost == []


def test_reload_never_scans_the_heap(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cost follows the changed module, not the number of objects the user has."""
    workspace.write("m.py", "class K:\n    def v(self):\n        return 1\nX = 1\n")
    module = workspace.import_("m")
    instances = [module.K() for _ in range(1000)]

    def forbidden(*args: object) -> None:
        raise AssertionError("heap scan")

    for scan in ("get_objects", "get_referrers", "get_referents"):
        monkeypatch.setattr(gc, scan, forbidden)
    workspace.write("m.py", "class K:\n    def v(self):\n        return 2\nX = 2\n")
    report = workspace.reload()

    assert report.failed == [] and instances[-1].v() == 2
