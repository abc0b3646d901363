"""Warnings while compiling: raised where they must not be shown, shown once where they must."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator

import pytest

from reload_kernel.engine.compile_warnings import (
    WarningOnARaisingThread,
    install_warning_filter,
    warnings_raised,
)

from .conftest import Workspace

COMPILER_WARNS = "def f(x):\n    return x is 1\n"  # SyntaxWarning from the compiler
PARSER_WARNS = "PATTERN = '\\d'\n"  # invalid escape: from the parser (DeprecationWarning < 3.12)


@pytest.fixture
def shown() -> Iterator[list[warnings.WarningMessage]]:
    """Every warning shown, as a notebook shows them; reload_kernel's filter in front."""
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        warnings.filters[:] = [f for f in warnings.filters if f[2] is not WarningOnARaisingThread]
        install_warning_filter()
        yield log


@pytest.mark.parametrize("source", [COMPILER_WARNS, PARSER_WARNS], ids=["compiler", "parser"])
def test_inside_warnings_raised_a_warning_is_an_error(
    shown: list[warnings.WarningMessage], source: str
) -> None:
    with warnings_raised(), pytest.raises(SyntaxError):
        compile(source, "m.py", "exec")
    assert shown == []

    compile(source, "m.py", "exec")
    assert [type(w.message) for w in shown] in ([SyntaxWarning], [DeprecationWarning])


def test_only_on_the_thread_inside(shown: list[warnings.WarningMessage]) -> None:
    other_thread_compiled = threading.Event()

    def compile_elsewhere() -> None:
        compile(COMPILER_WARNS, "other.py", "exec")
        other_thread_compiled.set()

    with warnings_raised():
        thread = threading.Thread(target=compile_elsewhere)
        thread.start()
        thread.join(timeout=10)

    assert other_thread_compiled.is_set()
    assert [(w.category, w.filename) for w in shown] == [(SyntaxWarning, "other.py")]


def test_other_warnings_on_the_thread_inside_are_left_to_the_usual_filters(
    shown: list[warnings.WarningMessage],
) -> None:
    """A finalizer the collector happens to run there may warn: that is not about compiling."""
    with warnings_raised():
        warnings.warn("unclosed file", ResourceWarning, stacklevel=1)
        warnings.warn("something else", UserWarning, stacklevel=1)

    assert [w.category for w in shown] == [ResourceWarning, UserWarning]


@pytest.mark.parametrize(
    ("edited", "line"),
    [
        pytest.param("LIMIT = 2\n" + COMPILER_WARNS, 3, id="compiler"),
        pytest.param("LIMIT = 2\n" + PARSER_WARNS, 2, id="parser"),
    ],
)
def test_a_version_that_warns_shows_each_warning_once_naming_its_file(
    workspace: Workspace, shown: list[warnings.WarningMessage], edited: str, line: int
) -> None:
    """The changed statements are parsed again on their own before the whole file is
    compiled: a warning must come out once, from the file, at its line."""
    workspace.write("shapes.py", "LIMIT = 1\n")
    module = workspace.import_("shapes")
    workspace.reload()
    path = workspace.write("shapes.py", edited)

    report = workspace.reload()

    assert module.LIMIT == 2, report
    assert [(w.filename, w.lineno) for w in shown] == [(str(path), line)]
