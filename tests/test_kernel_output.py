"""How the reload line is handed to ipykernel's IOPub thread (see ``kernel._say``)."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from typing import Any

from reload_kernel.kernel import _queue_without_waking


class IOPubThreadStandIn:
    """What ``_queue_without_waking`` reads of ipykernel's ``IOPubThread``."""

    def __init__(self, events: Any, alive: bool) -> None:
        self._events = events
        self.thread = threading.Thread(target=lambda: None)
        if alive:
            self.thread.is_alive = lambda: True  # type: ignore[method-assign]


def send() -> None:
    pass


def test_the_line_is_queued_behind_what_the_thread_has_yet_to_send() -> None:
    earlier: Callable[[], None] = lambda: None  # noqa: E731
    io_thread = IOPubThreadStandIn(collections.deque([earlier]), alive=True)

    assert _queue_without_waking(io_thread, send)
    assert list(io_thread._events) == [earlier, send]


def test_without_a_running_thread_the_line_is_left_to_schedule() -> None:
    """``IOPubThread.schedule`` sends at once when its thread is not running (a fork)."""
    io_thread = IOPubThreadStandIn(collections.deque(), alive=False)

    assert not _queue_without_waking(io_thread, send)
    assert list(io_thread._events) == []


def test_an_unknown_event_queue_is_left_to_schedule() -> None:
    io_thread = IOPubThreadStandIn([], alive=True)

    assert not _queue_without_waking(io_thread, send)
    assert io_thread._events == []
