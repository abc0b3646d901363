"""Fixtures for engine tests: real modules in a temp dir, imported and reloaded without a kernel.

Every test gets a ``Workspace``: a fresh directory on ``sys.path``, a unique module-name prefix
(so tests never share a module), and a started ``Reloader``. When the test ends the directory
leaves ``sys.path`` and every module loaded from it leaves ``sys.modules``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from reload_kernel.engine import Reloader, Report
from reload_kernel.engine.watch import FileWatcher, Inotify


class Workspace:
    """A directory of user modules, the reloader watching them, and the notebook's namespace."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.prefix = f"w{uuid.uuid4().hex[:8]}_"
        self.reloader = Reloader()
        self.user_ns: dict[str, Any] = {}

    def name(self, stem: str) -> str:
        """The real (unique) module name for ``stem``: ``name("shapes")`` → ``w1a2b3c4d_shapes``."""
        return self.prefix + stem

    def path(self, relative: str) -> Path:
        """``relative`` with its first component made unique, as ``name`` does."""
        return self.root / (self.prefix + relative)

    def write(self, relative: str, source: str) -> Path:
        """Save ``relative`` (e.g. ``"shapes.py"``) by truncating and writing it in place."""
        path = self.path(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path

    def save_by_rename(self, relative: str, source: str) -> Path:
        """Save like editors' "safe write": a new file renamed over the old one."""
        path = self.path(relative)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(textwrap.dedent(source), encoding="utf-8")
        os.replace(temporary, path)
        return path

    def import_(self, stem: str) -> ModuleType:
        return importlib.import_module(self.name(stem))

    def import_base_and_user(self) -> tuple[str, str]:
        """``base`` (``LIMIT = 1``) and ``user``, which reads ``base.LIMIT`` when imported
        (``SEEN``), both imported; their real names."""
        base, user = self.name("base"), self.name("user")
        self.write("base.py", "LIMIT = 1\n")
        self.write("user.py", f"from {base} import LIMIT\nSEEN = LIMIT\n")
        self.import_("user")
        return base, user

    def reload(self) -> Report:
        return self.reloader.reload(self.user_ns)

    def cleanup(self) -> None:
        self.reloader.stop()
        for name in [name for name in sys.modules if name.startswith(self.prefix)]:
            del sys.modules[name]


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    space = Workspace(tmp_path)
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()
    space.reloader.start()
    try:
        yield space
    finally:
        space.cleanup()
        sys.path.remove(str(tmp_path))
        importlib.invalidate_caches()


@contextlib.contextmanager
def waiting_thread_descriptor(watcher: FileWatcher) -> Iterator[tuple[int, Inotify]]:
    """What the compile-ahead thread holds: a duplicate descriptor and the inotify instance."""
    waitable = watcher.events_descriptor()
    assert waitable is not None
    try:
        yield waitable
    finally:
        os.close(waitable[0])


@contextlib.contextmanager
def ahead_work_done_here(reloader: Reloader) -> Iterator[tuple[int, Inotify]]:
    """The compile-ahead thread stopped: its work is done on the test's thread, at known
    moments, through what it would hold (see ``waiting_thread_descriptor``)."""
    thread = reloader._ahead_thread
    assert thread is not None
    thread.stop()
    with waiting_thread_descriptor(reloader._watcher) as waitable:
        yield waitable
