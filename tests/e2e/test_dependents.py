"""Through a real kernel: modules that depend on an edited module follow the edit.

After a module is edited, every module importing from it is as a fresh import of the files on
disk would leave it: ``from a import LIMIT`` in b gives the new LIMIT, along chains, package
re-exports and import cycles, in dependency order, each module executed once. Executions are
counted by a log file every module appends its name to when its top level runs.

One kernel serves the whole file: each test gets its own module-name prefix.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from reload_kernel.messages import MAX_MODULES_NAMED

from .harness import Cell, Notebook, unique_name


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Notebook]:
    with Notebook(tmp_path_factory.mktemp("dependents") / "work") as running:
        yield running


class Project:
    """One test's modules in the shared kernel, with a log of their executions."""

    def __init__(self, notebook: Notebook) -> None:
        self.notebook = notebook
        self.prefix = unique_name("p") + "_"
        self.log_path = notebook.workdir / f"{self.prefix}executions.log"
        self.log_path.write_text("", encoding="utf-8")

    def name(self, stem: str) -> str:
        """The module name for ``stem`` (``a`` → ``p_1234abcd_a``)."""
        return self.prefix + stem

    @property
    def log_line(self) -> str:
        """A statement that logs the module's execution (start every module with it)."""
        return f"with open({str(self.log_path)!r}, 'a') as _log:\n    _log.write(__name__ + ' ')\n"

    def write(self, relative: str, source: str, *, logged: bool = True) -> Path:
        """Save ``relative`` (its first component made unique) with ``source``."""
        return self.notebook.write(
            self.prefix + relative, (self.log_line if logged else "") + source
        )

    def executions(self) -> list[str]:
        """Module executions logged since the last call, in order."""
        entries = self.log_path.read_text(encoding="utf-8").split()
        self.log_path.write_text("", encoding="utf-8")
        return entries

    def run(self, code: str) -> Cell:
        return self.notebook.run(code).check()

    def value(self, expression: str) -> str | None:
        return self.notebook.value(expression)


@pytest.fixture
def project(kernel: Notebook) -> Project:
    return Project(kernel)


# --- b follows a, whatever form its import takes --------------------------------------------


@pytest.mark.parametrize(
    ("importer_source", "expression"),
    [
        pytest.param("from {a} import LIMIT\n", "LIMIT", id="from-import"),
        pytest.param("from {a} import LIMIT as CAP\n", "CAP", id="from-import-as"),
        pytest.param("import {a} as x\nDOUBLE = x.LIMIT * 2\n", "DOUBLE // 2", id="import-as"),
        pytest.param("import {a}\nDOUBLE = {a}.LIMIT * 2\n", "DOUBLE // 2", id="import"),
        pytest.param("from {a} import *\nSEEN = LIMIT\n", "SEEN", id="star"),
    ],
)
def test_dependent_module_follows_an_edited_constant(
    project: Project, importer_source: str, expression: str
) -> None:
    a, b = project.name("a"), project.name("b")
    project.write("a.py", "LIMIT = 10\n")
    project.write("b.py", importer_source.format(a=a))
    project.run(f"import {b}")
    assert project.value(f"{b}.{expression}") == "10"

    project.write("a.py", "LIMIT = 20\n")

    assert project.value(f"{b}.{expression}") == "20"
    assert project.executions() == [b, a, a, b]  # first import, then a reload of a, then b


def test_relative_star_import_in_a_package_follows(project: Project) -> None:
    pkg = project.name("pkg")
    project.write("pkg/__init__.py", "")
    project.write("pkg/a.py", "LIMIT = 10\n")
    project.write("pkg/b.py", "from .a import *\n")
    project.run(f"import {pkg}.b")

    project.write("pkg/a.py", "LIMIT = 20\nADDED = 'new'\n")

    assert project.value(f"({pkg}.b.LIMIT, {pkg}.b.ADDED)") == "(20, 'new')"


def test_chain_c_b_a_follows_in_dependency_order(project: Project) -> None:
    a, b, c = project.name("a"), project.name("b"), project.name("c")
    project.write("a.py", "LIMIT = 1\n")
    project.write("b.py", f"from {a} import LIMIT\nDOUBLE = LIMIT * 2\n")
    project.write("c.py", f"from {b} import DOUBLE\nQUADRUPLE = DOUBLE * 2\n")
    project.run(f"import {c}")
    project.executions()

    project.write("a.py", "LIMIT = 5\n")
    cell = project.run(f"{c}.QUADRUPLE")

    assert cell.result == "20"
    assert project.executions() == [a, b, c]
    assert cell.stderr == f"↻ reloaded {a}, {b}, {c}\n"


