"""Updating live objects in place: functions, classes, enums, declarative classes, undo."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import pickle
import sys
import textwrap
from collections.abc import Iterator
from types import FunctionType, ModuleType
from typing import Any

import pytest

from reload_kernel.engine.patch import MISSING, Reconciler, UndoLog, transplant_class

MODULE = "rk_patch_fixture"


@pytest.fixture
def module() -> Iterator[ModuleType]:
    """A module registered in sys.modules, so pickle and dataclasses can find its classes."""
    namespace = ModuleType(MODULE)
    sys.modules[MODULE] = namespace
    try:
        yield namespace
    finally:
        del sys.modules[MODULE]


def define(module: ModuleType, source: str) -> dict[str, Any]:
    """Run ``source`` as a version of ``module``; return the namespace it produced."""
    namespace: dict[str, Any] = {"__name__": MODULE}
    # dont_inherit: this file's ``from __future__ import annotations`` must not leak in.
    code = compile(textwrap.dedent(source), f"<{MODULE}>", "exec", dont_inherit=True)
    exec(code, namespace)
    vars(module).update(namespace)
    return namespace


def reconcile(old: Any, new: Any) -> tuple[Any, Reconciler, UndoLog]:
    undo = UndoLog()
    reconciler = Reconciler(MODULE, undo)
    return reconciler.value(old, new), reconciler, undo


# --- functions ------------------------------------------------------------------------------


def test_function_keeps_identity_and_takes_everything_new(module: ModuleType) -> None:
    old = define(module, "def f(a: int = 1, *, b=2) -> int:\n    'old'\n    return a + b\n")["f"]
    new = define(
        module, "def f(a: str = 'x', *, b='y') -> str:\n    'new'\n    return a * 2 + b\n"
    )["f"]

    result, _, _ = reconcile(old, new)

    assert result is old
    assert old() == "xxy"
    assert (old.__doc__, str(inspect.signature(old))) == ("new", "(a: str = 'x', *, b='y') -> str")


def test_closure_contents_follow_the_new_version(module: ModuleType) -> None:
    maker = """\
        def make():
            v = {v!r}
            def get():
                return v
            return get
        get = make()
        """
    old = define(module, maker.format(v="old"))["get"]
    new = define(module, maker.format(v="new"))["get"]

    assert reconcile(old, new)[0] is old
    assert old() == "new"


def test_function_starting_to_use_a_closure_forwards_old_references(module: ModuleType) -> None:
    old = define(
        module, "def make():\n    def get():\n        return 1\n    return get\nget = make()\n"
    )["get"]
    new = define(
        module,
        """\
        def make():
            v = 2
            def get(x=0):
                return v + x
            return get
        get = make()
        """,
    )["get"]

    result, reconciler, undo = reconcile(old, new)

    assert result is old and reconciler.identity_lost == []
    assert (old(), old(x=1)) == (2, 3)
    assert str(inspect.signature(old)) == "(x=0)"
    undo.rollback()
    assert old() == 1


KIND_CHECKS = (
    inspect.iscoroutinefunction,
    inspect.isgeneratorfunction,
    inspect.isasyncgenfunction,
)


async def collect(async_generator: Any) -> list[Any]:
    return [item async for item in async_generator]


@pytest.mark.parametrize(
    ("header", "statement", "call"),
    [
        ("async def", "return", lambda f: asyncio.run(f())),
        ("def", "yield", lambda f: list(f())),
        ("async def", "yield", lambda f: asyncio.run(collect(f()))),
    ],
    ids=["coroutine", "generator", "async-generator"],
)
def test_forwarding_keeps_the_kind_of_function(
    module: ModuleType, header: str, statement: str, call: Any
) -> None:
    # The old get ignores v, the new one reads it: its closure changes, so old forwards.
    maker = "def make():\n    v = 2\n    {header} get():\n        {statement} {value}\n"
    maker += "    return get\nget = make()\n"
    old = define(module, maker.format(header=header, statement=statement, value=1))["get"]
    new = define(module, maker.format(header=header, statement=statement, value="v"))["get"]
    kinds_before = [check(old) for check in KIND_CHECKS]

    reconcile(old, new)

    assert [check(old) for check in KIND_CHECKS] == kinds_before
    assert call(old) in (2, [2])


def test_functions_of_other_names_are_never_merged(module: ModuleType) -> None:
    namespace = define(module, "def foo():\n    return 'foo'\ndef bar():\n    return 'bar'\n")

    result, _, _ = reconcile(namespace["foo"], namespace["bar"])

    assert result is namespace["bar"] and namespace["foo"]() == "foo"


def test_lru_cache_keeps_identity_and_forgets_old_results(module: ModuleType) -> None:
    source = "import functools\n@functools.lru_cache\ndef f(x):\n    return x * {k}\n"
    old = define(module, source.format(k=2))["f"]
    assert old(3) == 6
    new = define(module, source.format(k=10))["f"]

    assert reconcile(old, new)[0] is old
    assert old(3) == 30


def test_partial_takes_new_function_and_arguments(module: ModuleType) -> None:
    source = (
        "import functools\ndef base(a, b):\n    return a {op} b\np = functools.partial(base, {a})\n"
    )
    old_ns = define(module, source.format(op="+", a=1))
    new_ns = define(module, source.format(op="*", a=3))
    undo = UndoLog()
    reconciler = Reconciler(MODULE, undo)
    reconciler.value(old_ns["base"], new_ns["base"])

    result = reconciler.value(old_ns["p"], new_ns["p"])

    assert result is old_ns["p"] and old_ns["p"](2) == 6
    undo.rollback()
    assert old_ns["p"].args == (1,)


# --- classes --------------------------------------------------------------------------------


def transplant(old: type, new: type) -> tuple[str | None, Reconciler, UndoLog]:
    undo = UndoLog()
    reconciler = Reconciler(MODULE, undo)
    return transplant_class(old, new, reconciler), reconciler, undo


def test_class_takes_new_body_and_old_instances_follow(module: ModuleType) -> None:
    old = define(
        module,
        """\
        class K:
            X = 1
            def m(self):
                return 'old'
            def gone(self):
                pass
        """,
    )["K"]
    instance = old()
    new = define(
        module,
        """\
        class K:
            X = 2
            def m(self):
                return 'new'
            @property
            def p(self):
                return 'p'
        """,
    )["K"]

    reason, _, _ = transplant(old, new)

    assert reason is None
    assert (instance.m(), instance.X, instance.p, hasattr(instance, "gone")) == (
        "new",
        2,
        "p",
        False,
    )
    vars(module)["K"] = old
    assert type(pickle.loads(pickle.dumps(instance))) is old


def test_rollback_restores_class_exactly(module: ModuleType) -> None:
    old = define(module, "class K:\n    X = 1\n    def m(self):\n        return 'old'\n")["K"]
    before = dict(vars(old))
    new = define(module, "class K:\n    Y = 2\n")["K"]
    _, _, undo = transplant(old, new)

    undo.rollback()

    assert dict(vars(old)) == before


@pytest.mark.parametrize(
    ("old_source", "new_source", "reason_part"),
    [
        (
            "class K:\n    pass\n",
            "import abc\nclass K(metaclass=abc.ABCMeta):\n    pass\n",
            "metaclass",
        ),
        ("class K:\n    __slots__ = ('a',)\n", "class K:\n    __slots__ = ('a', 'b')\n", "layout"),
        (
            "from typing import NamedTuple\nclass K(NamedTuple):\n    a: int\n",
            "from typing import NamedTuple\nclass K(NamedTuple):\n    a: int\n    b: int = 0\n",
            "named tuple",
        ),
        (
            "import dataclasses\n@dataclasses.dataclass\nclass K:\n    a: int\n",
            "import dataclasses\n@dataclasses.dataclass\nclass K:\n    a: int\n    b: int\n",
            "dataclass",
        ),
        (
            "import dataclasses\n@dataclasses.dataclass\nclass K:\n    a: int\n",
            "import dataclasses\n@dataclasses.dataclass\nclass K:\n    a: int\n"
            "    b: list = dataclasses.field(default_factory=list)\n",
            "dataclass",
        ),
    ],
    ids=["metaclass", "slots", "namedtuple-field", "dataclass-field", "dataclass-factory-field"],
)
def test_class_that_old_instances_could_not_follow_is_left_alone(
    module: ModuleType, old_source: str, new_source: str, reason_part: str
) -> None:
    old = define(module, old_source)["K"]
    before = dict(vars(old))
    new = define(module, new_source)["K"]

    reason, _, _ = transplant(old, new)

    assert reason is not None and reason_part in reason
    assert dict(vars(old)) == before


def test_dataclass_field_with_default_keeps_identity(module: ModuleType) -> None:
    old = define(module, "import dataclasses\n@dataclasses.dataclass\nclass P:\n    x: int\n")["P"]
    instance = old(1)
    new = define(
        module, "import dataclasses\n@dataclasses.dataclass\nclass P:\n    x: int\n    y: int = 7\n"
    )["P"]

    reason, _, _ = transplant(old, new)

    assert reason is None
    assert repr(instance) == "P(x=1, y=7)" and dataclasses.fields(old)[1].name == "y"


def test_class_made_by_a_call_keeps_identity(module: ModuleType) -> None:
    old = define(module, "import collections\nPt = collections.namedtuple('Pt', 'x y')\n")["Pt"]
    new = define(
        module, "import collections\nPt = collections.namedtuple('Pt', 'x y', defaults=[0])\n"
    )["Pt"]

    result, reconciler, _ = reconcile(old, new)

    assert result is old and reconciler.identity_lost == []
    assert old(1) == (1, 0)


def test_another_modules_class_is_never_rewritten(module: ModuleType) -> None:
    import collections

    result, _, _ = reconcile(collections.OrderedDict, collections.Counter)

    assert result is collections.Counter
    assert collections.OrderedDict.__name__ == "OrderedDict"


def test_abc_keeps_virtual_subclasses_registered_before(module: ModuleType) -> None:
    source = "import abc\nclass Shape(abc.ABC):\n    @abc.abstractmethod\n    def area(self): ...\n"
    old = define(module, source)["Shape"]

    class Virtual:
        pass

    old.register(Virtual)
    new = define(module, source + "    def twice(self):\n        return 2 * self.area()\n")["Shape"]

    reason, _, _ = transplant(old, new)

    assert reason is None
    assert isinstance(Virtual(), old) and hasattr(old, "twice")


# --- enums ----------------------------------------------------------------------------------


def test_enum_members_keep_identity_and_new_members_join(module: ModuleType) -> None:
    old = define(module, "import enum\nclass Color(enum.Enum):\n    RED = 1\n    GREEN = 2\n")[
        "Color"
    ]
    red = old.RED
    new = define(module, "import enum\nclass Color(enum.Enum):\n    RED = 1\n    BLUE = 3\n")[
        "Color"
    ]

    reason, _, _ = transplant(old, new)

    assert reason is None
    assert old.RED is red and old(1) is red
    assert [member.name for member in old] == ["RED", "BLUE"]
    assert type(old.BLUE) is old and isinstance(old.BLUE, old)


def test_int_enum_member_whose_value_changed_is_said_to_lose_identity(module: ModuleType) -> None:
    old = define(module, "import enum\nclass Level(enum.IntEnum):\n    LOW = 1\n    HIGH = 2\n")
    low, high = old["Level"].LOW, old["Level"].HIGH
    new = define(module, "import enum\nclass Level(enum.IntEnum):\n    LOW = 0\n    HIGH = 2\n")

    reason, reconciler, _ = transplant(old["Level"], new["Level"])

    assert reason is None
    assert old["Level"].HIGH is high and old["Level"].LOW is not low
    assert old["Level"].LOW == 0 and type(old["Level"].LOW) is old["Level"]
    assert [qualname for qualname, _ in reconciler.identity_lost] == ["Level.LOW"]


def test_enum_rollback_restores_members(module: ModuleType) -> None:
    old = define(module, "import enum\nclass Color(enum.Enum):\n    RED = 1\n")["Color"]
    new = define(module, "import enum\nclass Color(enum.Enum):\n    RED = 1\n    BLUE = 2\n")[
        "Color"
    ]
    _, _, undo = transplant(old, new)

    undo.rollback()

    assert [member.name for member in old] == ["RED"]
    assert not hasattr(old, "BLUE")


# --- undo -----------------------------------------------------------------------------------


def test_undo_restores_function_state(module: ModuleType) -> None:
    old = define(module, "def f(a=1):\n    'doc'\n    return a\n")["f"]
    new = define(module, "def f(a=2):\n    return -a\n")["f"]
    old.custom = "attribute"

    _, _, undo = reconcile(old, new)
    undo.rollback()

    assert (old(), old.__doc__, old.__dict__) == (1, "doc", {"custom": "attribute"})


def test_missing_old_value_keeps_new(module: ModuleType) -> None:
    new = define(module, "def f():\n    pass\n")["f"]

    assert reconcile(MISSING, new)[0] is new
    assert isinstance(new, FunctionType)
