"""Modules that import an edited module follow the edit, in dependency order, without a kernel.

Every test imports real modules from the ``workspace`` fixture's directory (see conftest.py),
saves new versions of some of them, runs one reload step and checks the modules as a fresh
import of the files on disk would leave them. Executions are counted with a log file each
module appends its name to when its top level runs.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from reload_kernel.engine import ReloadMode, Report

from .conftest import Workspace


class ExecutionLog:
    """A file each module appends its name to whenever its top-level code runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.write_text("", encoding="utf-8")

    @property
    def line(self) -> str:
        """The statement a module starts with to log its executions."""
        return f"with open({str(self.path)!r}, 'a') as _log:\n    _log.write(__name__ + ' ')\n"

    def take(self) -> list[str]:
        """The executions logged since the last call, in order."""
        entries = self.path.read_text(encoding="utf-8").split()
        self.path.write_text("", encoding="utf-8")
        return entries


@pytest.fixture
def log(tmp_path: Path) -> ExecutionLog:
    return ExecutionLog(tmp_path / "executions.log")


def module(name: str) -> ModuleType:
    return sys.modules[name]


def reloaded_modules(report: Report, workspace: Workspace) -> list[str]:
    """Modules of this test the report says were reloaded, in the order they were loaded."""
    return [entry.module for entry in report.reloaded if entry.module.startswith(workspace.prefix)]


def assert_clean(report: Report) -> None:
    assert report.failed == [], report.failed
    assert report.identity_lost == [], report.identity_lost


# --- a dependent sees the new value, whatever form its import takes ---------------------------


IMPORT_FORMS = [
    pytest.param("from {a} import LIMIT\nSEEN = LIMIT", "SEEN", id="from-import"),
    pytest.param("from {a} import LIMIT as CAP\nSEEN = CAP", "SEEN", id="from-import-as"),
    pytest.param("from {a} import *\nSEEN = LIMIT", "SEEN", id="star-import"),
    pytest.param("import {a}\nSEEN = {a}.LIMIT", "SEEN", id="import-module-read-at-top-level"),
    pytest.param("import {a} as x\nSEEN = x.LIMIT * 1", "SEEN", id="import-as-read-at-top-level"),
    pytest.param("from {a} import LIMIT\n", "LIMIT", id="from-import-binding-itself"),
]


@pytest.mark.parametrize(("importer_source", "attribute"), IMPORT_FORMS)
def test_dependent_takes_the_new_value_of_an_edited_module(
    workspace: Workspace, importer_source: str, attribute: str
) -> None:
    a, b = workspace.name("a"), workspace.name("b")
    workspace.write("a.py", "LIMIT = 10\n")
    workspace.write("b.py", importer_source.format(a=a))
    workspace.import_("b")
    assert getattr(module(b), attribute) == 10

    workspace.write("a.py", "LIMIT = 20\n")
    report = workspace.reload()

    assert_clean(report)
    assert getattr(module(b), attribute) == 20
    assert reloaded_modules(report, workspace) == [a, b]


@pytest.mark.parametrize(
    "importer_source",
    [
        pytest.param("from .a import *\nSEEN = LIMIT\n", id="relative-star"),
        pytest.param("from .a import LIMIT as SEEN\n", id="relative-from-import"),
        pytest.param("from . import a\nSEEN = a.LIMIT\n", id="relative-module-read"),
    ],
)
def test_relative_imports_inside_a_package_make_dependents(
    workspace: Workspace, importer_source: str, log: ExecutionLog
) -> None:
    pkg = workspace.name("pkg")
    workspace.write("pkg/__init__.py", "")
    workspace.write("pkg/a.py", "LIMIT = 10\n")
    workspace.write("pkg/b.py", log.line + importer_source)
    workspace.import_("pkg.b")
    log.take()

    workspace.write("pkg/a.py", "LIMIT = 20\n")
    report = workspace.reload()

    assert_clean(report)
    assert module(f"{pkg}.b").SEEN == 20
    assert log.take() == [f"{pkg}.b"]