def test_package_init_reexport_reaches_importers(project: Project) -> None:
    pkg, user = project.name("pkg"), project.name("user")
    project.write("pkg/__init__.py", "from .core import LIMIT\n")
    project.write("pkg/core.py", "LIMIT = 1\n")
    project.write("user.py", f"from {pkg} import LIMIT\n")
    project.run(f"import {pkg}, {user}")

    project.write("pkg/core.py", "LIMIT = 2\n")

    assert project.value(f"({pkg}.LIMIT, {user}.LIMIT)") == "(2, 2)"


def test_circular_imports_follow_each_executed_once(project: Project) -> None:
    first, second = project.name("first"), project.name("second")
    project.write("first.py", f"X = 1\nfrom {second} import Y\n")
    project.write("second.py", f"from {first} import X\nY = X + 100\n")
    project.run(f"import {first}, {second}")
    project.executions()

    project.write("second.py", f"from {first} import X\nY = X + 200\n")
    assert project.value(f"({first}.Y, {second}.Y)") == "(201, 201)"
    project.write("first.py", f"X = 2\nfrom {second} import Y\n")
    assert project.value(f"({first}.Y, {second}.Y)") == "(202, 202)"

    assert Counter(project.executions()) == {first: 2, second: 2}


# --- identity across modules ---------------------------------------------------------------


def test_subclass_in_another_module_sees_its_edited_base(project: Project) -> None:
    base, shapes = project.name("base"), project.name("shapes")
    project.write("base.py", "class Shape:\n    def name(self):\n        return 'old'\n")
    project.write("shapes.py", f"from {base} import Shape\nclass Square(Shape):\n    pass\n")
    project.run(
        f"import {base}, {shapes}\nsquare = {shapes}.Square()\nSquareBefore = {shapes}.Square"
    )

    project.write(
        "base.py",
        "class Shape:\n    def name(self):\n        return 'new'\n"
        "    def sides(self):\n        return 4\n",
    )

    assert project.value("(square.name(), square.sides())") == "('new', 4)"
    assert project.value(f"{shapes}.Square is SquareBefore") == "True"
    assert project.value(f"isinstance(square, {base}.Shape)") == "True"


def test_singledispatch_registry_in_another_module_keeps_working(project: Project) -> None:
    shapes, area = project.name("shapes"), project.name("area")
    project.write("shapes.py", "class Square:\n    side = 2\n")
    project.write(
        "area.py",
        f"import functools\nfrom {shapes} import Square\n"
        "@functools.singledispatch\ndef area(shape):\n    raise TypeError(shape)\n"
        "@area.register\ndef _(shape: Square):\n    return shape.side ** 2\n",
    )
    project.run(f"from {area} import area\nfrom {shapes} import Square\nsquare = Square()")

    project.write("shapes.py", "class Square:\n    side = 3\nclass Circle:\n    pass\n")

    assert project.value("(area(square), area(Square()))") == "(9, 9)"


def test_registry_in_another_module_is_refilled_when_its_module_reruns(project: Project) -> None:
    registry, plugins = project.name("registry"), project.name("plugins")
    registry_source = (
        "REGISTRY = {}\ndef register(f):\n    REGISTRY[f.__name__] = f\n    return f\n"
    )
    project.write("registry.py", "VERSION = 1\n" + registry_source)
    project.write(
        "plugins.py", f"from {registry} import register\n@register\ndef hello():\n    return 'hi'\n"
    )
    project.run(f"import {plugins}\nfrom {registry} import REGISTRY")

    project.write("registry.py", "VERSION = 2\n" + registry_source)

    assert project.value("sorted(REGISTRY)") == "['hello']"
    assert project.value("REGISTRY['hello']()") == "'hi'"


def test_value_computed_from_a_module_at_import_time_is_computed_again(project: Project) -> None:
    """b's top level did ``import a; TABLE = a.build()``: a fresh import would rebuild it."""
    a, b = project.name("a"), project.name("b")
    build = "def build():\n    return [SCALE * i for i in range(3)]\n"
    project.write("a.py", "SCALE = 1\n" + build)
    project.write("b.py", f"import {a}\nTABLE = {a}.build()\n")
    project.run(f"import {b}")

    project.write("a.py", "SCALE = 10\n" + build)

    assert project.value(f"{b}.TABLE") == "[0, 10, 20]"


def test_body_only_edit_runs_no_dependent_again(project: Project) -> None:
    a, b = project.name("a"), project.name("b")
    project.write("a.py", "def limit():\n    return 1\n")
    project.write("b.py", f"from {a} import limit\n")
    project.run(f"import {b}")
    project.executions()

    project.write("a.py", "def limit():\n    return 2\n")

    assert project.value(f"{b}.limit()") == "2"
    assert project.executions() == []


# --- packages ------------------------------------------------------------------------------


