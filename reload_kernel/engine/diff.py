"""How a module's source changed: cosmetically, only inside function bodies, or at top level.

This decides whether a module's top-level code must run again:

* **cosmetic** (comments, blank lines, formatting): nothing visible changes; functions get code
  with the new line numbers so tracebacks point at the right lines.
* **bodies**: only the bodies of functions and methods changed (docstrings included). Their
  code is swapped in place and the module's top level is *not* re-run, so state built at import
  (a data set, a connection, a cache) survives.
* **top level**: anything else (a new or removed function, a changed signature, default,
  decorator, class attribute, import or any other statement): the module is executed again,
  as a fresh import would, and existing objects are updated in place.
"""

from __future__ import annotations

import ast
import enum
from collections.abc import Iterator
from dataclasses import dataclass

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


class EditKind(enum.Enum):
    """What kind of edit a module received."""

    COSMETIC = "cosmetic"
    """Only comments, blank lines or formatting changed."""
    BODIES = "bodies"
    """Only function or method bodies changed."""
    TOP_LEVEL = "top level"
    """Module-level code changed: the module must run again."""


@dataclass(frozen=True)
class ModuleShape:
    """A module's parsed source reduced to what decides the kind of an edit."""

    everything: str
    skeleton: str
    definitions: dict[str, tuple[str, ...]]


def _definitions(body: list[ast.stmt], prefix: str) -> Iterator[tuple[str, FunctionNode]]:
    """Functions whose code objects live at module or class level, with their qualnames."""
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield prefix + statement.name, statement
        elif isinstance(statement, ast.ClassDef):
            yield from _definitions(statement.body, f"{prefix}{statement.name}.")
        else:
            for field in ("body", "orelse", "finalbody"):
                nested = getattr(statement, field, None)
                if isinstance(nested, list):
                    yield from _definitions(nested, prefix)
            for handler in getattr(statement, "handlers", ()):
                yield from _definitions(handler.body, prefix)


def shape_of(tree: ast.Module) -> ModuleShape:
    """The shape of a parsed module. ``tree`` is left as it was."""
    definitions: dict[str, list[str]] = {}
    nodes = list(_definitions(tree.body, ""))
    for qualname, node in nodes:
        definitions.setdefault(qualname, []).append(ast.dump(node))
    everything = ast.dump(tree)
    bodies = [node.body for _, node in nodes]
    try:
        for _, node in nodes:
            node.body = []
        skeleton = ast.dump(tree)
    finally:
        for (_, node), body in zip(nodes, bodies, strict=True):
            node.body = body
    return ModuleShape(everything, skeleton, {k: tuple(v) for k, v in definitions.items()})


def classify_edit(old: ModuleShape, new: ModuleShape) -> tuple[EditKind, list[str]]:
    """The kind of edit from ``old`` to ``new`` and the qualnames of changed functions."""
    changed = [
        qualname
        for qualname, dumps in new.definitions.items()
        if old.definitions.get(qualname) != dumps
    ]
    if old.everything == new.everything:
        return EditKind.COSMETIC, []
    if old.skeleton == new.skeleton:
        return EditKind.BODIES, changed
    return EditKind.TOP_LEVEL, changed
