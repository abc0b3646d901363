"""Splicing a shape: parsing only the top-level statements an edit touched must give exactly
the shape a parse of the whole new version gives (``diff.splice_shape``), or decline."""

from __future__ import annotations

import ast
import dataclasses
import fractions
import random
import shlex
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from reload_kernel.engine.detect import read_snapshot
from reload_kernel.engine.diff import ModuleShape, classify_edit, shape_of, splice_shape
from reload_kernel.engine.load import compile_snapshot, compile_spliced

BASE = textwrap.dedent(
    '''\
    """A module."""

    import math

    LIMIT = 3; OTHER = (1,
                        2)


    @decorated(
        1)
    def area(r, *, scale=1):
        """Area of a circle."""
        return math.pi * r * r * scale

    # a comment between statements

    class Shape:
        sides = 0

        def describe(self):
            return f"{self.sides} sides"

    TOTAL = LIMIT \\
        + 1
    if LIMIT:
        def maybe():
            return 1
    '''
)


def full_shape(source: str) -> ModuleShape:
    return shape_of(ast.parse(source), source)


def spliced(old: str, new: str) -> ModuleShape | None:
    return splice_shape(full_shape(old), new, ast.parse)


def assert_same_shape(spliced_shape: ModuleShape, source: str) -> None:
    expected = full_shape(source)
    assert spliced_shape == expected  # skeleton, definitions, bodies
    # What the next edit builds on must be the same too.
    assert spliced_shape.parts == expected.parts
    assert spliced_shape.by_text == expected.by_text
    assert spliced_shape.source == source


EDITS = [
    ("value", "LIMIT = 3;", "LIMIT = 4;"),
    ("second-on-a-line", "OTHER = (1,", "OTHER = (7,"),
    ("inside-a-bracket", "                    2)", "                    3)"),
    ("function-body", "math.pi * r", "3.14 * r"),
    ("docstring", "Area of a circle.", "Area."),
    ("decorator-argument", "    1)\ndef area", "    2)\ndef area"),
    ("comment-edited", "# a comment between", "# another comment between"),
    ("comment-added", "class Shape:", "# new\nclass Shape:"),
    ("blank-lines-removed", "\n\n@decorated", "\n@decorated"),
    ("statement-inserted", "class Shape:", "NEW = 1\n\nclass Shape:"),
    ("method-added", "    def describe", "    def more(self):\n        pass\n\n    def describe"),
    ("continued-line", "    + 1\n", "    + 2\n"),
    ("nested-definition", "return 1\n", "return 2\n"),
    ("module-docstring", '"""A module."""', '"""The module."""'),
    ("appended", "return 1\n", "return 1\nEND = 0\n"),
    ("first-line", '"""A module."""\n', ""),
    ("whole-statement-removed", "import math\n", ""),
]


@pytest.mark.parametrize(("old", "new"), [edit[1:] for edit in EDITS], ids=[e[0] for e in EDITS])
def test_a_spliced_shape_is_the_shape_of_the_whole_new_version(old: str, new: str) -> None:
    assert BASE.count(old) == 1
    edited = BASE.replace(old, new)

    shape = spliced(BASE, edited)

    assert shape is not None
    assert_same_shape(shape, edited)


@pytest.mark.parametrize(
    "edited",
    [
        pytest.param(
            BASE.replace("import math", "from __future__ import annotations"), id="future"
        ),
        pytest.param(BASE.replace("LIMIT = 3;", "LIMIT = (3;"), id="does-not-parse"),
        pytest.param(BASE.replace("TOTAL = LIMIT \\", "TOTAL = LIMIT"), id="unindented-rest"),
        pytest.param(BASE.replace("# a comment between statements", "X = 1 \\"), id="backslash"),
        pytest.param(BASE.replace("class Shape:", "class Shape:\n  '''"), id="open-string"),
    ],
)
def test_an_edit_that_cannot_be_spliced_safely_is_declined(edited: str) -> None:
    assert spliced(BASE, edited) is None


