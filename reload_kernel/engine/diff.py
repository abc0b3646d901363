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
import bisect
import enum
import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef

#: What decoding, parsing or compiling a source raises when it cannot be read as Python
#: (RecursionError, MemoryError: the parser's answer to code nested too deeply).
PARSE_ERRORS = (SyntaxError, UnicodeDecodeError, ValueError, RecursionError, MemoryError)


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


class Part(NamedTuple):
    """One top-level statement of a module, as its shape saw it."""

    first_line: int
    """Where its text starts (its first decorator's line), counting from 1."""
    last_line: int
    statement: Fingerprint
    """The statement with the bodies of its functions and methods left out."""
    definitions: tuple[tuple[str, Fingerprint], ...]
    """The functions and methods it defines (qualname, fingerprint), in source order."""
    by_text: tuple[tuple[TextKey, Fingerprint], ...]
    """Its entries of ``ModuleShape.by_text``."""

    def moved(self, lines: int) -> Part:
        return self._replace(first_line=self.first_line + lines, last_line=self.last_line + lines)


@dataclass(frozen=True)
class ModuleShape:
    """A module's parsed source reduced to what decides the kind of an edit."""

    skeleton: Fingerprint
    """The module with the bodies of its functions and methods left out."""
    definitions: dict[str, tuple[Fingerprint, ...]]
    """Each function or method (by qualname) → its definitions, in source order."""
    bodies: tuple[Fingerprint, ...]
    """Every definition in source order: with equal skeletons, equal bodies mean equal trees."""
    source: str | None = field(default=None, compare=False)
    """The text it was made from, when given (see ``splice_shape``)."""
    parts: tuple[Part, ...] = field(default=(), compare=False)
    """Its top-level statements, in source order."""

    @functools.cached_property
    def by_text(self) -> dict[TextKey, Fingerprint]:
        """Fingerprints of the definitions and top-level statements by their text, for the
        next version to reuse (see ``shape_of``); empty when made without the source."""
        return {key: fingerprint for part in self.parts for key, fingerprint in part.by_text}


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
    lines = source.split("\n") if source is not None else None
    known = previous.by_text if previous is not None else {}
    parts = tuple(_part_of(statement, lines, known) for statement in tree.body)
    ignores = tuple(_fingerprint(ignore) for ignore in tree.type_ignores)
    return _assembled(parts, ignores, source)


def _part_of(
    statement: ast.stmt, lines: list[str] | None, known: dict[TextKey, Fingerprint]
) -> Part:
    """One top-level statement's part of the shape (its fingerprints reused from ``known``
    when its text, or a definition's, is there)."""
    by_text: list[tuple[TextKey, Fingerprint]] = []

    def fingerprint_of(kind: str, node: ast.stmt) -> Fingerprint:
        key = _text_key(kind, node, lines) if lines is not None else None
        fingerprint = known.get(key) if key is not None else None
        if fingerprint is None:
            fingerprint = _fingerprint(node)
        if key is not None:
            by_text.append((key, fingerprint))
        return fingerprint

    nodes = list(_definitions([statement], ""))
    definitions = tuple((qualname, fingerprint_of("definition", node)) for qualname, node in nodes)
    saved = [node.body for _, node in nodes]
    try:
        for _, node in nodes:
            node.body = []
        skeleton = fingerprint_of("statement", statement)
    finally:
        for (_, node), body in zip(nodes, saved, strict=True):
            node.body = body
    first_line = min([statement.lineno] + [d.lineno for d in _decorators(statement)])
    last_line = statement.end_lineno or statement.lineno
    return Part(first_line, last_line, skeleton, definitions, tuple(by_text))


def _assembled(
    parts: tuple[Part, ...],
    ignores: tuple[Fingerprint, ...],
    source: str | None,
    same_definitions_as: ModuleShape | None = None,
) -> ModuleShape:
    """The shape made of ``parts``; its definitions are taken from ``same_definitions_as``
    when given (they are known to be the same)."""
    if same_definitions_as is not None:
        definitions = same_definitions_as.definitions
        bodies = same_definitions_as.bodies
    else:
        found: dict[str, list[Fingerprint]] = {}
        every: list[Fingerprint] = []
        for part in parts:
            for qualname, fingerprint in part.definitions:
                found.setdefault(qualname, []).append(fingerprint)
                every.append(fingerprint)
        definitions = {qualname: tuple(them) for qualname, them in found.items()}
        bodies = tuple(every)
    skeleton = ("Module", tuple(part.statement for part in parts), ignores)
    return ModuleShape(skeleton, definitions, bodies, source, parts)


