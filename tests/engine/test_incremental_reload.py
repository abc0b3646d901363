"""The reload step reads only what an edit can concern, and finds what a full re-read would find.

Import edges are parsed only for modules whose source may import an edited module (see
``reloader._ImporterIndex``), each version once; fingerprints of definitions and statements
whose text did not change are reused (see ``diff.shape_of``). These tests pin both halves: the
work avoided, and the answers unchanged.
"""

from __future__ import annotations

import ast
import gc
import sys
import textwrap
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reload_kernel.engine import reloader as reloader_module
from reload_kernel.engine.ahead import AHEAD_LIMIT
from reload_kernel.engine.diff import classify_edit, shape_of
from reload_kernel.engine.graph import ImportEdge

from .conftest import Workspace

BASE = '''\
import math

LIMIT = 1


def area(r):
    """Area."""
    return math.pi * r * r


class Shape:
    sides = 0

    @staticmethod
    def describe(): return "shape"

    def grow(self, k=2):
        return k
'''


@pytest.mark.parametrize(
    "new",
    [
        pytest.param(BASE, id="unchanged"),
        pytest.param(BASE.replace("LIMIT = 1", "LIMIT = 2"), id="top-level-value"),
        pytest.param(BASE.replace("r * r", "r ** 2"), id="function-body"),
        pytest.param(BASE.replace('"""Area."""', '"""Area of a disc."""'), id="docstring"),
        pytest.param(BASE.replace("\n\n\ndef area", "\n# a comment\n\ndef area"), id="comment"),
        pytest.param(BASE.replace("k=2", "k=3"), id="default-value"),
        pytest.param(BASE.replace("sides = 0", "sides = 1"), id="class-attribute"),
        pytest.param(BASE.replace("@staticmethod\n    ", ""), id="decorator-removed"),
        pytest.param(BASE.replace("class Shape:", "class Form:"), id="class-renamed"),
        pytest.param(BASE.replace("LIMIT = 1", "LIMIT = 1; OTHER = 2"), id="two-on-a-line"),
        pytest.param(
            BASE.replace("    def grow", "    def area(r):\n        return 0\n\n    def grow"),
            id="same-name-in-a-class",
        ),
        pytest.param(
            BASE + "\n\nclass Copy:\n    def grow(self, k=2):\n        return k\n",
            id="identical-method-in-another-class",
        ),
        pytest.param(BASE.replace("    return math.pi", "    return 3.14"), id="body-line"),
    ],
)
def test_reused_fingerprints_classify_like_fresh_ones(new: str) -> None:
    old_shape = shape_of(ast.parse(BASE), BASE)
    reused = classify_edit(old_shape, shape_of(ast.parse(new), new, previous=old_shape))
    fresh = classify_edit(shape_of(ast.parse(BASE)), shape_of(ast.parse(new)))
    assert reused == fresh


