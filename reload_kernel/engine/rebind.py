"""The notebook's own ``from m import x`` names, kept pointing at each module's current values.

The kernel shows every cell's code to ``NotebookBindings.record_cell`` after it ran. Each
``from m import x [as y]`` and ``from m import *`` at the cell's top level (not inside functions,
``exec`` or ``%run``) becomes a binding — but only if the name still holds exactly the object the
import produced, so the binding is the import's and nobody else's. After ``m`` reloads, a binding
is moved to ``m``'s new value if the name *still* holds the object we bound: a name the user has
reassigned is never overwritten, and names the user never imported are never added (except the
new public names of a module the user star-imported, as a fresh ``import *`` would add them).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from .graph import STAR
from .patch import MISSING


@dataclass
class ImportBinding:
    """User name ``name`` was bound by ``from module import attribute`` to ``value``."""

    name: str
    module: str
    attribute: str
    value: Any


def _top_level_imports(tree: ast.Module) -> Iterator[ast.ImportFrom]:
    """Absolute ``from`` imports a cell runs itself, outside any function or class body."""
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        statement = pending.pop()
        if isinstance(statement, ast.ImportFrom):
            if statement.level == 0 and statement.module:
                yield statement
        elif not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for child in ast.iter_child_nodes(statement):
                if isinstance(child, ast.stmt):
                    pending.append(child)
                elif isinstance(child, ast.excepthandler):
                    pending.extend(
                        c for c in ast.iter_child_nodes(child) if isinstance(c, ast.stmt)
                    )


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
        self._star_modules: list[str] = []

    def record_cell(self, source: str, user_ns: MutableMapping[str, Any]) -> None:
        """Record the bindings made by a cell that has just run (``source`` is plain Python)."""
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            return  # the cell did not run as Python, so it bound nothing
        for statement in _top_level_imports(tree):
            module = sys.modules.get(statement.module or "")
            if module is None:
                continue
            for alias in statement.names:
                if alias.name == STAR:
                    self._record_star(module, user_ns)
                else:
                    self._record(alias.asname or alias.name, module, alias.name, user_ns)

    def _record_star(self, module: ModuleType, user_ns: MutableMapping[str, Any]) -> None:
        if module.__name__ not in self._star_modules:
            self._star_modules.append(module.__name__)
        for name in public_names(module):
            self._record(name, module, name, user_ns)

    def _record(
        self, name: str, module: ModuleType, attribute: str, user_ns: MutableMapping[str, Any]
    ) -> None:
        value = user_ns.get(name, MISSING)
        if value is MISSING or value is not getattr(module, attribute, MISSING):
            return
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
        for module_name in self._star_modules:
            if module_name in reloaded and module_name in sys.modules:
                rebound.extend(self._add_new_star_names(sys.modules[module_name], user_ns))
        return rebound

    def _add_new_star_names(
        self, module: ModuleType, user_ns: MutableMapping[str, Any]
    ) -> list[str]:
        added = []
        for name in public_names(module):
            if name in user_ns:
                continue
            value = getattr(module, name, MISSING)
            if value is MISSING:
                continue
            user_ns[name] = value
            if not isinstance(value, ModuleType):
                self._bindings[name] = ImportBinding(name, module.__name__, name, value)
            added.append(name)
        return added
