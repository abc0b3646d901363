"""Through a real kernel: the names a notebook imported follow their module's edits.

The kernel sees every cell's import statements. After a module reloads, the names the user bound
from it are rebound to the new values before the next cell runs; a name the user has reassigned
since is never overwritten, and names the user never imported are never added.

One kernel serves the whole file: each test uses its own module names and notebook names.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import Notebook, unique_name


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Notebook]:
    with Notebook(tmp_path_factory.mktemp("names") / "work") as running:
        yield running


class Names:
    """Unique module names (``m``) and notebook names (``LIMIT`` → ``LIMIT_1a2b``) per test."""

    def __init__(self) -> None:
        self.suffix = unique_name("")[1:]

    def __getitem__(self, stem: str) -> str:
        return f"{stem}{self.suffix}"


@pytest.fixture
def names() -> Names:
    return Names()


def module_source(names: Names, **values: str) -> str:
    """A module defining each ``NAME = expression`` (names made unique)."""
    return "".join(f"{names[name]} = {expression}\n" for name, expression in values.items())


# --- what is rebound -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("import_statement", "user_name"),
    [
        pytest.param("from {m} import {LIMIT}", "LIMIT", id="from-import"),
        pytest.param("from {m} import {LIMIT} as {CAP}", "CAP", id="from-import-as"),
        pytest.param("from {m} import *", "LIMIT", id="star-import"),
        pytest.param("if True:\n    from {m} import {LIMIT}", "LIMIT", id="inside-if"),
        pytest.param("%%time\nfrom {m} import {LIMIT}", "LIMIT", id="time-cell-magic"),
        pytest.param("%%capture\nfrom {m} import {LIMIT}", "LIMIT", id="capture-cell-magic"),
    ],
)
def test_imported_constant_follows_its_module(
    kernel: Notebook, names: Names, import_statement: str, user_name: str
) -> None:
    m = names["m"]
    kernel.write(f"{m}.py", module_source(names, LIMIT="10"))
    statement = import_statement.format(m=m, LIMIT=names["LIMIT"], CAP=names["CAP"])
    kernel.run(statement).check()

    kernel.write(f"{m}.py", module_source(names, LIMIT="20"))

    assert kernel.value(names[user_name]) == "20"


def test_new_objects_and_instances_are_rebound(kernel: Notebook, names: Names) -> None:
    m, config, default = names["m"], names["CONFIG"], names["DEFAULT"]
    classes = "class Settings:\n    def __init__(self, level):\n        self.level = level\n"
    kernel.write(
        f"{m}.py", classes + module_source(names, CONFIG="{'mode': 'old'}", DEFAULT="Settings(1)")
    )
    kernel.run(f"from {m} import {config}, {default}").check()

    kernel.write(
        f"{m}.py", classes + module_source(names, CONFIG="{'mode': 'new'}", DEFAULT="Settings(2)")
    )

    assert kernel.value(f"({config}['mode'], {default}.level)") == "('new', 2)"


def test_star_import_gains_the_modules_new_public_names(kernel: Notebook, names: Names) -> None:
    m = names["m"]
    kernel.write(f"{m}.py", module_source(names, LIMIT="1"))
    kernel.run(f"from {m} import *").check()

    kernel.write(
        f"{m}.py", module_source(names, LIMIT="2", ADDED="'new'") + f"_{names['PRIVATE']} = 1\n"
    )

    assert kernel.value(f"({names['LIMIT']}, {names['ADDED']})") == "(2, 'new')"
    assert kernel.value(f"'_{names['PRIVATE']}' in dir()") == "False"


def test_submodule_imported_as_an_alias_shows_the_new_values(
    kernel: Notebook, names: Names
) -> None:
    pkg = names["pkg"]
    kernel.write(f"{pkg}/__init__.py", "")
    kernel.write(f"{pkg}/sub.py", "LIMIT = 1\n")
    alias = names["s"]
    kernel.run(f"import {pkg}.sub as {alias}").check()

    kernel.write(f"{pkg}/sub.py", "LIMIT = 2\n")

    assert kernel.value(f"{alias}.LIMIT") == "2"


def test_name_imported_from_a_dependent_follows_the_module_it_came_from(
    kernel: Notebook, names: Names
) -> None:
    a, b, limit = names["a"], names["b"], names["LIMIT"]
    kernel.write(f"{a}.py", module_source(names, LIMIT="1"))
    kernel.write(f"{b}.py", f"from {a} import {limit}\n")
    kernel.run(f"from {b} import {limit}").check()

    kernel.write(f"{a}.py", module_source(names, LIMIT="2"))

    assert kernel.value(limit) == "2"


def test_rebinding_happens_before_the_cell_runs(kernel: Notebook, names: Names) -> None:
    m, limit = names["m"], names["LIMIT"]
    kernel.write(f"{m}.py", module_source(names, LIMIT="1"))
    kernel.run(f"from {m} import {limit}").check()

    kernel.write(f"{m}.py", module_source(names, LIMIT="2"))
    cell = kernel.run(f"doubled = {limit} * 2\ndoubled").check()

    assert cell.result == "4"


def test_imports_not_recorded_yet_when_the_next_cell_starts_are_recorded_first(
    kernel: Notebook, names: Names
) -> None:
    # A cell's imports are recorded a millisecond after its reply, once the kernel is idle. A
    # cell sent at once ("Run All") may start before that: the previous cell's imports are then
    # recorded first. Here the kernel is never idle long enough: every cell starts that way.
    first, second, a, b = names["first"], names["second"], names["A"], names["B"]
    kernel.write(f"{first}.py", module_source(names, A="1"))
    kernel.write(f"{second}.py", module_source(names, B="1"))
    kernel.run(f"import {first}, {second}").check()
    for _ in range(2):  # (a first import is news to the next cells: the cells below are idle)
        kernel.run("pass").check()
    postpone = (
        "import reload_kernel.kernel as _rk\n"
        "_idle, _rk._WHEN_IDLE_SECONDS = _rk._WHEN_IDLE_SECONDS, 3600"
    )
    kernel.run(postpone, silent=True).check()
    try:
        kernel.run(f"from {first} import {a}").check()
        kernel.run(f"from {second} import {b}").check()
        kernel.write(f"{first}.py", module_source(names, A="2"))
        kernel.write(f"{second}.py", module_source(names, B="2"))

        both = kernel.value(f"({a}, {b})")
    finally:
        kernel.run("_rk._WHEN_IDLE_SECONDS = _idle\ndel _rk, _idle", silent=True).check()

    assert both == "(2, 2)"


# --- what is never touched -------------------------------------------------------------------


@pytest.mark.parametrize(
    "reassignment",
    [
        pytest.param("{LIMIT} = 5", id="other-value"),
        pytest.param("{LIMIT} = 10", id="equal-value"),
        pytest.param("{LIMIT} = {LIMIT}", id="same-object"),
        pytest.param("for {LIMIT} in [5]:\n    pass", id="for-loop"),
        pytest.param("del {LIMIT}", id="deleted"),
    ],
)
def test_name_the_user_reassigned_is_never_overwritten(
    kernel: Notebook, names: Names, reassignment: str
) -> None:
    m, limit = names["m"], names["LIMIT"]
    kernel.write(f"{m}.py", module_source(names, LIMIT="10"))
    kernel.run(f"from {m} import {limit}").check()
    kernel.run(reassignment.format(LIMIT=limit)).check()
    before = kernel.value(f"globals().get({limit!r}, 'absent')")

    kernel.write(f"{m}.py", module_source(names, LIMIT="20"))

    assert kernel.value(f"globals().get({limit!r}, 'absent')") == before


def test_star_imported_name_the_user_reassigned_is_never_overwritten(
    kernel: Notebook, names: Names
) -> None:
    m, limit = names["m"], names["LIMIT"]
    kernel.write(f"{m}.py", module_source(names, LIMIT="10", OTHER="1"))
    kernel.run(f"from {m} import *").check()
    kernel.run(f"{limit} = 'mine'").check()

    kernel.write(f"{m}.py", module_source(names, LIMIT="20", OTHER="2"))

    assert kernel.value(f"({limit}, {names['OTHER']})") == "('mine', 2)"


def test_modules_own_imports_and_other_names_are_never_injected(
    kernel: Notebook, names: Names
) -> None:
    m, helper = names["m"], names["helper"]
    kernel.write(f"{m}.py", f"def {helper}():\n    return 1\n")
    kernel.run(f"from {m} import {helper}").check()

    kernel.write(
        f"{m}.py",
        f"import fractions\nfrom decimal import Decimal\n{names['LIMIT']} = 2\n"
        f"def {helper}():\n    return 2\n",
    )

    assert kernel.value(f"{helper}()") == "2"
    injected = f"[n for n in ('fractions', 'Decimal', {names['LIMIT']!r}) if n in dir()]"
    assert kernel.value(injected) == "[]"


@pytest.mark.parametrize(
    "cell",
    [
        pytest.param(
            "def load():\n    from {m} import {LIMIT}\n    return {LIMIT}\n{LIMIT} = load()",
            id="in-function",
        ),
        pytest.param("exec('from {m} import {LIMIT}')", id="in-exec"),
        pytest.param("%run -i {script}", id="in-run"),
    ],
)
def test_imports_made_inside_functions_exec_or_run_are_not_the_notebooks(
    kernel: Notebook, names: Names, cell: str
) -> None:
    m, limit = names["m"], names["LIMIT"]
    kernel.write(f"{m}.py", module_source(names, LIMIT="10"))
    script = kernel.write(f"{names['script']}.py", f"from {m} import {limit}\n")
    kernel.run(cell.format(m=m, LIMIT=limit, script=script)).check()
    assert kernel.value(limit) == "10"

    kernel.write(f"{m}.py", module_source(names, LIMIT="20"))

    assert kernel.value(limit) == "10"
    assert kernel.value(f"__import__({m!r}).{limit}") == "20"