def test_shape_with_source_equals_shape_without() -> None:
    with_source = shape_of(ast.parse(BASE), BASE)
    without = shape_of(ast.parse(BASE))
    assert (with_source.skeleton, with_source.definitions, with_source.bodies) == (
        without.skeleton,
        without.definitions,
        without.bodies,
    )


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The modules whose import edges the reloader walks, in order."""
    walked: list[str] = []
    original = reloader_module.import_edges

    def counting(tree: ast.Module, importer: str, package: str) -> list[ImportEdge]:
        walked.append(importer)
        return original(tree, importer, package)

    monkeypatch.setattr(reloader_module, "import_edges", counting)
    yield walked


def write_unrelated(workspace: Workspace, count: int) -> None:
    for index in range(count):
        workspace.write(f"other_{index}.py", f"VALUE = {index}\n")
        workspace.import_(f"other_{index}")


def test_an_edit_parses_only_modules_that_may_import_it(
    workspace: Workspace, parsed: list[str]
) -> None:
    base, user = workspace.import_base_and_user()
    write_unrelated(workspace, 30)
    workspace.reload()

    workspace.write("base.py", "LIMIT = 2\n")
    report = workspace.reload()

    assert [entry.module for entry in report.reloaded] == [base, user]
    assert sys.modules[user].SEEN == 2
    assert sorted(set(parsed)) == [user]


def test_an_edit_parses_each_version_once(workspace: Workspace, parsed: list[str]) -> None:
    _, user = workspace.import_base_and_user()
    workspace.write("base.py", "LIMIT = 2\n")
    workspace.reload()
    parsed.clear()

    workspace.write("base.py", "LIMIT = 3\n")
    workspace.reload()

    assert sys.modules[user].SEEN == 3
    # user's version re-run last step was read then; its running version is still that one.
    assert parsed == []


def test_a_module_imported_after_an_edit_is_found_as_a_dependent(workspace: Workspace) -> None:
    base, late = workspace.name("base"), workspace.name("late")
    workspace.write("base.py", "LIMIT = 1\n")
    workspace.import_("base")
    workspace.write("base.py", "LIMIT = 2\n")
    workspace.reload()  # base's importers are looked up (none) before late exists
    workspace.write("late.py", f"from {base} import LIMIT\nSEEN = LIMIT\n")
    workspace.import_("late")
    workspace.reload()

    workspace.write("base.py", "LIMIT = 3\n")
    report = workspace.reload()

    assert [entry.module for entry in report.reloaded] == [base, late]
    assert sys.modules[late].SEEN == 3


def test_a_dependent_edited_to_stop_importing_is_no_longer_rerun(workspace: Workspace) -> None:
    base, user = workspace.import_base_and_user()
    workspace.write("base.py", "LIMIT = 2\n")
    workspace.reload()
    workspace.write("user.py", "SEEN = 0\n")
    workspace.reload()

    workspace.write("base.py", "LIMIT = 3\n")
    report = workspace.reload()

    assert [entry.module for entry in report.reloaded] == [base]
    assert sys.modules[user].SEEN == 0


def test_a_module_edited_to_import_an_edited_module_becomes_its_dependent(
    workspace: Workspace,
) -> None:
    """Its importers were found before it imported it (a module's new version is sorted
    among the importers only when they are next asked for)."""
    base, user = workspace.name("base"), workspace.name("user")
    workspace.write("base.py", "LIMIT = 1\n")
    workspace.write("user.py", "SEEN = 0\n")
    workspace.import_("base")
    workspace.import_("user")
    workspace.reload()
    workspace.write("base.py", "LIMIT = 2\n")
    workspace.reload()  # base's importers are looked for: none
    workspace.write("user.py", f"from {base} import LIMIT\nSEEN = LIMIT\n")
    workspace.reload()

    workspace.write("base.py", "LIMIT = 3\n")
    report = workspace.reload()

    assert [entry.module for entry in report.reloaded] == [base, user]
    assert sys.modules[user].SEEN == 3


@pytest.mark.parametrize(
    "importer_source",
    [
        pytest.param("from . import LIMIT\nSEEN = LIMIT\n", id="from-dot-import"),
        pytest.param("from . import *\nSEEN = LIMIT\n", id="from-dot-import-star"),
    ],
)
def test_a_relative_import_of_the_package_itself_makes_a_dependent(
    workspace: Workspace, importer_source: str
) -> None:
    """The importer's source never spells the package's name: found by being inside it."""
    pkg = workspace.name("pkg")
    workspace.write("pkg/__init__.py", "LIMIT = 1\n")
    workspace.write("pkg/sub/__init__.py", "")
    workspace.write("pkg/sub/inner.py", textwrap.dedent(importer_source).replace(". ", ".. "))
    workspace.write("pkg/near.py", importer_source)
    workspace.import_("pkg.near")
    workspace.import_("pkg.sub.inner")

    workspace.write("pkg/__init__.py", "LIMIT = 2\n")
    report = workspace.reload()

    assert report.failed == []
    assert sys.modules[f"{pkg}.near"].SEEN == 2
    assert sys.modules[f"{pkg}.sub.inner"].SEEN == 2


def test_a_source_that_is_not_ascii_is_always_looked_at(workspace: Workspace) -> None:
    """Identifiers are NFKC-normalised: ``ｂase`` (a full-width b) names ``base``."""
    base, user = workspace.name("base"), workspace.name("user")
    workspace.write("base.py", "LIMIT = 1\n")
    full_width = base.replace("base", "\uff42ase")
    workspace.write("user.py", f"from {full_width} import LIMIT\nSEEN = LIMIT\n")
    workspace.import_("user")

    workspace.write("base.py", "LIMIT = 2\n")
    workspace.reload()

    assert sys.modules[user].SEEN == 2


@pytest.mark.parametrize(
    ("new_source", "limit", "module_code_runs"),
    [
        pytest.param("LIMIT = 2\n", 2, True, id="loads"),
        pytest.param("LIMIT = (\n", 1, False, id="does-not-compile"),
        pytest.param("raise ValueError('no')\n", 1, True, id="raises-when-run"),
    ],
)
def test_the_cyclic_collector_runs_module_code_and_after_the_step(
    workspace: Workspace, new_source: str, limit: int, module_code_runs: bool
) -> None:
    base = workspace.name("base")
    workspace.write("base.py", "LIMIT = 1\n")
    workspace.import_("base")
    workspace.write("base.py", new_source)

    collector_during_module_code: list[bool] = []
    original = reloader_module.rerun

    def spying_rerun(*args: Any, **kwargs: Any) -> Any:
        collector_during_module_code.append(gc.isenabled())
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reloader_module, "rerun", spying_rerun)
        workspace.reload()

    assert gc.isenabled()
    assert collector_during_module_code == ([True] if module_code_runs else [])
    running_limit = sys.modules[base].LIMIT
    assert running_limit == limit


def test_what_a_step_replaced_is_freed_when_its_caller_is_idle_or_by_the_next_step(
    workspace: Workspace,
) -> None:
    """The step keeps a record of the versions it replaces (to put them back if the user
    interrupts it). Freeing it is left to ``let_go_of_replaced``, which the kernel calls once
    the cell's reply is sent; else the next step frees it first."""
    boxes = workspace.name("boxes")
    workspace.write("boxes.py", "class Box:\n    pass\n")
    user_source = f"import {boxes}\nBOX = {boxes}.Box()\nVERSION = {{version}}\n"
    workspace.write("user.py", user_source.format(version=1))
    user = workspace.import_("user")
    workspace.reload()

    first_box = weakref.ref(user.BOX)
    workspace.write("user.py", user_source.format(version=2))
    workspace.reload()
    assert user.VERSION == 2
    assert first_box() is not None and workspace.reloader.holds_replaced
    workspace.reloader.let_go_of_replaced()
    assert first_box() is None and not workspace.reloader.holds_replaced

    second_box = weakref.ref(user.BOX)
    workspace.write("user.py", user_source.format(version=3))
    workspace.reload()
    assert second_box() is not None
    workspace.write("user.py", user_source.format(version=4))
    workspace.reload()  # (it keeps the third box, replaced now)
    assert second_box() is None and user.VERSION == 4


