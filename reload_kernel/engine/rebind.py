"""The notebook's own ``from m import x`` names, kept pointing at each module's current values.

The kernel shows every cell's code to ``NotebookBindings.record_cell`` after it ran. Each
``from m import x [as y]`` and ``from m import *`` the cell runs itself (at its top level, in
its ``if``/``for``/``try``/``with`` blocks, or as the body of a ``%%time`` or ``%%capture``
cell; not inside functions, ``exec`` or ``%run``) becomes a binding — but only if the name
still holds exactly the object the import produced, so the binding is the import's and nobody
else's. Any other statement of a cell that binds the name
(``x = ...``, ``del x``, ``def x``, ``for x in``...) ends the binding: the name is the user's.

After ``m`` reloads, a binding is moved to ``m``'s new value if the name *still* holds the object
we bound: a name the user has reassigned is never overwritten, and names the user never
imported are never added — except the names a star-imported module gains, as a fresh
``import *`` would bind them (never over a name the notebook already has, never one the
module already exported before, which the user may have deleted on purpose).
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, cast

from .graph import STAR
from .patch import MISSING


@dataclass
class ImportBinding:
    """User name ``name`` was bound by ``from module import attribute`` to ``value``."""

    name: str
    module: str
    attribute: str
    value: Any


class _CellBindings(ast.NodeVisitor):
    """What a cell's own code binds, in source order: ``from`` imports, and every other name
    it assigns or deletes. Bodies of functions, classes and lambdas run elsewhere (or never)."""

    def __init__(self) -> None:
        self.events: list[ast.ImportFrom | str] = []

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module:
            self.events.append(node)
        else:  # a relative import fails in a notebook; whatever it bound is not a module's
            self.events.extend(alias.asname or alias.name for alias in node.names)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.events.append(alias.asname or alias.name.split(".")[0])

    def visit_Name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load):
            self.events.append(node.id)

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        body = _body_run_in_the_notebook(node)
        if body is not None:
            self.visit(body)

    def _definition(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.events.append(node.name)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _definition

    def visit_Lambda(self, node: ast.Lambda) -> None:
        pass

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.events.append(node.name)
        self.generic_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self.visit(node.iter)  # the loop variable lives in the comprehension's own scope
        for condition in node.ifs:
            self.visit(condition)

    def generic_visit(self, node: ast.AST) -> None:
        # Match patterns bind names given as plain strings (``case Point(x=px)`` binds px).
        for field in ("name", "rest"):
            value = getattr(node, field, None)
            if isinstance(value, str) and type(node).__name__.startswith("Match"):
                self.events.append(value)
        super().generic_visit(node)


#: Cell magics that run their body as the cell's own code, in the notebook's namespace.
_TRANSPARENT_CELL_MAGICS = frozenset({"time", "capture"})


def _body_run_in_the_notebook(call: ast.Call) -> ast.Module | None:
    """The parsed body of ``%%time`` or ``%%capture``, which IPython hands over as
    ``get_ipython().run_cell_magic("time", line, body)``; None for any other call."""
    function = call.func
    if not (
        isinstance(function, ast.Attribute)
        and function.attr == "run_cell_magic"
        and isinstance(function.value, ast.Call)
        and isinstance(function.value.func, ast.Name)
        and function.value.func.id == "get_ipython"
        and len(call.args) == 3
        and all(isinstance(argument, ast.Constant) for argument in call.args)
    ):
        return None
    magic, _line, body = (cast(ast.Constant, argument).value for argument in call.args)
    if magic not in _TRANSPARENT_CELL_MAGICS or not isinstance(body, str):
        return None
    try:
        return ast.parse(body)
    except (SyntaxError, ValueError, RecursionError):
        return None  # IPython syntax inside (a magic, a shell escape): nothing we can read


#: Words that may be Python names, in ASCII text.
_WORDS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def public_names(module: ModuleType) -> list[str]:
    """The names ``from module import *`` binds."""
    exported = getattr(module, "__all__", None)
    if exported is not None:
        return [name for name in exported if isinstance(name, str)]
    return [name for name in vars(module) if not name.startswith("_")]


class NotebookBindings:
    """The import bindings of the notebook's namespace."""

    def __init__(self) -> None:
        self._bindings: dict[str, ImportBinding] = {}
        self._star_modules: dict[str, set[str]] = {}
        """Each star-imported module → the public names it had when last seen."""

    @property
    def bindings(self) -> dict[str, ImportBinding]:
        """The current bindings by notebook name (a copy)."""
        return dict(self._bindings)

    def may_change(self, text: str) -> bool:
        """Whether recording a cell whose text is ``text`` could change the bindings.

        Read before the cell is parsed, so that most cells cost nothing: only a cell that
        imports (it must say ``import``) or that writes the name of a binding can change one.
        ``text`` may be the cell as typed: IPython's own transforms (magics, ``!`` commands,
        prompts) add no import and bind only names written in the cell. A cell that is not
        ASCII is always read: Python names are compared after NFKC normalisation, so ``ｘ``
        writes ``x``.
        """
        if "import" in text or not text.isascii():
            return True
        return bool(self._bindings) and not self._bindings.keys().isdisjoint(_WORDS.findall(text))

    def record_cell(self, source: str, user_ns: MutableMapping[str, Any]) -> None:
        """Record the bindings made by a cell that has just run (``source`` is plain Python)."""
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError):
            return  # the cell did not run as Python, so it bound nothing
        cell = _CellBindings()
        try:
            cell.visit(tree)
        except RecursionError:
            return  # too deeply nested to read: record nothing rather than guess
        for event in cell.events:
            if isinstance(event, str):
                self._bindings.pop(event, None)  # the user's own from now on
            else:
                self._record_import(event, user_ns)

    def _record_import(self, statement: ast.ImportFrom, user_ns: MutableMapping[str, Any]) -> None:
        module = sys.modules.get(statement.module or "")
        for alias in statement.names:
            name = alias.asname or alias.name
            if module is None:
                self._bindings.pop(name, None)
            elif alias.name == STAR:
                self._record_star(module, user_ns)
            else:
                self._record(name, module, alias.name, user_ns)

    def _record_star(self, module: ModuleType, user_ns: MutableMapping[str, Any]) -> None:
        names = public_names(module)
        self._star_modules[module.__name__] = set(names)
        for name in names:
            self._record(name, module, name, user_ns)

    def _record(
        self, name: str, module: ModuleType, attribute: str, user_ns: MutableMapping[str, Any]
    ) -> None:
        self._bindings.pop(name, None)
        value = user_ns.get(name, MISSING)
        if value is MISSING or value is not getattr(module, attribute, MISSING):
            return  # the cell bound it to something else afterwards
        if isinstance(value, ModuleType):
            return  # modules keep their identity across reloads: nothing to rebind
        self._bindings[name] = ImportBinding(name, module.__name__, attribute, value)

    def rebind(self, user_ns: MutableMapping[str, Any], reloaded: Iterable[str]) -> list[str]:
        """Point the bindings from ``reloaded`` modules at the new values; the names changed."""
        reloaded = set(reloaded)
        rebound: list[str] = []
        for name, binding in list(self._bindings.items()):
            if binding.module not in reloaded:
                continue
            if user_ns.get(name, MISSING) is not binding.value:
                del self._bindings[name]  # reassigned by the user: theirs now, never touched
                continue
            module = sys.modules.get(binding.module)
            new = getattr(module, binding.attribute, MISSING) if module else MISSING
            if new is MISSING or new is binding.value:
                continue  # removed from the module: the notebook keeps what it has
            user_ns[name] = new
            binding.value = new
            rebound.append(name)
        for module_name, seen in self._star_modules.items():
            module = sys.modules.get(module_name)
            if module_name in reloaded and module is not None:
                rebound.extend(self._add_new_star_names(module, seen, user_ns))
        return rebound

    def _add_new_star_names(
        self, module: ModuleType, seen: set[str], user_ns: MutableMapping[str, Any]
    ) -> list[str]:
        """Bind the public names ``module`` did not have before, as ``import *`` would."""
        added = []
        names = public_names(module)
        for name in names:
            if name in seen or name in user_ns:
                continue
            value = getattr(module, name, MISSING)
            if value is MISSING:
                continue
            user_ns[name] = value
            if not isinstance(value, ModuleType):
                self._bindings[name] = ImportBinding(name, module.__name__, name, value)
            added.append(name)
        seen.update(names)
        return added
