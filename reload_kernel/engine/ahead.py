"""Compile an edited module as soon as it is saved, while the notebook waits for the next cell.

A user saves in the editor, then goes to the notebook and runs a cell: there is human time
between the two. The ``AheadThread`` spends it. Woken by the watcher's inotify queue, it reads
each edited module, compiles it and classifies the edit (``prepare_ahead``): the part of a
reload that runs no module code. The cell's reload step then only runs the module and updates
its objects.

Nothing here can make a cell miss or mistake an edit: the reload step still drains the watcher
and reads every suspect itself, and uses a prepared result only for the very bytes it was
prepared from. At worst a result goes unused. The thread never runs module code, never touches
a module, and never holds the reloader's lock while it compiles.

Warnings: the compiler prints some (``SyntaxWarning: "is" with a literal``, invalid escape
sequences). Printed from this thread they would land in whatever cell ran last, and the cell
that loads the module would not show them. So the thread compiles where the compiler's
warnings are errors (``compile_warnings.warnings_raised``): a version that warns is not
prepared, and the reload step compiles it in the cell, warnings shown there as before. While
some earlier filter would show such a warning anyway, nothing is prepared.

What it costs: a save while a cell runs takes the compile's time (about a millisecond for a
small module) from that cell, as the thread needs the GIL. So between two reload steps the
thread prepares a few small modules only (``AHEAD_LIMIT``, ``AHEAD_MAX_BYTES``), as often as
they are saved: a checkout rewriting many files is left to the reload step, which compiles
them all at once anyway.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import os
import select
import threading
from collections.abc import Callable
from typing import NamedTuple

from .compile_warnings import warnings_become_errors, warnings_raised
from .detect import SourceSnapshot, read_snapshot
from .diff import PARSE_ERRORS, ModuleShape, shape_of
from .load import (
    CompiledSource,
    ModuleLoadError,
    compile_snapshot,
    compile_spliced,
    shape_of_source,
    without_tree,
)

#: At most this many modules are prepared between two reload steps; more means a checkout or
#: a generator rewrote many files, and the reload step compiles them.
AHEAD_LIMIT = 8
#: Larger files are left to the reload step: compiling one may take the GIL from a running
#: cell for tens of milliseconds.
AHEAD_MAX_BYTES = 512 * 1024


class AheadJob(NamedTuple):
    """A tracked module whose file may have changed, as the reloader knew it at that moment."""

    name: str
    path: str
    drained: int
    """The number of the drain of the watcher's queue that named the file (see
    ``Reloader._read_ahead``): the file is read after it."""
    loaded: bytes
    """The version running."""
    failed: bytes | None
    """Its newest version that failed to load, if any."""
    prepared: Ahead | None
    """What the thread prepared for it before, if anything (not taken by a step yet)."""
    previous_shape: ModuleShape | None
    """The running version's shape, when known."""


class Ahead(NamedTuple):
    """A version of a module compiled ahead of the cell."""

    name: str
    path: str
    drained: int
    loaded: bytes
    """The version that was running when this was prepared."""
    data: bytes
    compiled: CompiledSource
    """Compiled, without its syntax tree (see ``load.without_tree``)."""
    shape: ModuleShape | None
    loaded_shape: ModuleShape | None
    """The running version's shape, when it had to be made here."""

    def for_snapshot(self, snapshot: SourceSnapshot) -> CompiledSource:
        """The compiled source, as if compiled from ``snapshot`` (which holds the same bytes:
        its stamp is the one the reload step read them under)."""
        return self.compiled._replace(snapshot=snapshot)


def prepare_ahead(job: AheadJob) -> Ahead | None:
    """Read the module's file and compile it; None when there is nothing new to prepare, or
    when the version is better compiled by the reload step (it warns, or does not compile:
    the step reports that in the cell, with the file's own name)."""
    try:
        snapshot = read_snapshot(job.path)
    except OSError:
        return None  # the reload step reports unreadable files
    data = snapshot.data
    if data in (job.loaded, job.failed) or len(data) > AHEAD_MAX_BYTES:
        return None
    if not data.strip():
        return None  # an empty version costs the step nothing to compile
    if job.prepared is not None and data == job.prepared.data:
        # Compiled already; saved again with the same bytes (some editors write a file twice)
        # and read after this drain, which tells the step it need not read it
        # (``Reloader._read_ahead``). The very bytes object is kept: what was found for it is
        # remembered by identity.
        snapshot = snapshot._replace(data=job.prepared.data)
        compiled = job.prepared.compiled._replace(snapshot=snapshot)
        return job.prepared._replace(drained=job.drained, compiled=compiled)
    if not warnings_become_errors(job.path):
        return None
    try:
        with warnings_raised():
            loaded_shape = job.previous_shape
            if loaded_shape is None:  # the running version's, as Reloader._shape makes it
                loaded_shape = shape_of_source(job.loaded, job.path)
            compiled, shape = _compiled_with_shape(job.name, snapshot, loaded_shape)
    except (ModuleLoadError, Warning, *PARSE_ERRORS):  # (Warning: one not made a SyntaxError)
        return None
    made_here = loaded_shape if job.previous_shape is None else None
    return Ahead(job.name, job.path, job.drained, job.loaded, data, compiled, shape, made_here)


def _compiled_with_shape(
    name: str, snapshot: SourceSnapshot, loaded_shape: ModuleShape
) -> tuple[CompiledSource, ModuleShape]:
    """The changed statements spliced into the running version's shape when they can be, else
    the whole source parsed (as the reload step does)."""
    parse_piece = functools.partial(ast.parse, filename=snapshot.path)
    spliced = compile_spliced(name, snapshot, loaded_shape, parse_piece)
    if spliced is not None:
        return spliced
    compiled = compile_snapshot(name, snapshot)
    return without_tree(compiled), shape_of(compiled.tree, compiled.text, loaded_shape)


class AheadThread:
    """A daemon thread calling ``on_events()`` whenever ``descriptor`` (a duplicate of the
    watcher's inotify descriptor, owned and closed by this thread) has events queued.

    ``on_events`` returns False when the thread should end (the watcher stopped using that
    inotify instance). ``stop()`` ends it from any other thread, and must be called once the
    thread is no longer wanted (it closes the pipe that wakes the thread).
    """

    def __init__(self, descriptor: int, on_events: Callable[[], bool]) -> None:
        self._descriptor = descriptor
        self._on_events = on_events
        self._wake_reader, self._wake_writer = os.pipe()
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="reload_kernel: compile ahead", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait for it (it may be waiting for the reloader's lock: the
        caller must not hold it)."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        with contextlib.suppress(OSError):  # the thread ended on its own, closing its end
            os.write(self._wake_writer, b"x")
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        os.close(self._wake_writer)  # closed here only: the thread never writes to it

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._descriptor, select.POLLIN)
        poller.register(self._wake_reader, select.POLLIN)
        broken = select.POLLERR | select.POLLHUP | select.POLLNVAL
        try:
            while not self._stopping.is_set():
                ready = poller.poll()
                if self._stopping.is_set() or any(flags & broken for _, flags in ready):
                    return
                try:
                    if not self._on_events():
                        return
                except Exception:  # a bug here must not end anything but this thread's help
                    return
        finally:
            for descriptor in (self._descriptor, self._wake_reader):
                with contextlib.suppress(OSError):
                    os.close(descriptor)