def test_dependent_that_never_reads_the_edited_module_is_not_rerun(
    workspace: Workspace, log: ExecutionLog
) -> None:
    pkg = workspace.name("pkg")
    workspace.write("pkg/__init__.py", "")
    workspace.write("pkg/a.py", "LIMIT = 10\n")
    workspace.write("pkg/b.py", log.line + "from . import a\ndef limit():\n    return a.LIMIT\n")
    workspace.import_("pkg.b")
    log.take()

    workspace.write("pkg/a.py", "LIMIT = 20\n")
    report = workspace.reload()

    assert reloaded_modules(report, workspace) == [f"{pkg}.a"]
    assert module(f"{pkg}.b").limit() == 20
    assert log.take() == []


def test_chain_of_dependents_follows_in_order(workspace: Workspace, log: ExecutionLog) -> None:
    a, b, c = workspace.name("a"), workspace.name("b"), workspace.name("c")
    workspace.write("a.py", log.line + "LIMIT = 1\n")
    workspace.write("b.py", log.line + f"from {a} import LIMIT\nDOUBLE = LIMIT * 2\n")
    workspace.write("c.py", log.line + f"import {b}\nQUADRUPLE = {b}.DOUBLE * 2\n")
    workspace.import_("c")
    log.take()

    workspace.write("a.py", log.line + "LIMIT = 5\n")
    report = workspace.reload()

    assert_clean(report)
    assert (module(b).DOUBLE, module(c).QUADRUPLE) == (10, 20)
    assert log.take() == [a, b, c]
    assert [entry.because_of for entry in report.reloaded if entry.module in (b, c)] == [
        (a,),
        (b,),
    ]


def test_package_reexport_reaches_importers_of_the_package(workspace: Workspace) -> None:
    pkg, user = workspace.name("pkg"), workspace.name("user")
    workspace.write("pkg/__init__.py", "from .core import LIMIT\n")
    workspace.write("pkg/core.py", "LIMIT = 1\n")
    workspace.write("user.py", f"from {pkg} import LIMIT\nTWICE = LIMIT * 2\n")
    workspace.import_("user")

    workspace.write("pkg/core.py", "LIMIT = 7\n")
    report = workspace.reload()

    assert_clean(report)
    assert module(pkg).LIMIT == 7
    assert (module(user).LIMIT, module(user).TWICE) == (7, 14)
    assert reloaded_modules(report, workspace) == [f"{pkg}.core", pkg, user]


def test_star_importer_follows_a_change_of_all_alone(workspace: Workspace) -> None:
    """``__all__`` now exports a name that existed all along, unchanged: a fresh
    ``from a import *`` would bind it."""
    a, b = workspace.name("a"), workspace.name("b")
    workspace.write("a.py", "__all__ = ['X']\nX = 1\nY = 2\n")
    workspace.write("b.py", f"from {a} import *\n")
    workspace.import_("b")
    assert not hasattr(module(b), "Y")

    workspace.write("a.py", "__all__ = ['X', 'Y']\nX = 1\nY = 2\n")
    report = workspace.reload()

    assert_clean(report)
    assert module(b).Y == 2


def test_star_import_through_a_package_reaches_the_notebook(workspace: Workspace) -> None:
    pkg = workspace.name("pkg")
    workspace.write("pkg/__init__.py", "from .core import *\n")
    workspace.write("pkg/core.py", "LIMIT = 1\n")
    workspace.import_("pkg")
    notebook = workspace.user_ns
    exec(f"from {pkg} import *", notebook)
    workspace.reloader.record_cell(f"from {pkg} import *", notebook)

    workspace.write("pkg/core.py", "LIMIT = 2\nADDED = 'new'\n")
    report = workspace.reload()

    assert_clean(report)
    assert (notebook["LIMIT"], notebook["ADDED"]) == (2, "new")
    assert sorted(report.rebound) == ["ADDED", "LIMIT"]


