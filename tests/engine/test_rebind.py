"""The notebook's import bindings: what is recorded, what a reload rebinds, what it never touches.

These tests drive ``NotebookBindings`` directly with module objects placed in ``sys.modules``;
a reload is simulated by giving the module new attribute values, as a re-run does.
"""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from reload_kernel.engine.rebind import NotebookBindings


class Notebook:
    """A namespace, its bindings, and helpers to run cells and reload one fake module."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.ns: dict[str, Any] = {}
        self.bindings = NotebookBindings()

    def run(self, cell: str) -> None:
        """Execute a cell in the namespace and show it to the bindings, as the kernel does."""
        source = textwrap.dedent(cell).replace("MOD", self.module.__name__)
        exec(compile(source, "<cell>", "exec"), self.ns)
        self.bindings.record_cell(source, self.ns)

    def reload(self, **new_values: Any) -> list[str]:
        """Give the module new values (as its re-run would) and rebind; the names rebound."""
        for name, value in new_values.items():
            setattr(self.module, name, value)
        return self.bindings.rebind(self.ns, [self.module.__name__])


@pytest.fixture
def module() -> Iterator[ModuleType]:
    name = f"fake_{uuid.uuid4().hex[:8]}"
    fake = ModuleType(name)
    fake.LIMIT = 1000
    fake.CONFIG = {"mode": "old"}
    fake._PRIVATE = "private"
    fake.os = sys.modules["os"]  # a module the module imported for itself
    sys.modules[name] = fake
    yield fake
    del sys.modules[name]


@pytest.fixture
def notebook(module: ModuleType) -> Notebook:
    return Notebook(module)


# --- what gets rebound ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "name"),
    [
        pytest.param("from MOD import LIMIT", "LIMIT", id="from-import"),
        pytest.param("from MOD import LIMIT as CAP", "CAP", id="from-import-as"),
        pytest.param("from MOD import *", "LIMIT", id="star-import"),
        pytest.param("if True:\n    from MOD import LIMIT", "LIMIT", id="inside-if"),
        pytest.param(
            "try:\n    from MOD import LIMIT\nexcept ImportError:\n    pass",
            "LIMIT",
            id="inside-try",
        ),
        pytest.param("for _ in [1]:\n    from MOD import LIMIT", "LIMIT", id="inside-for"),
        pytest.param("LIMIT = 0\nfrom MOD import LIMIT", "LIMIT", id="import-after-assignment"),
    ],
)
def test_imported_name_follows_the_new_value(notebook: Notebook, cell: str, name: str) -> None:
    notebook.run(cell)

    rebound = notebook.reload(LIMIT=2000)

    assert notebook.ns[name] == 2000
    assert rebound == [name]


def test_new_object_replaces_the_old_one(notebook: Notebook) -> None:
    notebook.run("from MOD import CONFIG")
    new_config = {"mode": "new"}

    notebook.reload(CONFIG=new_config)

    assert notebook.ns["CONFIG"] is new_config


def test_binding_keeps_following_across_reloads(notebook: Notebook) -> None:
    notebook.run("from MOD import LIMIT")
    notebook.reload(LIMIT=2000)
    notebook.reload(LIMIT=3000)

    assert notebook.ns["LIMIT"] == 3000


def test_star_import_gains_the_new_public_names(notebook: Notebook) -> None:
    notebook.run("from MOD import *")

    rebound = notebook.reload(ADDED="new", _ADDED_PRIVATE="hidden")

    assert notebook.ns["ADDED"] == "new"
    assert "_ADDED_PRIVATE" not in notebook.ns
    assert rebound == ["ADDED"]


def test_star_import_follows_all(notebook: Notebook, module: ModuleType) -> None:
    module.__all__ = ["LIMIT"]
    notebook.run("from MOD import *")

    notebook.reload(__all__=["LIMIT", "EXPORTED"], EXPORTED=1, NOT_EXPORTED=2)

    assert notebook.ns["EXPORTED"] == 1
    assert "NOT_EXPORTED" not in notebook.ns


def test_name_a_star_import_gains_is_then_followed(notebook: Notebook) -> None:
    notebook.run("from MOD import *")
    notebook.reload(ADDED=1000)

    notebook.reload(ADDED=2000)

    assert notebook.ns["ADDED"] == 2000


# --- what is never touched ------------------------------------------------------------------


@pytest.mark.parametrize(
    "reassignment",
    [
        pytest.param("LIMIT = 5", id="assignment"),
        pytest.param("LIMIT = LIMIT", id="same-object"),
        pytest.param("LIMIT += 1", id="augmented"),
        pytest.param("for LIMIT in [5]:\n    pass", id="for-target"),
        pytest.param(
            "import contextlib\nwith contextlib.nullcontext(5) as LIMIT:\n    pass",
            id="with-target",
        ),
        pytest.param("(LIMIT := 5)", id="walrus"),
        pytest.param(
            "try:\n    1 / 0\nexcept ZeroDivisionError as LIMIT:\n    pass", id="except-as"
        ),
        pytest.param("def LIMIT():\n    pass", id="def"),
        pytest.param("class LIMIT:\n    pass", id="class"),
        pytest.param("import os as LIMIT", id="import-as"),
        pytest.param("match 5:\n    case LIMIT:\n        pass", id="match-capture"),
    ],
)
def test_name_reassigned_in_a_later_cell_is_never_overwritten(
    notebook: Notebook, reassignment: str
) -> None:
    notebook.run("from MOD import LIMIT")
    notebook.run(reassignment)
    users_value = notebook.ns.get("LIMIT")

    rebound = notebook.reload(LIMIT=2000)

    assert notebook.ns.get("LIMIT") is users_value
    assert rebound == []


def test_name_reassigned_in_the_importing_cell_is_never_overwritten(notebook: Notebook) -> None:
    notebook.run("from MOD import LIMIT\nLIMIT = 1000 + 0 * len('x')")

    notebook.reload(LIMIT=2000)

    assert notebook.ns["LIMIT"] == 1000


def test_name_changed_where_no_cell_shows_it_is_never_overwritten(notebook: Notebook) -> None:
    """``exec``, ``%run`` or a function writing globals: the value is no longer the import's."""
    notebook.run("from MOD import LIMIT")
    notebook.ns["LIMIT"] = users_value = object()

    notebook.reload(LIMIT=2000)

    assert notebook.ns["LIMIT"] is users_value


