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
from dataclasses import dataclass, field
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


TextKey = tuple[str, str, int, int]
"""What a part of a module was parsed from: what the part is (``"definition"``: a function with
its body, ``"statement"``: a top-level statement with function bodies left out), the whole
lines it spans (from its first decorator), and the offsets of its first and last character in
them. A syntax tree depends only on the text it was parsed from, never on where that text sits:
the same key always stands for the same fingerprint."""


@dataclass(frozen=True)
class ModuleShape:
    """A module's parsed source reduced to what decides the kind of an edit."""

    skeleton: Fingerprint
    """The module with the bodies of its functions and methods left out."""
    definitions: dict[str, tuple[Fingerprint, ...]]
    """Each function or method (by qualname) → its definitions, in source order."""
    bodies: tuple[Fingerprint, ...]
    """Every definition in source order: with equal skeletons, equal bodies mean equal trees."""
    by_text: dict[TextKey, Fingerprint] = field(default_factory=dict, compare=False)
    """Fingerprints of the definitions and top-level statements by their text, for the next
    version to reuse (see ``shape_of``); empty when the shape was made without the source."""


def _definitions(body: list[ast.stmt], prefix: str) -> Iterator[tuple[str, FunctionNode]]:
    """Functions whose code objects live at module or class level, with their qualnames."""
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield prefix + statement.name, statement
        elif isinstance(statement, ast.ClassDef):
            yield from _definitions(statement.body, f"{prefix}{statement.name}.")
        else:
            for field_name in ("body", "orelse", "finalbody"):
                nested = getattr(statement, field_name, None)
                if isinstance(nested, list):
                    yield from _definitions(nested, prefix)
            for handler in getattr(statement, "handlers", ()):
                yield from _definitions(handler.body, prefix)


def shape_of(
    tree: ast.Module, source: str | None = None, previous: ModuleShape | None = None
) -> ModuleShape:
    """The shape of a parsed module. ``tree`` is left as it was.

    ``source`` is the text ``tree`` was parsed from (decoded, so lines end in ``\\n`` only).
    With it, a definition or top-level statement whose text is unchanged since ``previous``
    reuses its fingerprint instead of being walked again: fingerprinting was most of the cost
    of reloading a module, and an edit usually touches one or two of its parts.
    """
    nodes = list(_definitions(tree.body, ""))
    lines = source.split("\n") if source is not None else None
    known = previous.by_text if previous is not None else {}
    by_text: dict[TextKey, Fingerprint] = {}

    def fingerprint_of(kind: str, node: ast.stmt) -> Fingerprint:
        key = _text_key(kind, node, lines) if lines is not None else None
        fingerprint = known.get(key) if key is not None else None
        if fingerprint is None:
            fingerprint = _fingerprint(node)
        if key is not None:
            by_text[key] = fingerprint
        return fingerprint

    definitions: dict[str, list[Fingerprint]] = {}
    bodies = []
    for qualname, node in nodes:
        fingerprint = fingerprint_of("definition", node)
        definitions.setdefault(qualname, []).append(fingerprint)
        bodies.append(fingerprint)
    saved = [node.body for _, node in nodes]
    try:
        for _, node in nodes:
            node.body = []
        statements = tuple(fingerprint_of("statement", statement) for statement in tree.body)
        ignores = tuple(_fingerprint(ignore) for ignore in tree.type_ignores)
        skeleton = ("Module", statements, ignores)
    finally:
        for (_, node), body in zip(nodes, saved, strict=True):
            node.body = body
    return ModuleShape(
        skeleton, {k: tuple(v) for k, v in definitions.items()}, tuple(bodies), by_text
    )


def _text_key(kind: str, node: ast.stmt, lines: list[str]) -> TextKey | None:
    """The text ``node`` was parsed from, as a key (None when its position is unknown)."""
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    first_line, first_column = min(
        [(node.lineno, node.col_offset)] + [(d.lineno, d.col_offset) for d in decorators]
    )
    if node.end_lineno is None or node.end_col_offset is None:
        return None
    spanned = "\n".join(lines[first_line - 1 : node.end_lineno])
    return kind, spanned, first_column, node.end_col_offset


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
