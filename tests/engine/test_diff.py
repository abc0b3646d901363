"""Classifying an edit: cosmetic, function bodies only, or top level (the module runs again)."""

from __future__ import annotations

import ast
import random
import textwrap
from collections.abc import Sequence

import pytest

from reload_kernel.engine import diff
from reload_kernel.engine.diff import EditKind, classify_edit, shape_of

BASE = """\
import os

LIMIT = 3

def area(r, *, scale=1):
    '''Area of a circle.'''
    return 3.14 * r * r * scale

class Shape:
    sides = 0

    def describe(self):
        return f"{self.sides} sides"

    @property
    def name(self):
        return "shape"
"""

EDITS = [
    # (id, the edited source, kind, changed qualnames)
    ("comment-added", BASE.replace("LIMIT = 3", "# the limit\nLIMIT = 3  # three"), "COSMETIC", []),
    ("blank-lines-added", BASE.replace("class Shape:", "\n\n\nclass Shape:"), "COSMETIC", []),
    (
        "reformatted",
        BASE.replace("3.14 * r * r * scale", "(3.14 * r\n            * r * scale)"),
        "COSMETIC",
        [],
    ),
    ("function-body", BASE.replace("3.14 * r", "3.14159 * r"), "BODIES", ["area"]),
    ("docstring", BASE.replace("Area of a circle.", "Area."), "BODIES", ["area"]),
    ("method-body", BASE.replace('f"{self.sides} sides"', '"many"'), "BODIES", ["Shape.describe"]),
    ("property-body", BASE.replace('"shape"', '"Shape"'), "BODIES", ["Shape.name"]),
    ("constant", BASE.replace("LIMIT = 3", "LIMIT = 4"), "TOP_LEVEL", []),
    ("import-added", "import sys\n" + BASE, "TOP_LEVEL", []),
    ("default-changed", BASE.replace("scale=1", "scale=2"), "TOP_LEVEL", ["area"]),
    ("parameter-added", BASE.replace("(r, *,", "(r, h=1, *,"), "TOP_LEVEL", ["area"]),
    (
        "decorator-added",
        BASE.replace("    def describe", "    @staticmethod\n    def describe"),
        "TOP_LEVEL",
        ["Shape.describe"],
    ),
    ("class-attribute", BASE.replace("sides = 0", "sides = 4"), "TOP_LEVEL", []),
    ("function-added", BASE + "\ndef more():\n    return 1\n", "TOP_LEVEL", ["more"]),
    (
        "function-removed",
        BASE.split("class Shape")[0].replace("def area", "def other"),
        "TOP_LEVEL",
        ["other"],
    ),
    ("base-class-added", BASE.replace("class Shape:", "class Shape(object):"), "TOP_LEVEL", []),
]


def shapes(new_source: str) -> tuple[EditKind, list[str]]:
    return classify_edit(shape_of(ast.parse(BASE)), shape_of(ast.parse(new_source)))


@pytest.mark.parametrize(
    ("new_source", "kind", "changed"),
    [edit[1:] for edit in EDITS],
    ids=[edit[0] for edit in EDITS],
)
def test_edit_kind_and_changed_functions(new_source: str, kind: str, changed: list[str]) -> None:
    assert shapes(new_source) == (EditKind[kind], changed)


def test_identical_source_is_cosmetic() -> None:
    assert shapes(BASE) == (EditKind.COSMETIC, [])


def test_nested_function_body_counts_as_its_enclosing_function() -> None:
    old = "def make():\n    def inner():\n        return 1\n    return inner\n"
    new = old.replace("return 1", "return 2")

    kind, changed = classify_edit(shape_of(ast.parse(old)), shape_of(ast.parse(new)))

    assert (kind, changed) == (EditKind.BODIES, ["make"])


def test_definitions_inside_if_and_try_blocks_are_functions_too() -> None:
    old = textwrap.dedent(
        """\
        try:
            import fast
        except ImportError:
            def speed():
                return 'slow'
        if True:
            def other():
                return 1
        """
    )
    new = old.replace("'slow'", "'slower'").replace("return 1", "return 2")

    kind, changed = classify_edit(shape_of(ast.parse(old)), shape_of(ast.parse(new)))

    assert (kind, sorted(changed)) == (EditKind.BODIES, ["other", "speed"])


def test_shape_of_leaves_the_tree_unchanged() -> None:
    tree = ast.parse(BASE)
    before = ast.dump(tree)

    shape_of(tree)

    assert ast.dump(tree) == before


def test_common_prefix_length_counts_the_items_both_start_with() -> None:
    def counted(one: Sequence[object], other: Sequence[object]) -> int:
        length = 0
        while length < min(len(one), len(other)) and one[length] == other[length]:
            length += 1
        return length

    generator = random.Random(7)
    for _ in range(500):
        one = [generator.choice("ab") for _ in range(generator.randrange(12))]
        other = one[: generator.randrange(len(one) + 1)] + [
            generator.choice("abc") for _ in range(generator.randrange(6))
        ]
        assert diff.common_prefix_length(one, other) == counted(one, other)
        assert diff.common_prefix_length(bytes(map(ord, one)), bytes(map(ord, other))) == counted(
            one, other
        )