def test_deleted_name_is_not_brought_back(notebook: Notebook) -> None:
    notebook.run("from MOD import *")
    notebook.run("del LIMIT")

    notebook.reload(LIMIT=2000)

    assert "LIMIT" not in notebook.ns


def test_star_import_never_overwrites_a_name_the_notebook_has(notebook: Notebook) -> None:
    notebook.run("from MOD import *")
    notebook.run("ADDED = 'mine'")

    notebook.reload(ADDED="module's")

    assert notebook.ns["ADDED"] == "mine"


def test_from_import_injects_no_other_name_of_the_module(notebook: Notebook) -> None:
    notebook.run("from MOD import LIMIT")

    notebook.reload(LIMIT=2000, ADDED=1)

    assert set(notebook.ns) - {"__builtins__"} == {"LIMIT"}


def test_private_names_and_the_modules_own_imports_are_not_injected(notebook: Notebook) -> None:
    notebook.run("from MOD import LIMIT")

    notebook.reload(_PRIVATE="new private", os=sys.modules["sys"])

    assert "_PRIVATE" not in notebook.ns
    assert "os" not in notebook.ns


@pytest.mark.parametrize(
    "cell",
    [
        pytest.param(
            "def load():\n    from MOD import LIMIT\n    return LIMIT\nLIMIT = load()",
            id="in-function",
        ),
        pytest.param("exec('from MOD import LIMIT')", id="in-exec"),
        pytest.param(
            "class Holder:\n    from MOD import LIMIT\nLIMIT = Holder.LIMIT", id="in-class"
        ),
    ],
)
def test_imports_the_cell_does_not_run_itself_are_not_bindings(
    notebook: Notebook, cell: str
) -> None:
    notebook.run(cell)
    assert notebook.ns["LIMIT"] == 1000

    rebound = notebook.reload(LIMIT=2000)

    assert notebook.ns["LIMIT"] == 1000
    assert rebound == []


def test_name_removed_from_the_module_keeps_its_value(
    notebook: Notebook, module: ModuleType
) -> None:
    notebook.run("from MOD import LIMIT")
    del module.LIMIT

    rebound = notebook.reload()

    assert notebook.ns["LIMIT"] == 1000
    assert rebound == []


def test_only_bindings_of_reloaded_modules_move(notebook: Notebook, module: ModuleType) -> None:
    notebook.run("from MOD import LIMIT")
    module.LIMIT = 2000

    assert notebook.bindings.rebind(notebook.ns, ["some_other_module"]) == []
    assert notebook.ns["LIMIT"] == 1000


def test_module_objects_are_not_bindings(notebook: Notebook, module: ModuleType) -> None:
    """``import m.sub as s`` and ``from m import sub``: a module object never changes identity."""
    module.sub = sub = ModuleType(f"{module.__name__}.sub")
    sys.modules[sub.__name__] = sub
    try:
        notebook.run("from MOD import sub")
        assert notebook.bindings.bindings == {}
        assert notebook.reload(LIMIT=2000) == []
        assert notebook.ns["sub"] is sub
    finally:
        del sys.modules[sub.__name__]


def test_import_of_a_module_not_loaded_records_nothing(notebook: Notebook) -> None:
    notebook.ns["LIMIT"] = 1
    notebook.bindings.record_cell("from not_a_module_anywhere import LIMIT", notebook.ns)

    assert notebook.bindings.bindings == {}


@pytest.mark.parametrize(
    ("magic", "bound"),
    [
        pytest.param("time", True, id="time"),
        pytest.param("capture", True, id="capture"),
        pytest.param("timeit", False, id="timeit-runs-in-a-function"),
        pytest.param("writefile", False, id="writefile-runs-nothing"),
    ],
)
def test_body_of_a_cell_magic_is_read_only_when_it_runs_as_the_cell(
    notebook: Notebook, magic: str, bound: bool
) -> None:
    """IPython turns ``%%time`` + body into ``get_ipython().run_cell_magic('time', '', body)``."""
    notebook.ns["LIMIT"] = notebook.module.LIMIT  # what running the body did
    body = f"from {notebook.module.__name__} import LIMIT\n"
    transformed = f"get_ipython().run_cell_magic({magic!r}, '', {body!r})\n"
    notebook.bindings.record_cell(transformed, notebook.ns)

    assert notebook.reload(LIMIT=2000) == (["LIMIT"] if bound else [])


def test_cell_with_top_level_await_records_its_imports(notebook: Notebook) -> None:
    """IPython runs ``await`` at a cell's top level; the cell is still read."""
    notebook.ns["LIMIT"] = notebook.module.LIMIT  # what running the cell did
    cell = f"from {notebook.module.__name__} import LIMIT\nawait something()\n"
    notebook.bindings.record_cell(cell, notebook.ns)

    assert notebook.reload(LIMIT=2000) == ["LIMIT"]


def test_cell_that_is_not_python_records_nothing(notebook: Notebook) -> None:
    notebook.run("from MOD import LIMIT")
    notebook.bindings.record_cell("this is not python", notebook.ns)

    assert notebook.reload(LIMIT=2000) == ["LIMIT"]
