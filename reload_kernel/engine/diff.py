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
from typing import Any

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


class EditKind(enum.Enum):
    """What kind of edit a module received."""

    COSMETIC = "cosmetic"
    """Only comments, blank lines or formatting changed."""
    BODIES = "bodies"
    """Only function or method bodies changed."""
    TOP_LEVEL = "top level"
    """Module-level code changed: the module must run again."""


Fingerprint = tuple[Any, ...]
"""A syntax tree reduced to nested tuples: equal exactly when ``ast.dump`` texts are equal."""


@dataclass(frozen=True)
class ModuleShape:
    """A module's parsed source reduced to what decides the kind of an edit."""

    skeleton: Fingerprint
    """The module with the bodies of its functions and methods left out."""
    definitions: dict[str, tuple[Fingerprint, ...]]
    """Each function or method (by qualname) → its definitions, in source order."""
    bodies: tuple[Fingerprint, ...]
    """Every definition in source order: with equal skeletons, equal bodies mean equal trees."""


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
    """The shape of a parsed module. ``tree`` is left as it was.

    Each part of the tree is fingerprinted once (the definitions, then the rest): reloading
    many modules at once spends much of its time here.
    """
    nodes = list(_definitions(tree.body, ""))
    definitions: dict[str, list[Fingerprint]] = {}
    bodies = []
    for qualname, node in nodes:
        fingerprint = _fingerprint(node)
        definitions.setdefault(qualname, []).append(fingerprint)
        bodies.append(fingerprint)
    saved = [node.body for _, node in nodes]
    try:
        for _, node in nodes:
            node.body = []
        skeleton = _fingerprint(tree)
    finally:
        for (_, node), body in zip(nodes, saved, strict=True):
            node.body = body
    return ModuleShape(skeleton, {k: tuple(v) for k, v in definitions.items()}, tuple(bodies))


def _fingerprint(node: ast.AST) -> Fingerprint:
    """What ``ast.dump(node)`` says, as tuples (a third of its cost: no text is formatted).

    Constants other than strings keep their type and repr, as the dump does: ``1``, ``1.0``
    and ``True`` compare equal as values but are different code.
    """
    fields: list[Any] = [type(node).__name__]
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            fields.append(_fingerprint(value))
        elif isinstance(value, list):
            fields.append(
                tuple(_fingerprint(item) if isinstance(item, ast.AST) else item for item in value)
            )
        elif value is None or isinstance(value, str):
            fields.append(value)
        else:
            fields.append((type(value).__name__, repr(value)))
    return tuple(fields)


def classify_edit(old: ModuleShape, new: ModuleShape) -> tuple[EditKind, list[str]]:
    """The kind of edit from ``old`` to ``new`` and the qualnames of changed functions."""
    changed = [
        qualname
        for qualname, dumps in new.definitions.items()
        if old.definitions.get(qualname) != dumps
    ]
    if old.skeleton != new.skeleton:
        return EditKind.TOP_LEVEL, changed
    # Same skeleton: the same definitions at the same places, so only bodies can differ.
    if old.bodies == new.bodies:
        return EditKind.COSMETIC, []
    return EditKind.BODIES, changed