def splice_shape(
    previous: ModuleShape, source: str, parse: Callable[[str], ast.Module]
) -> ModuleShape | None:
    """The shape of ``source``, a new version of ``previous``'s text, parsing only the
    top-level statements whose lines changed; None when that cannot be told apart safely
    (then parse the whole source).

    ``parse`` parses a piece of the source (raising whatever it raises: then None). Parsing
    a module into Python objects costs as much as compiling it; an edit usually changes one
    statement of many. The text outside the re-parsed lines is the same, and starts and ends
    at statement boundaries at column 0, so it means what it meant before: a top-level
    statement's syntax tree depends only on its own text (``from __future__`` imports, which
    may change how the rest parses, are not spliced).
    """
    if previous.source is None:
        return None
    old_lines = previous.source.split("\n")
    new_lines = source.split("\n")
    old_parts = previous.parts
    # In source order, where each part starts and ends: both never decrease.
    firsts = [part.first_line for part in old_parts]
    lasts = [part.last_line for part in old_parts]
    span = _changed_span(firsts, lasts, old_lines, new_lines)
    if span is None:
        return None
    first, last, shift = span  # the old lines [first, last]; later lines moved by ``shift``
    piece_lines = new_lines[first - 1 : last + shift]
    piece = "\n".join(piece_lines)
    if piece_lines and piece_lines[-1].endswith("\\"):
        return None  # (it would join the line after)
    if "__future__" in piece or any("__future__" in line for line in old_lines[first - 1 : last]):
        return None
    try:
        tree = parse(piece)
    except (*PARSE_ERRORS, Warning):
        return None
    # The parts in order: those before the old lines, those in them, those after.
    start, end = bisect.bisect_left(lasts, first), bisect.bisect_right(firsts, last)
    before, replaced, after = old_parts[:start], old_parts[start:end], old_parts[end:]
    if shift:
        after = tuple(part.moved(shift) for part in after)
    known = {key: fingerprint for part in replaced for key, fingerprint in part.by_text}
    spliced = tuple(
        _part_of(statement, piece_lines, known).moved(first - 1) for statement in tree.body
    )
    # Most edits change a statement defining no function: the definitions stay as they were.
    defines = any(part.definitions for part in (*replaced, *spliced))
    parts = (*before, *spliced, *after)
    return _assembled(parts, previous.skeleton[2], source, None if defines else previous)


def _changed_span(
    firsts: list[int], lasts: list[int], old_lines: list[str], new_lines: list[str]
) -> tuple[int, int, int] | None:
    """The old lines to parse again, ``(first, last, shift)``: they start after a statement
    and end before the next (comment and blank lines around them included), hold every
    changed line and every statement sharing a line with one; the new version has the same
    lines before them, and after them the same lines moved by ``shift``. None when that
    boundary is not clean (a backslash joins the line before to them).

    ``firsts`` and ``lasts``: where the old version's statements start and end."""
    prefix, suffix = common_ends(old_lines, new_lines)
    # The changed old lines, counting from 1: [low, high], empty (high = low - 1) when lines
    # were only inserted. Grown over every statement they touch, or that an insertion splits:
    # those from the first ending at or after ``low`` to the last starting at or before
    # ``high`` (statements sharing a line may touch again once grown).
    low, high = prefix + 1, len(old_lines) - suffix
    while True:
        touched_from, touched_to = bisect.bisect_left(lasts, low), bisect.bisect_right(firsts, high)
        if touched_from >= touched_to:
            break
        grown = min(low, firsts[touched_from]), max(high, lasts[touched_to - 1])
        if grown == (low, high):
            break
        low, high = grown
    first = lasts[touched_from - 1] + 1 if touched_from else 1
    last = firsts[touched_to] if touched_to < len(firsts) else len(old_lines) + 1
    if first > 1 and old_lines[first - 2].endswith("\\"):
        return None
    return first, last - 1, len(new_lines) - len(old_lines)


def common_ends(one: Sequence[Any], other: Sequence[Any]) -> tuple[int, int]:
    """How many items the two sequences start with alike, and how many of the rest they end
    with alike (the two never overlap)."""
    prefix = common_prefix_length(one, other)
    return prefix, common_prefix_length(one[prefix:][::-1], other[prefix:][::-1])


def common_prefix_length(one: Sequence[Any], other: Sequence[Any]) -> int:
    """How many items the two sequences (bytes, lists of lines) start with alike.

    By bisection on slices: a few comparisons at C speed rather than a loop over the items
    (a Python loop over a 2,000-line module's lines costs a few hundred µs)."""
    shortest, longest = 0, min(len(one), len(other))
    while shortest < longest:
        middle = (shortest + longest + 1) // 2
        if one[:middle] == other[:middle]:
            shortest = middle
        else:
            longest = middle - 1
    return shortest


def _text_key(kind: str, node: ast.stmt, lines: list[str]) -> TextKey | None:
    """The text ``node`` was parsed from, as a key (None when its position is unknown)."""
    first_line, first_column = min(
        [(node.lineno, node.col_offset)] + [(d.lineno, d.col_offset) for d in _decorators(node)]
    )
    if node.end_lineno is None or node.end_col_offset is None:
        return None
    spanned = "\n".join(lines[first_line - 1 : node.end_lineno])
    return kind, spanned, first_column, node.end_col_offset


def _decorators(node: ast.stmt) -> list[ast.expr]:
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    return decorators


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