def test_monkeypatch_of_a_module_is_applied_again_after_its_rerun(workspace: Workspace) -> None:
    """b sets ``a.HOOK`` at import; a's re-run puts its own default back: b must run again."""
    a, b = workspace.name("a"), workspace.name("b")
    workspace.write("a.py", "def HOOK():\n    return 'default'\ndef call():\n    return HOOK()\n")
    workspace.write("b.py", f"import {a}\ndef mine():\n    return 'patched'\n{a}.HOOK = mine\n")
    workspace.import_("b")
    assert module(a).call() == "patched"

    workspace.write(
        "a.py", "VERSION = 2\ndef HOOK():\n    return 'default'\ndef call():\n    return HOOK()\n"
    )
    report = workspace.reload()

    assert_clean(report)
    assert module(a).call() == "patched"
    assert reloaded_modules(report, workspace) == [a, b]


# --- import cycles ----------------------------------------------------------------------------


@pytest.fixture
def cycle(workspace: Workspace, log: ExecutionLog) -> tuple[str, str]:
    """``first`` and ``second`` import each other; ``first`` is imported first."""
    first, second = workspace.name("first"), workspace.name("second")
    workspace.write("first.py", log.line + f"X = 1\nfrom {second} import Y\n")
    workspace.write("second.py", log.line + f"from {first} import X\nY = X + 100\n")
    workspace.import_("first")
    assert (module(first).Y, module(second).Y) == (101, 101)
    log.take()
    return first, second


def test_cycle_edit_of_first_module_reaches_both(
    workspace: Workspace, log: ExecutionLog, cycle: tuple[str, str]
) -> None:
    first, second = cycle
    workspace.write("first.py", log.line + f"X = 2\nfrom {second} import Y\n")

    report = workspace.reload()

    assert_clean(report)
    assert (module(first).X, module(second).X) == (2, 2)
    assert (module(first).Y, module(second).Y) == (102, 102)
    assert Counter(log.take()) == {first: 1, second: 1}


def test_cycle_edit_of_second_module_reaches_the_first(
    workspace: Workspace, log: ExecutionLog, cycle: tuple[str, str]
) -> None:
    first, second = cycle
    workspace.write("second.py", log.line + f"from {first} import X\nY = X + 200\n")

    report = workspace.reload()

    assert_clean(report)
    assert (module(first).Y, module(second).Y) == (201, 201)
    assert Counter(log.take()) == {first: 1, second: 1}


def test_cycle_edit_of_both_modules_runs_each_once(
    workspace: Workspace, log: ExecutionLog, cycle: tuple[str, str]
) -> None:
    first, second = cycle
    workspace.write("first.py", log.line + f"X = 3\nfrom {second} import Y\n")
    workspace.write("second.py", log.line + f"from {first} import X\nY = X + 300\n")

    report = workspace.reload()

    assert_clean(report)
    assert (module(first).X, module(second).X) == (3, 3)
    assert (module(first).Y, module(second).Y) == (303, 303)
    assert Counter(log.take()) == {first: 1, second: 1}


# --- what "depends" means: rerun exactly when the dependent used what changed -----------------


def test_body_only_edit_reruns_no_dependent(workspace: Workspace, log: ExecutionLog) -> None:
    a, b = workspace.name("a"), workspace.name("b")
    workspace.write("a.py", log.line + "def limit():\n    return 1\n")
    workspace.write("b.py", log.line + f"from {a} import limit\nimport {a}\nF = {a}.limit\n")
    workspace.import_("b")
    log.take()

    workspace.write("a.py", log.line + "def limit():\n    return 2\n")
    report = workspace.reload()

    assert [(e.module, e.mode) for e in report.reloaded] == [(a, ReloadMode.PATCHED)]
    assert module(b).limit() == module(b).F() == 2
    assert log.take() == []