def test_up_to_date_is_false_whenever_a_reload_has_something_to_look_at(
    workspace: Workspace,
) -> None:
    """What the kernel asks before every cell instead of reloading: true only when nothing
    was imported, saved or left to look at since the last step."""
    reloader = workspace.reloader
    workspace.write("shapes.py", "SIDES = 3\n")
    shapes = workspace.import_("shapes")
    assert not reloader.up_to_date()  # (an import to track)
    workspace.reload()
    assert reloader.up_to_date()

    workspace.write("shapes.py", "SIDES = 4\n")
    assert not reloader.up_to_date()
    assert workspace.reload().reloaded
    assert shapes.SIDES == 4
    assert not reloader.up_to_date()  # (the change found is looked at once more)
    assert not workspace.reload()
    assert reloader.up_to_date()

    workspace.write("other.py", "X = 1\n")
    workspace.import_("other")
    assert not reloader.up_to_date()


def test_editing_one_module_again_finds_its_dependents_once(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing else changed between the two steps: the dependents found the first time hold
    (the edited module's own versions never decide them)."""
    base = workspace.name("base")
    workspace.write("base.py", "LIMIT = 1\n\ndef helper():\n    return LIMIT\n")
    workspace.write("user.py", f"from {base} import helper\nHELPER = helper\n")
    module = workspace.import_("user")
    workspace.reload()
    workspace.write("base.py", "LIMIT = 2\n\ndef helper():\n    return LIMIT\n")
    workspace.reload()  # helper keeps its identity: user need not run again

    def no_search(target: str) -> set[str]:
        raise AssertionError(f"the importers of {target} were searched for again")

    monkeypatch.setattr(workspace.reloader._importers, "suspects", no_search)
    workspace.write("base.py", "LIMIT = 3\n\ndef helper():\n    return LIMIT\n")
    report = workspace.reload()

    assert [entry.module for entry in report.reloaded] == [base]
    assert module.HELPER() == 3


def test_modules_rewritten_together_are_each_parsed_once(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkout rewrites modules that import each other: the syntax tree made to compile
    each also gives its imports (parsing only the changed statements would parse it again)."""
    count = AHEAD_LIMIT + 2
    workspace.write("chain_0.py", "LIMIT = 1\n")
    for index in range(1, count):
        previous = workspace.name(f"chain_{index - 1}")
        workspace.write(f"chain_{index}.py", f"from {previous} import LIMIT\nVERSION = 1\n")
    last = workspace.import_(f"chain_{count - 1}")
    workspace.reload()
    thread = workspace.reloader._ahead_thread
    assert thread is not None
    thread.stop()  # (it would compile the first few saved itself: this is about the step)
    parsed_again: list[str] = []
    original = reloader_module._parse_or_none

    def recording(data: bytes, path: str) -> ast.Module | None:
        parsed_again.append(path)
        return original(data, path)

    monkeypatch.setattr(reloader_module, "_parse_or_none", recording)
    workspace.write("chain_0.py", "LIMIT = 2\n")
    for index in range(1, count):
        previous = workspace.name(f"chain_{index - 1}")
        workspace.write(f"chain_{index}.py", f"from {previous} import LIMIT\nVERSION = 2\n")
    report = workspace.reload()

    assert len(report.reloaded) == count
    assert (last.LIMIT, last.VERSION) == (2, 2)
    assert parsed_again == []


# --- a module edited again and again is searched only where it changed ----------------------


def write_base_with_dependents(workspace: Workspace, count: int) -> tuple[str, list[str]]:
    """``base`` and ``count`` modules importing it, all imported; their real names."""
    base = workspace.name("base")
    workspace.write("base.py", "LIMIT = 1\n")
    users = []
    for index in range(count):
        workspace.write(f"user_{index}.py", f"from {base} import LIMIT\nSEEN = LIMIT\n")
        users.append(workspace.import_(f"user_{index}").__name__)
    workspace.reload()
    return base, users


def test_an_edit_that_names_no_dependent_is_searched_only_where_it_changed(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = reloader_module._WORTH_SPLITTING_INTO_WORDS + 2  # (the search by words)
    base, users = write_base_with_dependents(workspace, count)
    workspace.write("base.py", "LIMIT = 2\n")
    workspace.reload()  # base's version is searched whole: it names no dependent
    split_whole: list[bytes] = []
    original = reloader_module._words

    def recording(searchable: bytes) -> frozenset[bytes]:
        split_whole.append(searchable)
        return original(searchable)

    monkeypatch.setattr(reloader_module, "_words", recording)
    workspace.write("base.py", "LIMIT = 3\n")
    report = workspace.reload()

    assert [entry.module for entry in report.reloaded] == [base, *users]
    assert b"LIMIT = 3\n" not in split_whole


GUARDED_IMPORT = "LIMIT = {limit}\ntry:\n    import {user}\nexcept ImportError:\n    pass\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param("LIMIT = 2\n", "from {user} import SEEN\nLIMIT = 3\n", id="line-added-first"),
        pytest.param("LIMIT = 2\n", "LIMIT = 3\nimport {user}\n", id="line-added-last"),
        pytest.param(
            GUARDED_IMPORT.format(limit=2, user="{longer}"),
            GUARDED_IMPORT.format(limit=2, user="{user}"),
            id="a-longer-name-shortened-to-it",
        ),
        pytest.param(
            GUARDED_IMPORT.format(limit=2, user="{shorter}"),
            GUARDED_IMPORT.format(limit=2, user="{user}"),
            id="a-shorter-name-grown-to-it",
        ),
    ],
)
def test_an_edit_that_names_a_dependent_is_seen_to_import_it(
    workspace: Workspace, before: str, after: str
) -> None:
    """Searched only where it changed, a version importing a dependent is seen to."""
    count = reloader_module._WORTH_SPLITTING_INTO_WORDS + 2
    base, users = write_base_with_dependents(workspace, count)
    names = {"user": users[3], "longer": users[3] + "x", "shorter": users[3][:-1]}
    workspace.write("base.py", before.format(**names))
    workspace.reload()
    assert users[3] not in workspace.reloader._last_graph.edges[base]

    workspace.write("base.py", after.format(**names))
    workspace.reload()

    assert users[3] in workspace.reloader._last_graph.edges[base]


@pytest.mark.parametrize("module", ["textwrap", "ast", "inspect"])
def test_the_changed_region_holds_every_word_the_edit_made(module: str) -> None:
    """Random line edits of a standard-library module: every identifier-character run of the
    new version is inside the changed region, or was a run of the old version already."""
    import random

    source = Path(sys.modules[module].__file__ or "").read_bytes()
    lines = source.splitlines(keepends=True)
    generator = random.Random(module)
    words = reloader_module._ASCII_WORD.findall
    for _ in range(80):
        edited = list(lines)
        where = generator.randrange(len(edited))
        column = generator.randrange(len(edited[where]) + 1)
        inserted = generator.choice([b"x", b"_2", b" ", b"(", b"import a_b\n", b""])
        cut = generator.randrange(4)
        edited[where] = edited[where][:column] + inserted + edited[where][column + cut :]
        after = b"".join(edited)

        region = reloader_module._changed_region(source, after)

        assert set(words(after)) <= set(words(region)) | set(words(source))
        assert region in after
