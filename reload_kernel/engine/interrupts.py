"""The user's interrupt during a reload step: stop module code at once, never leave half a reload.

A module's top level may run for seconds (a data set loaded at import); the user presses the
frontend's interrupt button; the kernel gets SIGINT. Two things must hold:

* Module code stops at once: the interrupt raises ``KeyboardInterrupt`` inside it, as usual.
* The reloader's own bookkeeping (restoring a module that failed, committing one that loaded,
  rolling a whole step back) is never cut in the middle, or a module would be left half old and
  half new. While it runs, an interrupt is only noted; the reloader acts on it at its next
  ``checkpoint()``, where nothing is half done, by rolling the step back.

The guard also tells the user's interrupt apart from module code that raises
``KeyboardInterrupt`` itself: that one is an ordinary failure of the module's new version.

Signal handlers run on the main thread, and only the main thread may install them. On any other
thread the guard does nothing (no signal can interrupt that thread); the guard also stays out of
the way when the SIGINT handler is not Python's default one (someone else is handling it).

The guard is entered before every cell, so it swaps handlers with ``_signal``'s functions:
``signal.signal`` and ``signal.getsignal`` wrap them to turn handlers into ``Handlers`` enums,
which costs some 20 µs a call (a failed enum lookup for every Python function) against 1 µs.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # (typeshed has no stub for it)
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

#: ``signal.signal`` and ``signal.getsignal`` without their enum conversions (see above): the
#: same C functions, taking and returning plain ints and handler objects.
_setsignal: Callable[[int, Any], Any] = _signal.signal
_getsignal: Callable[[int], Any] = _signal.getsignal
_SIGINT = int(signal.SIGINT)


class InterruptGuard:
    """Use as ``with InterruptGuard() as guard:`` around a reload step."""

    def __init__(self) -> None:
        self.requested = False
        """The user interrupted during this step (set by the signal handler)."""
        self._installed = False
        self._interruptible = False
        self._previous_handler: Any = None
        self._handler = self._on_interrupt  # one bound method, to recognise it later

    def __enter__(self) -> InterruptGuard:
        on_main_thread = threading.current_thread() is threading.main_thread()
        if on_main_thread and _getsignal(_SIGINT) is signal.default_int_handler:
            self._previous_handler = _setsignal(_SIGINT, self._handler)
            self._installed = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        # An interrupt that arrives after the last checkpoint is dropped: the step has already
        # been committed, and the user can press the button again.
        if self._installed and _getsignal(_SIGINT) is self._handler:
            _setsignal(_SIGINT, self._previous_handler)
        self._installed = False

    def _on_interrupt(self, signal_number: int, frame: FrameType | None) -> None:
        self.requested = True
        if self._interruptible:
            raise KeyboardInterrupt

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """Code in this block (module code, pure computation) may be stopped at once."""
        self.checkpoint()
        self._interruptible = True
        try:
            yield
        finally:
            self._interruptible = False

    def checkpoint(self) -> None:
        """Raise KeyboardInterrupt if the user interrupted: from here the step can roll back."""
        if self.requested:
            raise KeyboardInterrupt

    def caused_by_user(self, error: BaseException) -> bool:
        """Whether the user's interrupt is behind ``error``, which ended a module's code.

        With the guard installed: exactly when the user interrupted during the step (module code
        may turn the KeyboardInterrupt into another error, or swallow it). Without it, on the
        main thread, a KeyboardInterrupt may have come from any signal handler: assume it is the
        user's, so the module is tried again next time. On another thread no signal raises: it
        is the module's own.
        """
        if self._installed:
            return self.requested
        on_main_thread = threading.current_thread() is threading.main_thread()
        return isinstance(error, KeyboardInterrupt) and on_main_thread