def test_dependent_using_only_unchanged_names_is_not_rerun(
    workspace: Workspace, log: ExecutionLog
) -> None:
    a = workspace.name("a")
    workspace.write("a.py", "KEPT = 1\nOTHER = 1000\n")
    workspace.write("b.py", log.line + f"from {a} import KEPT\nimport {a}\nK = {a}.KEPT\n")
    workspace.import_("b")
    log.take()

    workspace.write("a.py", "KEPT = 1\nOTHER = 2000\n")  # small ints keep their identity
    report = workspace.reload()

    assert reloaded_modules(report, workspace) == [a]
    assert log.take() == []


def test_dependent_calling_the_module_at_import_time_is_rerun(workspace: Workspace) -> None:
    """``TABLE = a.build()`` computed its value with a's old state: it must be computed again."""
    a, b = workspace.name("a"), workspace.name("b")
    workspace.write("a.py", "SCALE = 2\ndef build():\n    return [SCALE * i for i in range(3)]\n")
    workspace.write("b.py", f"import {a}\nTABLE = {a}.build()\n")
    workspace.import_("b")

    workspace.write("a.py", "SCALE = 3\ndef build():\n    return [SCALE * i for i in range(3)]\n")
    report = workspace.reload()

    assert_clean(report)
    assert module(b).TABLE == [0, 3, 6]


def test_dependent_calling_through_its_own_function_is_rerun(workspace: Workspace) -> None:
    a, b = workspace.name("a"), workspace.name("b")
    workspace.write("a.py", "SCALE = 2\ndef scaled(x):\n    return SCALE * x\n")
    workspace.write(
        "b.py", f"from {a} import scaled\ndef table():\n    return scaled(5)\nTABLE = table()\n"
    )
    workspace.import_("b")

    workspace.write("a.py", "SCALE = 3\ndef scaled(x):\n    return SCALE * x\n")
    workspace.reload()

    assert module(b).TABLE == 15


def test_registry_filled_by_dependents_survives_a_rerun_of_its_module(
    workspace: Workspace,
) -> None:
    """Re-running ``registry`` empties REGISTRY: the modules that registered must do it again."""
    registry, plugin = workspace.name("registry"), workspace.name("plugin")
    workspace.write(
        "registry.py",
        "REGISTRY = {}\ndef register(f):\n    REGISTRY[f.__name__] = f\n    return f\n",
    )
    workspace.write(
        "plugin.py", f"from {registry} import register\n@register\ndef hello():\n    return 1\n"
    )
    workspace.import_("plugin")

    workspace.write(
        "registry.py",
        "VERSION = 2\nREGISTRY = {}\n"
        "def register(f):\n    REGISTRY[f.__name__] = f\n    return f\n",
    )
    report = workspace.reload()

    assert_clean(report)
    registered = module(registry).REGISTRY
    assert list(registered) == ["hello"]
    assert registered["hello"]() == module(plugin).hello() == 1


def test_subclass_in_another_module_sees_its_edited_base_class(workspace: Workspace) -> None:
    base, sub = workspace.name("base"), workspace.name("sub")
    workspace.write("base.py", "class Base:\n    def greet(self):\n        return 'old'\n")
    workspace.write("sub.py", f"from {base} import Base\nclass Child(Base):\n    pass\n")
    workspace.import_("sub")
    child_class = module(sub).Child
    instance = child_class()

    workspace.write(
        "base.py",
        "GREETING = 'new'\nclass Base:\n    def greet(self):\n        return GREETING\n"
        "    def extra(self):\n        return 'extra'\n",
    )
    report = workspace.reload()

    assert_clean(report)
    assert module(sub).Child is child_class
    assert issubclass(child_class, module(base).Base)
    assert (instance.greet(), instance.extra()) == ("new", "extra")


