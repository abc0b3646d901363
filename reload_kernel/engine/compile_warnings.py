"""Compile without showing warnings: on this thread, for a moment, they are errors.

Two kinds of compiling must not print warnings. The ahead thread (``ahead.py``) compiles saved
versions while the notebook waits: a warning printed from there would land in whatever cell
ran last, and the cell that loads the module would not show it. And the reload step parses
again only the statements an edit changed (``diff.splice_shape``) before compiling the whole
file, which shows each warning once, as an import does: the statements must not show them a
second time. In both, a warning means "leave this version to the usual way", which shows it.

One warnings filter, added once in front of the others, makes the warnings Python's parser and
compiler raise errors, but only on a thread inside ``warnings_raised()``. Its category does
that: Python asks a filter's category whether the warning's category is a subclass of it, and
ours answers yes only on those threads, and only for those categories (a ``ResourceWarning``
from a finalizer the collector happens to run there is none of its business). While an
earlier filter would show such a warning anyway (a notebook's
``warnings.simplefilter("always")``), ``warnings_become_errors`` says so, and the caller takes
the usual way.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator
from typing import Any

#: What Python's parser and compiler warn with (invalid escapes, ``is`` with a literal...),
#: and the categories next to them, should a version start using those.
_COMPILER_WARNINGS = (SyntaxWarning, DeprecationWarning, PendingDeprecationWarning, FutureWarning)

#: The threads inside ``warnings_raised()``, by ident.
_RAISING_THREADS: set[int] = set()


class _OnRaisingThreads(type):
    def __subclasscheck__(cls, subclass: type) -> bool:
        on_raising_thread = threading.get_ident() in _RAISING_THREADS
        return on_raising_thread and issubclass(subclass, _COMPILER_WARNINGS)


class WarningOnARaisingThread(Warning, metaclass=_OnRaisingThreads):
    """The category of reload_kernel's filter: a compiler's warning raised on a thread inside
    ``warnings_raised()`` (it is never raised itself)."""


def install_warning_filter() -> None:
    """Add the filter, once, in front. Changing the filters resets Python's memory of the
    warnings already shown, so it is never moved or added again while present."""
    if not any(_is_ours(entry) for entry in warnings.filters):
        warnings.filterwarnings("error", category=WarningOnARaisingThread)


@contextlib.contextmanager
def warnings_raised() -> Iterator[None]:
    """Within this, a compiler's warning on this thread is raised as an error (see the
    module's docstring; the filter must be installed, and ``warnings_become_errors`` true)."""
    ident = threading.get_ident()
    if ident in _RAISING_THREADS:  # (nested)
        yield
        return
    _RAISING_THREADS.add(ident)
    try:
        yield
    finally:
        _RAISING_THREADS.discard(ident)


def warnings_become_errors(filename: str) -> bool:
    """Whether a warning raised while compiling ``filename`` inside ``warnings_raised()``
    would be an error (or ignored) rather than shown: no filter before ours shows it.

    Filters for other categories (numpy's "always" for its ``RankWarning``), for other
    modules, and those that ignore or raise do not matter.
    """
    # Python names the module a compiler warning comes from after the file.
    module_name = filename[:-3] if filename.endswith(".py") else filename
    unsettled = set(_COMPILER_WARNINGS)
    for entry in list(warnings.filters):  # (a copy: the notebook may change them meanwhile)
        if _is_ours(entry):
            return True
        action, message, category, module, lineno = entry
        if not _module_matches(module, module_name) or not isinstance(category, type):
            continue
        caught = {kind for kind in unsettled if issubclass(kind, category)}
        if caught and action not in ("ignore", "error"):
            return False
        if message is None and lineno == 0:  # (else it catches only some of them)
            unsettled -= caught
        if not unsettled:
            return True
    return False


def _module_matches(module: Any, module_name: str) -> bool:
    """Whether a filter's module part matches ``module_name``."""
    if module is None:
        return True
    if isinstance(module, str):  # Python's own default filters name a module in plain text
        return module == module_name
    return bool(module.match(module_name))


def _is_ours(entry: tuple[Any, ...]) -> bool:
    return entry[0] == "error" and entry[2] is WarningOnARaisingThread