def test_reloading_package_init_keeps_its_submodule_attributes(project: Project) -> None:
    pkg = project.name("pkg")
    project.write("pkg/__init__.py", "NAME = 'old'\n")
    project.write("pkg/sub.py", "VALUE = 1\n")
    project.run(f"import {pkg}.sub as sub, {pkg}")

    project.write("pkg/__init__.py", "NAME = 'new'\n")

    assert project.value(f"({pkg}.NAME, {pkg}.sub is sub, {pkg}.sub.VALUE)") == "('new', True, 1)"


# --- several edits at once -----------------------------------------------------------------


def test_a_and_b_edited_together_after_an_earlier_reload_of_a(project: Project) -> None:
    a, b = project.name("a"), project.name("b")
    project.write("b.py", "VALUE = 0\n")
    project.write("a.py", "X = 1\n")
    project.run(f"import {b}, {a}")
    project.write("a.py", "X = 2\n")
    assert project.value(f"{a}.X") == "2"
    project.executions()

    project.write("a.py", "X = 3\nNEW = 10\n")
    project.write("b.py", f"from {a} import X, NEW\nVALUE = X + NEW\n")
    cell = project.run(f"{b}.VALUE")

    assert cell.result == "13"
    assert "failed" not in cell.stderr
    assert project.executions() == [a, b]


def test_failing_module_does_not_stop_the_others_and_is_retried(project: Project) -> None:
    a, b, c = project.name("a"), project.name("b"), project.name("c")
    project.write("a.py", "X = 1\n")
    project.write("b.py", f"from {a} import X\n")
    project.write("c.py", f"from {a} import X\n")
    project.run(f"import {b}, {c}")

    project.write("a.py", "X = 2\n")
    project.write("b.py", f"from {a} import X, NOT_YET\n")
    cell = project.run(f"({b}.X, {c}.X)")

    assert cell.result == "(1, 2)"
    assert cell.stderr.count("reload failed") == 1
    assert f"{b}.py line 3: ImportError" in cell.stderr
    assert project.run("1").stderr == ""  # shown once

    project.write("a.py", "X = 3\nNOT_YET = 'here'\n")
    cell = project.run(f"({b}.X, {b}.NOT_YET, {c}.X)")

    assert cell.result == "(3, 'here', 3)"
    assert "failed" not in cell.stderr


def _git(workdir: Path, *arguments: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *arguments],
        cwd=workdir,
        check=True,
        capture_output=True,
        timeout=60,
    )


def test_branch_switch_rewriting_160_modules_reloads_them_in_one_ordered_batch(
    project: Project,
) -> None:
    """160 modules in 8 layers, each importing two of the layer below; ``git checkout`` of a
    branch rewrites them all. The next cell loads every one, each once, after its imports."""
    layers, width = 8, 20
    stems = [[f"m{layer}_{index:02d}" for index in range(width)] for layer in range(layers)]
    repository = project.notebook.workdir / project.name("repo")

    def imports(layer: int, index: int) -> list[str]:
        if layer == 0:
            return []
        return [project.name(stems[layer - 1][i]) for i in (index, (index + 1) % width)]

    def write_all(version: int) -> None:
        for layer in range(layers):
            for index in range(width):
                lines = [project.log_line, f"VERSION = {version}\nTOTAL = 1\n"]
                if layer:
                    same, other = imports(layer, index)
                    lines.append(f"from {same} import TOTAL as BELOW\nTOTAL += BELOW\n")
                    lines.append(f"import {other} as other\nOTHER_VERSION = other.VERSION\n")
                path = repository / f"{project.name(stems[layer][index])}.py"
                path.write_text("".join(lines), encoding="utf-8")

    repository.mkdir()
    _git(repository, "init", "-q", "-b", "main")
    write_all(version=1)
    _git(repository, "add", ".")
    _git(repository, "commit", "-q", "-m", "v1")
    _git(repository, "checkout", "-q", "-b", "feature")
    write_all(version=2)
    _git(repository, "commit", "-q", "-am", "v2")
    _git(repository, "checkout", "-q", "main")
    top = [project.name(stem) for stem in stems[-1]]
    project.run(f"import sys\nsys.path.insert(0, {str(repository)!r})\nimport {', '.join(top)}")
    project.executions()

    _git(repository, "checkout", "-q", "feature")
    cell = project.run(f"({top[0]}.VERSION, {top[0]}.OTHER_VERSION, {top[0]}.TOTAL)")

    assert cell.result == f"(2, 2, {layers})"
    executions = project.executions()
    every_module = [project.name(stem) for row in stems for stem in row]
    assert sorted(executions) == sorted(every_module)  # each one, exactly once
    position = {name: order for order, name in enumerate(executions)}
    for layer in range(layers):
        for index in range(width):
            name = project.name(stems[layer][index])
            assert all(
                position[dependency] < position[name] for dependency in imports(layer, index)
            )
    hidden = len(every_module) - MAX_MODULES_NAMED
    assert cell.stderr.startswith("↻ reloaded ")
    assert cell.stderr.endswith(f" and {hidden} more modules\n")
    assert cell.stderr.count("\n") == 1