def test_singledispatch_registry_in_another_module_keeps_working(workspace: Workspace) -> None:
    shapes, area = workspace.name("shapes"), workspace.name("area")
    workspace.write("shapes.py", "class Square:\n    side = 2\n")
    workspace.write(
        "area.py",
        f"import functools\nfrom {shapes} import Square\n"
        "@functools.singledispatch\ndef area(shape):\n    raise TypeError(shape)\n"
        "@area.register\ndef _(shape: Square):\n    return shape.side ** 2\n",
    )
    workspace.import_("area")
    old_square = module(shapes).Square()

    workspace.write("shapes.py", "class Square:\n    side = 3\nclass Circle:\n    pass\n")
    report = workspace.reload()

    assert_clean(report)
    assert module(area).area(old_square) == 9
    assert module(area).area(module(shapes).Square()) == 9


def test_singledispatch_function_extended_by_another_module_keeps_its_registrations(
    workspace: Workspace,
) -> None:
    describe = workspace.name("describe")
    workspace.write(
        "describe.py",
        "import functools\n@functools.singledispatch\ndef describe(x):\n    return 'thing'\n",
    )
    workspace.write(
        "extension.py",
        f"from {describe} import describe\n@describe.register\ndef _(x: int):\n    return 'int'\n",
    )
    workspace.import_("extension")

    workspace.write(
        "describe.py",
        "import functools\nPREFIX = 'a '\n"
        "@functools.singledispatch\ndef describe(x):\n    return PREFIX + 'thing'\n",
    )
    report = workspace.reload()

    assert_clean(report)
    assert (module(describe).describe(1), module(describe).describe("s")) == ("int", "a thing")


# --- packages -----------------------------------------------------------------------------


def test_rerun_of_package_init_keeps_its_submodule_attributes(workspace: Workspace) -> None:
    pkg = workspace.name("pkg")
    workspace.write("pkg/__init__.py", "NAME = 'old'\n")
    workspace.write("pkg/sub.py", "VALUE = 1\n")
    workspace.write("pkg/inner/__init__.py", "")
    workspace.write("pkg/inner/leaf.py", "VALUE = 2\n")
    workspace.import_("pkg.sub")
    workspace.import_("pkg.inner.leaf")

    workspace.write("pkg/__init__.py", "NAME = 'new'\n")
    report = workspace.reload()

    assert_clean(report)
    assert module(pkg).NAME == "new"
    assert module(pkg).sub is module(f"{pkg}.sub")
    assert module(pkg).inner.leaf is module(f"{pkg}.inner.leaf")


# --- batches ------------------------------------------------------------------------------


def test_modules_edited_together_load_in_dependency_order_from_their_new_source(
    workspace: Workspace, log: ExecutionLog
) -> None:
    """b's new version imports a name a's new version adds: a must load first, even though b
    was imported first and its old version did not import a at all."""
    a, b = workspace.name("a"), workspace.name("b")
    workspace.write("b.py", log.line + "VALUE = 0\n")
    workspace.write("a.py", log.line + "OLD = 1\n")
    workspace.import_("b")
    workspace.import_("a")
    log.take()

    workspace.write("a.py", log.line + "OLD = 1\nNEW = 5\n")
    workspace.write("b.py", log.line + f"from {a} import NEW\nVALUE = NEW + 1\n")
    report = workspace.reload()

    assert_clean(report)
    assert module(b).VALUE == 6
    assert log.take() == [a, b]


def test_a_and_b_edited_together_after_an_earlier_reload_of_a(
    workspace: Workspace, log: ExecutionLog
) -> None:
    a, b = workspace.name("a"), workspace.name("b")
    workspace.write("b.py", log.line + f"from {a} import X\nY = X + 1\n")
    workspace.write("a.py", log.line + "X = 1\n")
    workspace.import_("b")
    log.take()
    workspace.write("a.py", log.line + "X = 2\n")
    workspace.reload()
    assert module(b).Y == 3
    assert log.take() == [a, b]

    workspace.write("a.py", log.line + "X = 3\nZ = 10\n")
    workspace.write("b.py", log.line + f"from {a} import X, Z\nY = X + Z\n")
    report = workspace.reload()

    assert_clean(report)
    assert module(b).Y == 13
    assert log.take() == [a, b]


