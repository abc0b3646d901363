"""Import edges read from source, and the order modules reload in."""

from __future__ import annotations

import ast
import textwrap

import pytest

from reload_kernel.engine.graph import (
    RUNS_CODE,
    STAR,
    ImportEdge,
    import_edges,
    reload_groups,
    reload_order,
    resolve_relative,
)

#: The modules the reloader tracks in these tests: edges to anything else are dropped.
KNOWN_MODULES = frozenset({"a", "b", "pkg", "pkg.sub", "pkg.core"})


def uses(source: str, *, importer: str = "m", package: str = "") -> dict[str, set[str]]:
    """What ``importer`` (with ``source``) uses of each known module at import time."""
    tree = ast.parse(textwrap.dedent(source))
    edges = import_edges(tree, importer, package, is_module=KNOWN_MODULES.__contains__)
    return {edge.target: set(edge.names) for edge in edges}


EDGE_CASES = [
    # --- what the import statement itself reads
    ("from-import", "from a import X, Y", {"a": {"X", "Y"}}),
    ("from-import-as", "from a import X as Z", {"a": {"X"}}),
    ("star-import", "from a import *", {"a": {STAR}}),
    ("plain-import", "import a", {"a": set()}),
    ("unknown-module-dropped", "import json\nY = json.dumps(1)", {}),
    ("import-in-function-is-no-edge", "def f():\n    import a\n    return a.X", {}),
    (
        "try-block-runs-at-import",
        "try:\n    from a import X\nexcept ImportError:\n    X = 0",
        {"a": {"X"}},
    ),
    # --- attributes read through a module object at import time
    ("module-read-at-top-level", "import a\nY = a.X * 2", {"a": {"X"}}),
    ("module-alias-read", "import a as x\nY = x.X", {"a": {"X"}}),
    ("module-read-only-in-function", "import a\ndef f():\n    return a.X", {"a": set()}),
    ("lambda-body-is-deferred", "import a\nf = lambda: a.X", {"a": set()}),
    ("default-value-is-eager", "import a\ndef f(x=a.X):\n    pass", {"a": {"X"}}),
    ("class-body-is-eager", "import a\nclass C:\n    LIMIT = a.X", {"a": {"X"}}),
    ("comprehension-is-eager", "import a\nY = [a.X for _ in range(2)]", {"a": {"X"}}),
    ("attribute-assignment", "import a\na.X = 5", {"a": {"X"}}),
    ("alias-rebound-before-read", "import a\na = None\nY = a.X", {"a": set()}),
    ("alias-read-before-rebinding", "import a\na = a.X", {"a": {"X"}}),
    (
        "dotted-import-read",
        "import pkg.sub\nY = pkg.sub.X",
        {"pkg": {"sub"}, "pkg.sub": {"X"}},
    ),
    (
        "submodule-from-import-read",
        "from pkg import sub\nY = sub.X",
        {"pkg": {"sub"}, "pkg.sub": {"X"}},
    ),
    # --- code of the module run at import time
    ("call-through-module", "import a\nT = a.build()", {"a": {"build", RUNS_CODE}}),
    ("call-of-imported-name", "from a import build\nT = build()", {"a": {"build", RUNS_CODE}}),
    (
        "decorator",
        "from a import register\n@register\ndef f():\n    pass",
        {"a": {"register", RUNS_CODE}},
    ),
    (
        "decorator-method-call",
        "from a import describe\n@describe.register\ndef _(x: int):\n    pass",
        {"a": {"describe", RUNS_CODE}},
    ),
    ("base-class", "from a import Base\nclass C(Base):\n    pass", {"a": {"Base", RUNS_CODE}}),
    (
        "base-class-through-module",
        "import a\nclass C(a.Base):\n    pass",
        {"a": {"Base", RUNS_CODE}},
    ),
    (
        "metaclass",
        "from a import Meta\nclass C(metaclass=Meta):\n    pass",
        {"a": {"Meta", RUNS_CODE}},
    ),
    ("module-handed-over", "import a\nsetup(a)", {"a": {RUNS_CODE}}),
    (
        "submodule-call-owned-by-submodule",
        "import pkg.sub\nT = pkg.sub.build()",
        {"pkg": {"sub"}, "pkg.sub": {"build", RUNS_CODE}},
    ),
    (
        "own-function-called-at-import",
        "import a\ndef helper():\n    return a.X\nY = helper()",
        {"a": {"X"}},
    ),
    ("own-function-never-called", "import a\ndef helper():\n    return a.X", {"a": set()}),
    (
        "parameter-shadows-module",
        "import a\ndef helper(a):\n    return a.X\nY = helper(1)",
        {"a": set()},
    ),
    ("value-passed-is-only-a-read", "from a import CONFIG\nsetup(CONFIG)", {"a": {"CONFIG"}}),
    ("star-import-then-unknown-call", "from a import *\nregister(1)", {"a": {STAR, RUNS_CODE}}),
    ("star-import-then-builtin-call", "from a import *\nprint(1)", {"a": {STAR}}),
    (
        "star-import-then-own-call",
        "from a import *\ndef mine():\n    pass\nmine()",
        {"a": {STAR}},
    ),
]


@pytest.mark.parametrize(
    ("source", "expected"),
    [pytest.param(source, expected, id=case) for case, source, expected in EDGE_CASES],
)
def test_import_time_uses(source: str, expected: dict[str, set[str]]) -> None:
    assert uses(source) == expected