def test_a_statement_after_a_line_ending_in_a_backslash_is_not_spliced() -> None:
    # "X = 1 \" joins the blank line after it: the edited statement is spliced only where
    # the line before it ends a statement on its own (here that is harmless, but declined).
    old = "X = 1 \\\n\nY = 2\n"
    assert spliced(old, old.replace("Y = 2", "Y = 3")) is None


def test_a_backslash_inside_brackets_before_the_edit_does_not_matter() -> None:
    old = "A = 1\nB = [\\\n]\nC = 2\n"
    new = old.replace("C = 2", "C = 3")
    shape = spliced(old, new)
    assert shape is not None
    assert_same_shape(shape, new)


def test_edits_in_a_row_build_on_each_spliced_shape() -> None:
    shape = full_shape(BASE)
    source = BASE
    for version in range(5):
        source = source.replace(f"LIMIT = {3 + version};", f"LIMIT = {4 + version};")
        next_shape = splice_shape(shape, source, ast.parse)
        assert next_shape is not None
        assert_same_shape(next_shape, source)
        assert classify_edit(shape, next_shape)[0].name == "TOP_LEVEL"
        shape = next_shape


# --- random edits of real modules ------------------------------------------------------------

LINE_EDITS: list[Callable[[list[str], random.Random], None]] = [
    lambda lines, rng: lines.__setitem__(i := rng.randrange(len(lines)), _digit_changed(lines[i])),
    lambda lines, rng: lines.pop(rng.randrange(len(lines))),
    lambda lines, rng: lines.insert(rng.randrange(len(lines)), lines[rng.randrange(len(lines))]),
    lambda lines, rng: lines.insert(rng.randrange(len(lines)), " " * rng.choice([0, 4]) + "# x"),
    lambda lines, rng: lines.insert(rng.randrange(len(lines)), ""),
    lambda lines, rng: lines.insert(rng.randrange(len(lines)), "NEW_NAME = 1"),
    lambda lines, rng: lines.__setitem__(i := rng.randrange(len(lines)), lines[i] + " \\"),
    lambda lines, rng: lines.__setitem__(i := rng.randrange(len(lines)), lines[i] + "; y = 2"),
    lambda lines, rng: lines.__setitem__(i := rng.randrange(len(lines)), lines[i] + ' """'),
]


def _digit_changed(line: str) -> str:
    for index, character in enumerate(line):
        if character.isdigit():
            return line[:index] + str((int(character) + 1) % 10) + line[index + 1 :]
    return line + "  # edited"


MODULES = [textwrap, shlex, fractions, dataclasses]


@pytest.mark.parametrize("module", MODULES, ids=[module.__name__ for module in MODULES])
def test_random_edits_of_real_modules_splice_exactly_or_decline(module: object) -> None:
    source = Path(getattr(module, "__file__", "")).read_text(encoding="utf-8")
    previous = full_shape(source)
    rng = random.Random(f"splice {module}")
    spliced_count = 0
    for _ in range(80):
        lines = source.split("\n")
        for _ in range(rng.choice([1, 1, 1, 2])):
            rng.choice(LINE_EDITS)(lines, rng)
        edited = "\n".join(lines)
        shape = splice_shape(previous, edited, ast.parse)
        try:
            ast.parse(edited)
        except SyntaxError:
            assert shape is None, "a version that does not parse was spliced"
            continue
        if shape is not None:
            assert_same_shape(shape, edited)
            spliced_count += 1
    # Most edits that still parse change one statement: they must be spliced, not declined.
    assert spliced_count >= 25


def test_compile_spliced_compiles_the_bytes_as_an_import_does(tmp_path: Path) -> None:
    path = tmp_path / "mod.py"
    path.write_text(BASE, encoding="utf-8")
    previous = full_shape(BASE)
    edited = BASE.replace("LIMIT = 3;", "LIMIT = 4;")
    path.write_text(edited, encoding="utf-8")
    snapshot = read_snapshot(str(path))

    result = compile_spliced("mod", snapshot, previous, ast.parse)

    assert result is not None
    compiled, shape = result
    whole = compile_snapshot("mod", snapshot)
    assert compiled.code == whole.code
    assert compiled.code.co_filename == str(path)
    assert compiled.text == whole.text
    assert shape == full_shape(edited)