def test_failing_module_does_not_stop_the_others_and_is_retried_when_its_import_appears(
    workspace: Workspace, log: ExecutionLog
) -> None:
    a, b, c = workspace.name("a"), workspace.name("b"), workspace.name("c")
    workspace.write("a.py", log.line + "X = 1\n")
    workspace.write("b.py", log.line + f"from {a} import X\n")
    workspace.write("c.py", log.line + f"from {a} import X\nC = X\n")
    workspace.import_("b")
    workspace.import_("c")
    log.take()

    workspace.write("a.py", log.line + "X = 2\n")
    workspace.write("b.py", log.line + f"from {a} import X, MISSING_YET\n")
    report = workspace.reload()

    assert [failure.module for failure in report.failed] == [b]
    assert module(c).C == 2
    assert module(b).X == 1  # b keeps its previous version, entirely
    assert log.take() == [a, b, c]

    workspace.write("a.py", log.line + "X = 3\nMISSING_YET = 'here'\n")
    report = workspace.reload()

    assert report.failed == []
    assert (module(b).X, module(b).MISSING_YET, module(c).C) == (3, "here", 3)
    assert Counter(log.take()) == {a: 1, b: 1, c: 1}


def test_module_failing_at_import_time_is_retried_when_its_dependency_body_is_fixed(
    workspace: Workspace,
) -> None:
    a, b = workspace.name("a"), workspace.name("b")
    workspace.write("a.py", "def compute():\n    return 1\n")
    workspace.write("b.py", f"from {a} import compute\nRESULT = compute()\n")
    workspace.import_("b")

    workspace.write("a.py", "def compute():\n    return 1 / 0\n")
    workspace.write("b.py", f"from {a} import compute\nRESULT = compute() + 1\n")
    report = workspace.reload()
    assert [failure.module for failure in report.failed] == [b]
    assert module(b).RESULT == 1

    workspace.write("a.py", "def compute():\n    return 41\n")
    report = workspace.reload()

    assert report.failed == []
    assert module(b).RESULT == 42


def test_retry_failing_the_same_way_is_not_reported_again(workspace: Workspace) -> None:
    a, b = workspace.name("a"), workspace.name("b")
    workspace.write("a.py", "def compute():\n    return 1\n")
    workspace.write("b.py", f"from {a} import compute\nRESULT = compute()\n")
    workspace.import_("b")
    workspace.write("b.py", f"from {a} import compute\nRESULT = compute() + typo\n")
    first = workspace.reload()
    assert [(failure.module, failure.error_type) for failure in first.failed] == [(b, "NameError")]

    workspace.write("a.py", "def compute():\n    return 2\n")
    again = workspace.reload()

    assert again.failed == []
    assert [failure.module for failure in workspace.reloader.failures] == [b]
    assert module(b).RESULT == 1

    workspace.write("a.py", "def compute():\n    return None + 1\n")
    different = workspace.reload()

    assert [(failure.module, failure.error_type) for failure in different.failed] == [
        (b, "TypeError")
    ]


def test_removing_a_name_a_dependent_imports_fails_the_dependent_alone(
    workspace: Workspace,
) -> None:
    a, b = workspace.name("a"), workspace.name("b")
    workspace.write("a.py", "X = 1\nY = 1\n")
    workspace.write("b.py", f"from {a} import X\n")
    workspace.import_("b")

    workspace.write("a.py", "Y = 2\n")
    report = workspace.reload()

    assert reloaded_modules(report, workspace) == [a]
    assert [(failure.module, failure.error_type) for failure in report.failed] == [
        (b, "ImportError")
    ]
    assert module(b).X == 1  # as it was: a fresh import would fail, so the old version stays

    workspace.write("a.py", "X = 3\nY = 2\n")
    report = workspace.reload()

    assert report.failed == []
    assert module(b).X == 3