@pytest.mark.parametrize(
    ("importer", "package", "source", "expected"),
    [
        pytest.param("pkg.sub", "pkg", "from .core import X", {"pkg.core": {"X"}}, id="sibling"),
        pytest.param("pkg.sub", "pkg", "from .core import *", {"pkg.core": {STAR}}, id="star"),
        pytest.param(
            "pkg.core",
            "pkg",
            "from . import sub\nY = sub.X",
            {"pkg": {"sub"}, "pkg.sub": {"X"}},
            id="package-submodule",
        ),
        pytest.param("pkg", "pkg", "from .core import X", {"pkg.core": {"X"}}, id="from-init"),
    ],
)
def test_relative_imports_resolve_against_the_package(
    importer: str, package: str, source: str, expected: dict[str, set[str]]
) -> None:
    assert uses(source, importer=importer, package=package) == expected


@pytest.mark.parametrize(
    ("module", "level", "package", "expected"),
    [
        pytest.param("x", 0, "pkg", "x", id="absolute"),
        pytest.param("core", 1, "pkg", "pkg.core", id="sibling"),
        pytest.param(None, 1, "pkg", "pkg", id="the-package-itself"),
        pytest.param("x", 2, "pkg.inner", "pkg.x", id="parent"),
        pytest.param("x", 2, "pkg", None, id="beyond-top-level-package"),
        pytest.param("x", 1, "", None, id="top-level-module"),
    ],
)
def test_resolve_relative(
    module: str | None, level: int, package: str, expected: str | None
) -> None:
    assert resolve_relative(module, level, package) == expected


def test_without_known_modules_every_candidate_is_an_edge() -> None:
    tree = ast.parse("from pkg import sub, helper")
    targets = {edge.target for edge in import_edges(tree, "m", "")}
    assert targets == {"pkg", "pkg.sub", "pkg.helper"}


def test_without_known_modules_a_call_marks_every_module_that_may_own_the_callee() -> None:
    tree = ast.parse("import pkg.sub\nT = pkg.sub.build()")
    runs_code = {edge.target for edge in import_edges(tree, "m", "") if RUNS_CODE in edge.names}
    assert {"pkg", "pkg.sub"} <= runs_code
    assert "pkg.sub.build" not in runs_code


def test_edges_name_the_importer() -> None:
    tree = ast.parse("from a import X")
    assert import_edges(tree, "m", "", KNOWN_MODULES.__contains__) == [ImportEdge("m", "a", ("X",))]


def test_expression_too_deep_to_walk_assumes_the_module_runs_code_of_its_imports() -> None:
    """Generated code can nest deeper than the recursion limit allows walking: the edges
    must still be there, erring towards re-running the importer."""
    expression: ast.expr = ast.Attribute(ast.Name("a", ast.Load()), "X", ast.Load())
    for _ in range(20_000):
        expression = ast.BinOp(expression, ast.Add(), ast.Constant(1))
    statements: list[ast.stmt] = [
        ast.Import([ast.alias("a")]),
        ast.Assign([ast.Name("Y", ast.Store())], expression),
    ]
    tree = ast.Module(statements, type_ignores=[])

    edges = import_edges(tree, "m", "", KNOWN_MODULES.__contains__)

    assert edges == [ImportEdge("m", "a", (RUNS_CODE,))]


# --- order ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("modules", "dependencies", "expected"),
    [
        pytest.param(["c", "b", "a"], {"c": ["b"], "b": ["a"]}, ["a", "b", "c"], id="chain"),
        pytest.param(
            ["top", "left", "right", "base"],
            {"top": ["left", "right"], "left": ["base"], "right": ["base"]},
            ["base", "left", "right", "top"],
            id="diamond",
        ),
        pytest.param(["x", "y"], {"x": ["y"], "y": ["x"]}, ["x", "y"], id="cycle-keeps-order"),
        pytest.param(["y", "x"], {"x": ["y"], "y": ["x"]}, ["y", "x"], id="cycle-keeps-order-2"),
        pytest.param(
            ["user", "x", "y", "base"],
            {"user": ["x"], "x": ["y", "base"], "y": ["x"]},
            ["base", "x", "y", "user"],
            id="cycle-between-its-dependency-and-dependent",
        ),
        pytest.param(["b", "a"], {"b": ["a", "outside"]}, ["a", "b"], id="outside-ignored"),
        pytest.param(["a", "a"], {"a": ["a"]}, ["a"], id="self-import-and-duplicates"),
    ],
)
def test_reload_order_puts_dependencies_first(
    modules: list[str], dependencies: dict[str, list[str]], expected: list[str]
) -> None:
    assert reload_order(modules, dependencies) == expected


def test_reload_groups_gather_each_cycle() -> None:
    groups = reload_groups(
        ["user", "x", "y", "base"], {"user": ["x"], "x": ["y", "base"], "y": ["x"]}
    )
    assert groups == [["base"], ["x", "y"], ["user"]]


def test_reload_order_of_a_deep_chain_does_not_recurse() -> None:
    names = [f"m{i}" for i in range(20_000)]
    dependencies = {name: [names[i - 1]] for i, name in enumerate(names) if i}
    assert reload_order(reversed(names), dependencies) == names
