"""``NotebookBindings.may_change``: the kernel skips reading a cell only when reading it would
change nothing.

The kernel asks before IPython's transforms and the parse, with the cell as typed. A wrong
"no" would leave a binding the user took over (and a reload would overwrite their name) or miss
an import (and a reload would leave the name on the old value).
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from reload_kernel.engine.rebind import NotebookBindings


@pytest.fixture
def module() -> Iterator[ModuleType]:
    name = f"fake_{uuid.uuid4().hex[:8]}"
    fake = ModuleType(name)
    fake.LIMIT = 1000
    fake.CONFIG = {"mode": "old"}
    sys.modules[name] = fake
    yield fake
    del sys.modules[name]


class FakeShell:
    """What ``get_ipython()`` offers the transformed cells below."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace

    def run_cell_magic(self, magic: str, line: str, body: str) -> None:
        exec(body, self.namespace)

    def getoutput(self, command: str) -> list[str]:
        return command.split()[1:]


@pytest.fixture
def bound(module: ModuleType) -> tuple[NotebookBindings, dict[str, Any]]:
    """Bindings after the cell ``from MOD import LIMIT``, and the notebook's namespace."""
    bindings = NotebookBindings()
    namespace: dict[str, Any] = {}
    shell = FakeShell(namespace)
    namespace["get_ipython"] = lambda: shell
    cell = f"from {module.__name__} import LIMIT"
    exec(cell, namespace)
    bindings.record_cell(cell, namespace)
    assert set(bindings.bindings) == {"LIMIT"}
    return bindings, namespace


#: Cells as typed (IPython syntax included) and the Python IPython makes of them.
CHANGING_CELLS = [
    pytest.param("LIMIT = 0", "LIMIT = 0", id="assigns-the-name"),
    pytest.param("del LIMIT", "del LIMIT", id="deletes-the-name"),
    pytest.param("for LIMIT in []: pass", "for LIMIT in []: pass", id="loop-variable"),
    pytest.param(
        "%%time\nLIMIT = 0",
        "get_ipython().run_cell_magic('time', '', 'LIMIT = 0\\n')",
        id="assigns-inside-time-magic",
    ),
    pytest.param(
        "LIMIT = !echo 0",
        "LIMIT = get_ipython().getoutput('echo 0')",
        id="assigns-shell-output",
    ),
    pytest.param("\uff2c\uff29\uff2d\uff29\uff34 = 0", "LIMIT = 0", id="full-width-name"),
    pytest.param("from MOD import CONFIG", "from MOD import CONFIG", id="imports-another-name"),
]

UNCHANGING_CELLS = [
    pytest.param("pass", id="pass"),
    pytest.param("x = 1\nprint(x)", id="assigns-other-names"),
    pytest.param("%%time\ntotal = 0", id="time-magic-assigning-other-names"),
    pytest.param("!echo LIMITS", id="shell-command"),
]


@pytest.mark.parametrize(("typed", "python"), CHANGING_CELLS)
def test_cell_that_changes_the_bindings_is_read(
    bound: tuple[NotebookBindings, dict[str, Any]], module: ModuleType, typed: str, python: str
) -> None:
    bindings, namespace = bound
    typed, python = (text.replace("MOD", module.__name__) for text in (typed, python))
    before = bindings.bindings
    asked_first = bindings.may_change(typed)  # the kernel asks before reading the cell
    exec(python, namespace)
    bindings.record_cell(python, namespace)
    assert bindings.bindings != before  # reading it matters...
    assert asked_first  # ...so it must not be skipped


@pytest.mark.parametrize("typed", UNCHANGING_CELLS)
def test_cell_that_neither_imports_nor_names_a_binding_is_skipped(
    bound: tuple[NotebookBindings, dict[str, Any]], typed: str
) -> None:
    bindings, _namespace = bound
    assert not bindings.may_change(typed)


def test_without_bindings_only_cells_that_import_are_read() -> None:
    bindings = NotebookBindings()
    assert not bindings.may_change("LIMIT = 0")
    assert bindings.may_change("import os")