class LayeredProject:
    """``layers`` × ``width`` modules; each imports two modules of the layer below it."""

    def __init__(self, workspace: Workspace, log: ExecutionLog, layers: int, width: int) -> None:
        self.workspace, self.log = workspace, log
        self.layers, self.width = layers, width

    def stem(self, layer: int, index: int) -> str:
        return f"m{layer}_{index:02d}"

    def imports(self, layer: int, index: int) -> list[str]:
        """The modules (real names) that module ``(layer, index)`` imports."""
        if layer == 0:
            return []
        below = [index, (index + 1) % self.width]
        return [self.workspace.name(self.stem(layer - 1, i)) for i in below]

    def source(self, layer: int, index: int, version: int) -> str:
        lines = [self.log.line, f"VERSION = {version}\nTOTAL = 1\n"]
        if layer:
            same, other = self.imports(layer, index)
            lines.append(f"from {same} import TOTAL as BELOW\nTOTAL += BELOW\n")
            lines.append(f"import {other} as other\nOTHER_VERSION = other.VERSION\n")
        return "".join(lines)

    def write_all(self, version: int) -> None:
        # Top layer first: the order of the writes says nothing about the order to load in.
        for layer in reversed(range(self.layers)):
            for index in range(self.width):
                self.workspace.write(
                    f"{self.stem(layer, index)}.py", self.source(layer, index, version)
                )

    def all_names(self) -> list[str]:
        return [
            self.workspace.name(self.stem(layer, index))
            for layer in range(self.layers)
            for index in range(self.width)
        ]

    def import_top_layer(self) -> None:
        # Importing from the top tracks every module before the modules it imports.
        for index in range(self.width):
            self.workspace.import_(self.stem(self.layers - 1, index))


def test_hundreds_of_modules_rewritten_at_once_reload_in_one_ordered_batch(
    workspace: Workspace, log: ExecutionLog
) -> None:
    """A branch switch rewrites 160 modules: one reload step loads them all, each once, every
    module after the modules it imports."""
    project = LayeredProject(workspace, log, layers=8, width=20)
    project.write_all(version=1)
    project.import_top_layer()
    log.take()

    project.write_all(version=2)
    report = workspace.reload()

    assert_clean(report)
    executions = log.take()
    assert sorted(executions) == sorted(project.all_names())  # every module, exactly once
    position = {name: order for order, name in enumerate(executions)}
    for layer in range(project.layers):
        for index in range(project.width):
            name = workspace.name(project.stem(layer, index))
            assert all(position[dep] < position[name] for dep in project.imports(layer, index))
    assert reloaded_modules(report, workspace) == executions
    top = module(workspace.name(project.stem(project.layers - 1, 0)))
    assert top.VERSION == top.OTHER_VERSION == 2
    total = top.TOTAL  # one per layer, summed up the chain of imports
    assert total == project.layers


def test_one_broken_module_in_a_big_batch_stops_no_other(
    workspace: Workspace, log: ExecutionLog
) -> None:
    """The modules importing the broken one still load, on its previous version."""
    project = LayeredProject(workspace, log, layers=4, width=10)
    project.write_all(version=1)
    project.import_top_layer()
    broken = workspace.name(project.stem(1, 3))

    project.write_all(version=2)
    workspace.write(f"{project.stem(1, 3)}.py", "VERSION = (\n")
    report = workspace.reload()

    assert [failure.module for failure in report.failed] == [broken]
    assert sorted(reloaded_modules(report, workspace)) == sorted(
        name for name in project.all_names() if name != broken
    )
    assert module(broken).VERSION == 1
    importer = module(workspace.name(project.stem(2, 2)))  # imports (1, 2) and (1, 3)
    assert (importer.VERSION, importer.OTHER_VERSION) == (2, 1)
