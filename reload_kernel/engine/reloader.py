"""The reload step: what changed → in what order → load → update in place → rebind → report.

``Reloader`` is the one object holding the engine's state. ``reload()`` is called before each
cell; it returns a ``Report`` and never lets a module's error escape. Only the user's interrupt
(KeyboardInterrupt) escapes, after the whole step has been rolled back: every module is then
exactly as before the step, and the next step finds the same changes again (see ``interrupts``).
"""

from __future__ import annotations

import ast
import contextlib
import copy
import errno
import functools
import gc
import linecache
import os
import re
import sys
import threading
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from .ahead import AHEAD_LIMIT, Ahead, AheadJob, AheadThread, prepare_ahead
from .compile_warnings import install_warning_filter, warnings_become_errors, warnings_raised
from .detect import FileState, SourceSnapshot, decode_source, read_snapshot, stat_stamp
from .diff import (
    PARSE_ERRORS,
    EditKind,
    ModuleShape,
    classify_edit,
    common_ends,
    shape_of,
)
from .graph import RUNS_CODE, STAR, import_edges, reload_groups
from .hook import ImportRecorder
from .interrupts import InterruptGuard
from .load import (
    CompiledSource,
    ModuleLoadError,
    NotReloadableError,
    compile_snapshot,
    compile_spliced,
    parse_source,
    patch_bodies,
    rerun,
    shape_of_source,
    without_tree,
)
from .patch import MISSING, UndoLog
from .rebind import NotebookBindings, public_names
from .report import (
    FileMissing,
    IdentityLost,
    ModuleReloaded,
    ReloadFailed,
    ReloadMode,
    Report,
)
from .usercode import UserCodePolicy
from .watch import FileWatcher, Inotify

#: The longest a step waits for the ahead thread to finish compiling a module it needs.
_AHEAD_WAIT_SECONDS = 1.0

Dependencies = dict[str, set[str]]
"""For one module: each module its import-time code uses → the names it reads there, with
``STAR`` for a star import and ``RUNS_CODE`` when it ran that module's code (see ``graph``)."""


class Reloader:
    """Keeps the user's modules in step with their files.

    ``start()`` installs the import recorder; ``reload(user_ns)`` brings every changed module up
    to date and rebinds the notebook's names; ``record_cell(source, user_ns)`` tells it which
    names a cell imported. All three are safe to call from any thread: one reload runs at a time.
    """

    def __init__(self, policy: UserCodePolicy | None = None, *, poll: bool | None = None) -> None:
        """``poll``: True checks every tracked file before every cell instead of asking the
        operating system which changed (see ``watch``); None reads ``RELOAD_KERNEL_POLL``."""
        self.policy = policy or UserCodePolicy()
        self.bindings = NotebookBindings()
        self._recorder = ImportRecorder(self.policy.is_user_path)
        self._files: dict[str, FileState] = {}
        self._shapes: dict[str, ModuleShape] = {}
        self._dependencies: dict[str, tuple[bytes, Dependencies]] = {}
        """Each module's import-time uses of modules, with the version they were read from."""
        self._named_none: dict[str, tuple[bytes, list[_Needle]]] = {}
        """A version of a module (``_searchable``) that names none of these needles' modules
        (the list of a graph's candidates, see ``_names_none_of``)."""
        self._importers = _ImporterIndex()
        self._last_graph = _Graph((), {}, [])
        """The previous step's edges and reload order, reused for the versions that stayed."""
        self._prepared: dict[str, _Prepared] = {}
        """The changed modules of the step in progress, compiled once (or why they cannot be)."""
        self._ahead: dict[str, Ahead] = {}
        """Versions saved since the last step, compiled ahead of the cell (see ``ahead``)."""
        self._ahead_in_flight: set[str] = set()
        """Modules the ahead thread is compiling now: the step waits for them."""
        self._ahead_changed = threading.Condition()
        """Guards the two above (the ahead thread compiles without the reloader's lock)."""
        self._ahead_thread: AheadThread | None = None
        self.compile_ahead = True
        """Whether saved modules are compiled ahead of the cell (off while the kernel's
        reloading is paused: until a step runs, nothing would use them)."""
        self._drains = 0
        self._last_drained: dict[str, int] = {}
        """Each file the watcher named: the number of the drain that named it last."""
        self._ahead_modules: set[str] = set()
        """Modules the ahead thread went to prepare since the last step (see AHEAD_LIMIT)."""
        self._dependents_memo: tuple[tuple[Any, ...], tuple[str, ...]] | None = None
        """The last ``_with_dependents`` answer, with what it depended on."""
        self._poll = poll
        self._watcher = FileWatcher(poll=poll)
        self._names_by_path: dict[str, set[str]] = {}
        self._tracking_order: dict[str, int] = {}
        self._tracked_count = 0
        self._unsettled: set[str] = set()
        """Suspects not looked at yet (a step interrupted while looking keeps them)."""
        self._found: dict[str, bytes] = {}
        """The changes found at the last look (module → the bytes found): looked at again, in
        case no load settled them."""
        self._examined_modules: set[str] = set()
        """Names in sys.modules already looked at (user code or not): each is looked at once."""
        self._modules_counted = -1
        self._failures: dict[str, ReloadFailed] = {}
        self._lock = threading.Lock()
        self._guard = InterruptGuard()
        self._step_undo = UndoLog()
        """What the reload step in progress changed, to put back if the user interrupts it."""
        self._replaced: UndoLog | None = None
        """The last step's record of the versions it replaced, until ``let_go_of_replaced``."""

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Record imports from now on, and track the user modules already imported."""
        with self._lock:
            if self._watcher.closed:
                self._watcher = FileWatcher(poll=self._poll)
                for path in self._names_by_path:
                    self._watcher.add(path)
            self._recorder.install()
            self._track_new_modules()
            install_warning_filter()  # (see _compile)
            self._start_ahead_thread()

    def stop(self) -> None:
        with self._lock:
            self._recorder.uninstall()
            self._watcher.close()
            thread, self._ahead_thread = self._ahead_thread, None
        if thread is not None:
            thread.stop()  # (outside the lock: the thread may be waiting for it)

    @property
    def tracked_modules(self) -> list[str]:
        """Names of the modules being watched, in the order they were first seen."""
        return list(self._files)

    @property
    def failures(self) -> list[ReloadFailed]:
        """Modules whose newest version failed to load: they still run their previous one."""
        return list(self._failures.values())

    def exclude(self, names: Iterable[str]) -> None:
        """Stop tracking these modules and packages (a package covers its submodules)."""
        with self._lock:
            self.policy.add_exclusions(names)
            for name in [name for name in self._files if self.policy.is_excluded(name)]:
                self._forget(name)

    def cell_may_bind(self, text: str) -> bool:
        """False when recording this cell would surely change nothing (see ``may_change``)."""
        with self._lock:
            return self.bindings.may_change(text)

    def record_cell(self, source: str, user_ns: MutableMapping[str, Any]) -> None:
        with self._lock:
            self.bindings.record_cell(source, user_ns)

    # --- the reload step ------------------------------------------------------------------

    def reload(self, user_ns: MutableMapping[str, Any] | None = None) -> Report:
        """Bring every changed user module up to date; report what happened."""
        with self._lock:
            if self._nothing_to_look_at():
                return Report()
            return self._reload_step(user_ns)

    def up_to_date(self) -> bool:
        """Whether ``reload()`` now would surely find nothing to do (most cells): what a caller
        that only wants to know may ask instead, for less (no report is made)."""
        with self._lock:
            return self._nothing_to_look_at()

    def _nothing_to_look_at(self) -> bool:
        """No module imported or forgotten since the last step, no change left to look at,
        and the watcher knows of no write: most cells. They skip even the interrupt guard
        (two ``sigaction`` calls)."""
        if self._recorder.has_records() or self._unsettled or self._found:
            return False
        return len(sys.modules) == self._modules_counted and self._watcher.quiet()

    def let_go_of_replaced(self) -> None:
        """Free the versions the last reload step replaced (its record of the old functions'
        code and of the namespaces before): tens of microseconds to a millisecond of freeing,
        which a caller that waits for nothing (the kernel, once a cell's reply is sent) can
        take off the cell's path. Else the next reload step frees them first."""
        with self._lock:
            replaced, self._replaced = self._replaced, None
        del replaced  # (outside the lock: finalizers of the old objects may run now)

    @property
    def holds_replaced(self) -> bool:
        """Whether there is something for ``let_go_of_replaced`` to free."""
        return self._replaced is not None

    def _reload_step(self, user_ns: MutableMapping[str, Any] | None) -> Report:
        self._replaced = None  # (before new versions are made: at most one old one at a time)
        with InterruptGuard() as self._guard:
            report = Report()
            self._step_undo = UndoLog()
            try:
                self._track_new_modules()
                changes = self._find_changes(report)
                if changes:
                    self._reload_batch(changes, report)
                self._guard.checkpoint()
            except KeyboardInterrupt:
                # The user interrupted: the step is abandoned as a whole, every module it
                # loaded put back, and the next step finds the same changes again.
                self._step_undo.rollback()
                raise
            finally:
                # Nothing can be rolled back any more; the old versions are let go later.
                self._replaced, self._step_undo = self._step_undo, UndoLog()
            if user_ns is not None and report.reloaded:
                report.rebound = self.bindings.rebind(
                    user_ns, [entry.module for entry in report.reloaded]
                )
            return report

    # --- ahead of the cell (on the ahead thread) ------------------------------------------

    def _start_ahead_thread(self) -> None:
        if self._ahead_thread is not None:
            return
        waitable = self._watcher.events_descriptor()
        if waitable is None:
            return  # polling: nothing says when a file is saved
        descriptor, inotify = waitable
        self._ahead_thread = AheadThread(
            descriptor, lambda: self._prepare_ahead(inotify, descriptor)
        )
        self._ahead_thread.start()

    def _prepare_ahead(self, inotify: Inotify, descriptor: int) -> bool:
        """Take the watcher's news and compile the edited modules, as ``_prepare`` would.

        Called on the ahead thread whenever events are queued on ``descriptor`` (the thread's
        duplicate of ``inotify``'s); returns False once the watcher no longer uses ``inotify``.
        """
        if not inotify.take_queued(descriptor):
            # No save ended (an editor truncated the file and is writing it): the event that
            # ends it wakes the thread again. The events wait for the next drain.
            return True
        with self._lock:
            if not self._watcher.delivers_to(inotify):
                return False
            self._drain_watcher()
            # Only files saved whole: one still being written (an editor truncates, then
            # writes, then closes it) is read once its writer closes it, which wakes us again.
            saved = self._watcher.saved
            if not saved or not self.compile_ahead:
                return True
            with self._ahead_changed:
                jobs = self._ahead_jobs(saved)
                self._ahead_in_flight.update(job.name for job in jobs)
        prepared: list[Ahead | None] = []
        try:
            for job in jobs:  # compiled without the lock: a step may run meanwhile
                prepared.append(prepare_ahead(job))
        finally:
            with self._ahead_changed:
                for job, ahead in zip(jobs, prepared, strict=False):  # shorter if one raised
                    if ahead is not None:
                        self._ahead[job.name] = ahead
                self._ahead_in_flight.clear()
                self._ahead_changed.notify_all()
        compiled_now = [
            ahead
            for job, ahead in zip(jobs, prepared, strict=True)
            if ahead is not None and (job.prepared is None or ahead.data is not job.prepared.data)
        ]
        if compiled_now:  # (a version read again, compiled before, was planned then)
            with self._lock:
                self._plan_ahead()
            with self._ahead_changed:
                self._ahead_changed.notify_all()  # (tests wait for the plan too)
        return True

    def _plan_ahead(self) -> None:
        """Find the dependents of what was prepared, and their order, as the step will (it
        finds them remembered: see ``_with_dependents`` and ``_graph_among``)."""
        with self._ahead_changed:
            aheads = list(self._ahead.items())
        # The changes the step will find: the versions it will take from the thread.
        changes = {}
        for name, ahead in aheads:
            state = self._files.get(name)
            if state is not None and self._read_ahead(name, state) is not None:
                changes[name] = ahead.compiled.snapshot
        if changes:
            ordered = dict(sorted(changes.items(), key=lambda item: self._tracking_order[item[0]]))
            self._graph_for(ordered)

    def _ahead_jobs(self, suspects: set[str]) -> list[AheadJob]:
        """(With both the lock and ``_ahead_changed`` held.)"""
        names = [name for path in suspects for name in self._names_by_path.get(path, ())]
        if len(self._ahead_modules.union(names)) > AHEAD_LIMIT:
            return []  # many files since the last step: the step compiles them
        self._ahead_modules.update(names)
        jobs = []
        for name in names:
            state = self._files[name]
            jobs.append(
                AheadJob(
                    name,
                    state.loaded.path,
                    self._drains,
                    state.loaded.data,
                    state.failed_data,
                    self._ahead.get(name),
                    self._shapes.get(name),
                )
            )
        return jobs

    def _prepared_version(self, name: str, snapshot: SourceSnapshot, splice: bool) -> _Prepared:
        """The changed module compiled: ahead of the cell when that was these very bytes."""
        ahead = self._take_ahead(name)
        if ahead is None or ahead.path != snapshot.path or ahead.data != snapshot.data:
            return self._compile(name, snapshot, splice)
        state = self._files[name]
        if ahead.loaded_shape is not None and ahead.loaded == state.loaded.data:
            self._shapes.setdefault(name, ahead.loaded_shape)
        return _Prepared(snapshot, ahead.for_snapshot(snapshot), ahead.shape)

    def _take_ahead(self, name: str) -> Ahead | None:
        """What the ahead thread prepared for ``name`` (``_find_changes`` waited for it; the
        thread takes no new work while the step holds the lock)."""
        with self._ahead_changed:
            return self._ahead.pop(name, None)

    def _wait_for_ahead(self, names: Collection[str]) -> None:
        """Wait while the ahead thread reads and compiles any of ``names`` (a cell sent just
        after a save): doing it twice would only make the cell wait longer."""
        if self._ahead_in_flight.isdisjoint(names):
            # (Read without the condition's lock: the thread adds modules to it only while
            # holding the reloader's lock, which the step holds.)
            return
        with self._guard.interruptible(), self._ahead_changed:
            self._ahead_changed.wait_for(
                lambda: self._ahead_in_flight.isdisjoint(names), timeout=_AHEAD_WAIT_SECONDS
            )

    # --- what is tracked ------------------------------------------------------------------

    def _track_new_modules(self) -> None:
        for name, snapshot in self._recorder.take_records().items():
            module = sys.modules.get(name)
            if module is None or self.policy.is_excluded(name):
                continue
            path = self.policy.source_path(module)
            # None: the module replaced itself in sys.modules. Tracked, to say so when edited.
            if path == snapshot.path or path is None:
                self._track(name, snapshot)
        if len(sys.modules) != self._modules_counted:
            self._scan_sys_modules()

    def _scan_sys_modules(self) -> None:
        """Track user modules imported around our recorder; forget modules no longer loaded.

        Only names that appeared or vanished since the last scan are looked at (set
        differences run in C), so a cell importing one library does not re-examine them all.
        """
        self._modules_counted = len(sys.modules)
        gone = self._examined_modules.difference(sys.modules)
        appeared = sys.modules.keys() - self._examined_modules
        self._examined_modules -= gone
        for name in gone:
            if name in self._files:
                self._forget(name)
        for name in appeared:
            module = sys.modules.get(name)
            if module is None:
                continue  # an import blocked with None: looked at again if a module comes
            self._examined_modules.add(name)
            if name not in self._files:
                self._track_loaded_module(name, module)

    def _track_loaded_module(self, name: str, module: ModuleType) -> None:
        path = self.policy.source_path(module)
        if path is None:
            return
        try:
            snapshot = read_snapshot(path)
        except OSError:
            return  # its file is already gone or unreadable: nothing to reload from
        self._track(name, snapshot)

    def _track(self, name: str, snapshot: SourceSnapshot) -> None:
        previous = self._files.get(name)
        if previous is not None and previous.loaded.path != snapshot.path:
            self._stop_watching(name, previous.loaded.path)
        self._files[name] = FileState(snapshot)
        self._shapes.pop(name, None)
        self._importers.set_source(name, snapshot.data)
        if name not in self._tracking_order:
            self._tracking_order[name] = self._tracked_count
            self._tracked_count += 1
        self._names_by_path.setdefault(snapshot.path, set()).add(name)
        # The watcher reports a new file once: edits between its import and now are seen.
        self._watcher.add(snapshot.path)

    def _stop_watching(self, name: str, path: str) -> None:
        names = self._names_by_path.get(path, set())
        names.discard(name)
        if not names:
            self._names_by_path.pop(path, None)
            self._last_drained.pop(path, None)
            self._watcher.remove(path)

    def _forget(self, name: str) -> None:
        self._stop_watching(name, self._files[name].loaded.path)
        self._tracking_order.pop(name, None)
        del self._files[name]
        self._failures.pop(name, None)
        self._shapes.pop(name, None)
        with self._ahead_changed:
            self._ahead.pop(name, None)
        self._dependencies.pop(name, None)
        self._named_none.pop(name, None)
        self._importers.remove(name)

    # --- what changed ---------------------------------------------------------------------

    def _find_changes(self, report: Report) -> dict[str, SourceSnapshot]:
        """Look only at the files the watcher suspects (all of them when it polls)."""
        self._drain_watcher()
        self._unsettled |= self._changes_not_taken()
        names = [name for path in self._unsettled for name in self._names_by_path.get(path, ())]
        names.sort(key=self._tracking_order.__getitem__)
        if names:
            self._wait_for_ahead(names)
        changes: dict[str, SourceSnapshot] = {}
        for name in names:
            state = self._files[name]
            snapshot = self._read_ahead(name, state) or self._changed_snapshot(name, state, report)
            if snapshot is not None:
                changes[name] = snapshot
        self._unsettled = set()
        self._found = {name: snapshot.data for name, snapshot in changes.items()}
        self._ahead_modules = set()
        return changes

    def _drain_watcher(self) -> set[str]:
        """The files the watcher names now, noted with the number of this drain."""
        # Until looked at, the suspects stay unsettled: an interrupt loses none of them.
        self._drains += 1
        suspects = self._watcher.take_suspects()
        for path in suspects:
            self._last_drained[path] = self._drains
        self._unsettled |= suspects
        return suspects

    def _read_ahead(self, name: str, state: FileState) -> SourceSnapshot | None:
        """The version the ahead thread read, when the file surely still holds it: the thread
        read it after the drain that last named the file, and inotify queues an event for any
        write made since (the step drained it just now). None: read the file."""
        with self._ahead_changed:
            ahead = self._ahead.get(name)
        if ahead is None or self._last_drained.get(ahead.path) != ahead.drained:
            return None
        if state.loaded.path != ahead.path or ahead.data in (state.loaded.data, state.failed_data):
            return None
        return ahead.compiled.snapshot

    def _changes_not_taken(self) -> set[str]:
        """Files whose change found at the last look neither runs nor is known to fail.

        The watcher reports a write once. A change that was found but not loaded (the step was
        interrupted and rolled back, a dependency failed first, the module went away) would be
        missed if nobody looked again.
        """
        paths = set()
        for name, data in self._found.items():
            state = self._files.get(name)
            if state is not None and data != state.loaded.data and data != state.failed_data:
                paths.add(state.loaded.path)
        self._found = {}
        return paths

    def _changed_snapshot(
        self, name: str, state: FileState, report: Report
    ) -> SourceSnapshot | None:
        path = state.loaded.path
        try:
            stamp = stat_stamp(path)
        except OSError as error:  # e.g. its folder lost search permission
            self._report_unreadable(name, path, state, error, report)
            return None
        if stamp is None and os.path.islink(path):
            broken = OSError(errno.ENOENT, "broken symbolic link", path)
            self._report_unreadable(name, path, state, broken, report)
            return None
        if stamp is None:
            if state.reported_problem != "missing":
                state.reported_problem = "missing"
                report.missing.append(FileMissing(name, path))
            return None
        if state.stamp_is_trusted(stamp):
            return None
        try:
            snapshot = read_snapshot(path)
        except OSError as error:
            self._report_unreadable(name, path, state, error, report)
            return None
        if snapshot.data == state.loaded.data:
            state.confirm_unchanged(snapshot)
            state.reported_problem = None
            # Back to the version that runs: a later save of the broken version is news again.
            state.failed_data = None
            self._failures.pop(name, None)
            return None
        if snapshot.data == state.failed_data:
            return None  # this version already failed and was reported
        return snapshot

    def _report_unreadable(
        self, name: str, path: str, state: FileState, error: OSError, report: Report
    ) -> None:
        problem = f"{type(error).__name__}: {error.strerror or error}"
        if state.reported_problem != problem:
            state.reported_problem = problem
            message = f"cannot read the file ({error.strerror or error})"
            failure = ReloadFailed(name, path, type(error).__name__, message)
            self._failures[name] = failure
            report.failed.append(failure)

    # --- in what order --------------------------------------------------------------------

    def _uses(self, name: str, data: bytes | None = None) -> Dependencies:
        """What ``name``'s import-time code uses of each other module that may exist: target →
        the names it reads there, with ``STAR`` and ``RUNS_CODE`` (see ``graph``). Read from
        ``data`` when given (a version not running yet), else from the running one.

        Read once per version and filtered by the caller: the tracked set changes with every
        import, a version's edges do not.
        """
        if data is None:
            data = self._files[name].loaded.data
        cached = self._dependencies.get(name)
        if cached is None or cached[0] != data:
            cached = self._dependencies[name] = (data, self._parse_dependencies(name, data))
        return cached[1]

    def _dependencies_among(
        self,
        name: str,
        data: bytes | None,
        modules: Collection[str],
        needles: Callable[[], list[_Needle]],
    ) -> Dependencies:
        """What ``name`` (its version ``data``, else the running one) uses of ``modules``
        (whose ``_needle``s are ``needles``).

        Not parsed when its source names none of them (see ``_may_import``).
        """
        if data is None:
            data = self._files[name].loaded.data
        cached = self._dependencies.get(name)
        if cached is None or cached[0] != data:
            made = needles()
            itself = _needle(name)
            others = [needle for needle in made if needle != itself]
            if not others:
                return {}  # nothing else to go through: its edges cannot matter
            if self._names_none_of(name, _searchable(data), others, made):
                return {}
        uses = self._uses(name, data)
        return {target: names for target, names in uses.items() if target in modules}

    def _names_none_of(
        self, name: str, searchable: bytes, others: list[_Needle], made: list[_Needle]
    ) -> bool:
        """Whether this version of ``name`` (``_searchable``) surely imports none of the
        modules of ``others`` (``made`` less its own needle).

        A module edited again and again, that named none of them before, is searched only
        where it changed (see ``_changed_region``), not split into words whole each time.
        """
        earlier = self._named_none.get(name)
        many = len(others) > _WORTH_SPLITTING_INTO_WORDS
        if many and earlier is not None and earlier[1] is made and all(n[2] for n in others):
            # (The same needles as then: ``made`` is remade whenever the candidates change.)
            new_words = set(_ASCII_WORD.findall(_changed_region(earlier[0], searchable)))
            named = not new_words.isdisjoint([spelled for _, spelled, _ in others])
        else:
            words = _words(searchable) if many else None
            named = any(_may_import(name, searchable, needle, words) for needle in others)
        if named:
            self._named_none.pop(name, None)
        else:
            self._named_none[name] = (searchable, made)
        return not named

    def _parse_dependencies(self, name: str, data: bytes) -> Dependencies:
        package = getattr(sys.modules.get(name), "__package__", None) or ""
        prepared = self._prepared.get(name)
        # Parsed already to be compiled: not parsed twice.
        known, tree = prepared.edges_source(data) if prepared is not None else (False, None)
        if not known:
            tree = _parse_or_none(data, self._files[name].loaded.path)
        dependencies: Dependencies = {}
        # A version that cannot compile runs nothing, so it uses nothing.
        for edge in import_edges(tree, name, package) if tree is not None else ():
            if edge.target != name:
                dependencies.setdefault(edge.target, set()).update(edge.names)
        return dependencies

    def _newest_source(self, name: str, changes: dict[str, SourceSnapshot]) -> bytes | None:
        """The bytes on disk when they are not the version running: just changed, or saved
        earlier and failed to load (that version is what a restart would import)."""
        snapshot = changes.get(name)
        return snapshot.data if snapshot is not None else self._files[name].failed_data

    def _graph_for(self, changes: dict[str, SourceSnapshot]) -> _Graph:
        """The graph of the changed modules and their dependents."""
        key = self._dependents_key(changes)
        return self._graph_among(self._with_dependents(changes, key), changes, key)

    def _with_dependents(
        self, changes: dict[str, SourceSnapshot], key: tuple[Any, ...]
    ) -> list[str]:
        """The changed modules and every tracked module importing them, directly or not, in
        tracking order (``key``: ``_dependents_key(changes)``).

        Only modules that may import a changed module are parsed (see ``_ImporterIndex``),
        each version once: neither a new import nor an edit re-reads every tracked module.
        """
        if self._dependents_memo is not None and self._dependents_memo[0] == key:
            return list(self._dependents_memo[1])
        # The index knows the running versions; a newer version on disk is asked directly.
        newer = [name for name in [*changes, *self._failures] if name in self._files]
        affected = set(changes)
        pending = list(affected)
        while pending:
            target = pending.pop()
            needle = _needle(target)
            for suspect in self._importers.suspects(target).union(newer):
                if suspect in affected or suspect == target:
                    continue
                newest = self._newest_source(suspect, changes)
                # The index vouches only for running versions: a newer one is searched here
                # before it is parsed (an edited module rarely imports its own dependents).
                if newest is not None and not _may_import(suspect, _searchable(newest), needle):
                    continue
                if target in self._uses(suspect, newest):
                    affected.add(suspect)
                    pending.append(suspect)
        found = sorted(affected, key=self._tracking_order.__getitem__)
        self._dependents_memo = (key, tuple(found))
        return found

    def _dependents_key(self, changes: dict[str, SourceSnapshot]) -> tuple[Any, ...]:
        """All ``_with_dependents`` depends on: which modules changed, the versions that
        failed (the very bytes objects), and the running versions of the other modules.

        Not the changed modules' own versions, old or new: they are affected from the start,
        never asked whether they import another. So editing one module again and again
        finds its dependents once, as long as no other module is loaded or forgotten.
        """
        return (self._importers.moves_by_others(changes), tuple(changes), self._failed_versions())

    def _failed_versions(self) -> tuple[tuple[str, _Same], ...]:
        """The newest version of each module that failed to load (the very bytes objects)."""
        failed = [(name, self._files[name].failed_data) for name in self._failures]
        return tuple((name, _Same(data)) for name, data in failed if name in self._files)

    # --- load, update in place ------------------------------------------------------------

    def _reload_batch(self, changes: dict[str, SourceSnapshot], report: Report) -> None:
        """Load the changed modules and run again the dependents that used what changed.

        Modules go in dependency order, read from their newest source (a version that changes
        its imports is ordered by its new imports). Modules importing each other form a group
        that is gone through until no member is due any more; every module is loaded at most
        once per step, and a failure stops only the modules that needed it.
        """
        try:
            with _collector_paused():
                graph = self._prepare(changes)
            self._reload_in_order(changes, graph, report)
        finally:
            self._prepared = {}

    def _prepare(self, changes: dict[str, SourceSnapshot]) -> _Graph:
        """Compile the changed modules, find what to go through, and the edges between them.

        The syntax trees are needed only here, and let go before any module code runs (see
        ``_collector_paused``).
        """
        self._prepared = {}
        # One module edited rarely imports another candidate (its dependents): parsing only its
        # changed statements pays. Many at once (a checkout) mostly import each other: the whole
        # syntax tree, made to compile each, also gives its imports (not parsed twice).
        splice = len(changes) <= AHEAD_LIMIT
        for name, snapshot in changes.items():
            self._prepared[name] = self._prepared_version(name, snapshot, splice)
        graph = self._graph_for(changes)
        for name, prepared in self._prepared.items():
            if prepared.tree is not None:
                prepared.shape = shape_of(prepared.tree, prepared.text, self._shape(name))
                prepared.tree = None
        return graph

    def _graph_among(
        self, candidates: list[str], changes: dict[str, SourceSnapshot], others: tuple[Any, ...]
    ) -> _Graph:
        """The edges between the modules to go through (only those matter, to order them and
        to tell which used what changed), and the order to go through them. ``others``:
        ``_dependents_key(changes)``.

        Editing one module again and again goes through the same modules each step: the edges
        of every version the previous step read are taken from it, and so is the order when
        the edges came out the same.
        """
        previous = self._last_graph
        stamp = self._graph_stamp(candidates, changes, others)
        if previous.stamp == stamp:
            return previous  # (the ahead thread's plan, taken up by the step)
        same_modules = previous.candidates == tuple(candidates)
        # When no module but the changed ones moved since, only theirs need looking at.
        only_changed = same_modules and previous.others == others
        to_read = list(changes) if only_changed else candidates
        members: set[str] = set(candidates)
        sources = dict(previous.sources) if only_changed else {}
        edges = dict(previous.edges) if only_changed else {}
        made_needles = previous.needles if same_modules else []

        def needles() -> list[_Needle]:
            if not made_needles:
                made_needles.extend(_needle(member) for member in candidates)
            return made_needles

        for name in to_read:
            data = self._newest_source(name, changes)
            if data is None:
                data = self._files[name].loaded.data
            sources[name] = data
            if same_modules and previous.sources.get(name) is data:
                edges[name] = previous.edges[name]
                continue
            edges[name] = self._dependencies_among(name, data, members, needles)
        if same_modules and all(edges[name] == previous.edges[name] for name in to_read):
            groups = previous.groups
        else:
            groups = reload_groups(candidates, edges)
        graph = _Graph(tuple(candidates), sources, groups, edges, made_needles, stamp, others)
        self._last_graph = graph
        return graph

    def _graph_stamp(
        self, candidates: list[str], changes: dict[str, SourceSnapshot], others: tuple[Any, ...]
    ) -> tuple[Any, ...]:
        """All ``_graph_among`` reads: the modules, the running versions of every module (the
        importer index moves whenever one is set or forgotten), the versions the changed ones
        will load (the very bytes objects), and ``others`` (``_dependents_key``: the versions
        that failed among the rest)."""
        return (
            tuple(candidates),
            self._importers.version,
            tuple((name, _Same(snapshot.data)) for name, snapshot in changes.items()),
            others,
        )

    def _reload_in_order(
        self, changes: dict[str, SourceSnapshot], graph: _Graph, report: Report
    ) -> None:
        batch = _Batch()
        edges = graph.edges
        loaded_now = batch.changed_names.keys()
        for group in graph.groups:
            waiting, loaded = list(group), []
            progressed = True
            while waiting and progressed:
                progressed = False
                for name in list(waiting):
                    if name not in changes and loaded_now.isdisjoint(edges[name]):
                        continue  # unchanged, and uses nothing loaded in this step: not due
                    attempt = self._load_if_due(name, changes, edges[name], batch, report)
                    if attempt is None:
                        continue
                    waiting.remove(name)
                    progressed = True
                    if attempt:
                        loaded.append(name)
            if len(group) > 1:
                self._refresh_cycle_imports(loaded, edges, batch)

    def _load_if_due(
        self,
        name: str,
        changes: dict[str, SourceSnapshot],
        dependencies: Dependencies,
        batch: _Batch,
        report: Report,
    ) -> bool | None:
        """Load ``name``, which changed or uses a module loaded in this step, if that makes it
        due. None: nothing to do; else whether it loaded."""
        module = sys.modules.get(name)
        if module is None:
            return None
        state = self._files[name]
        triggers = self._triggering_modules(name, dependencies, batch)
        snapshot = changes.get(name)
        loaded_dependencies = [target for target in dependencies if target in batch.changed_names]
        if snapshot is None and state.failed_data is not None and loaded_dependencies:
            # Its newest version failed, perhaps for want of what just loaded: try it again.
            snapshot = _read_or_none(state.loaded.path)
            triggers = triggers or loaded_dependencies
        if snapshot is None and not triggers:
            return None
        failure_shown = self._failures.get(name)
        outcome = self._load(name, module, snapshot or state.loaded, triggers, report)
        if outcome is None:
            if report.failed and report.failed[-1] == failure_shown:
                report.failed.pop()  # retried and failed just the same: it was shown already
            return False
        batch.changed_names[name], batch.previous_values[name] = outcome
        # _load reports how it loaded: a patch keeps every object, a re-run ran the top level.
        if report.reloaded[-1].mode is ReloadMode.RERUN:
            batch.rerun.add(name)
        return True

    def _triggering_modules(
        self, name: str, dependencies: Dependencies, batch: _Batch
    ) -> list[str]:
        """Modules loaded in this step whose change ``name``'s import-time code used: a name
        it read now holds another object, or it ran code of a module whose top level re-ran."""
        triggers = []
        for target, names in dependencies.items():
            changed = batch.changed_names.get(target)
            if changed is None:
                continue  # not loaded in this step
            runs_rerun_code = RUNS_CODE in names and target in batch.rerun
            star_changed = STAR in names and _star_import_changed(
                sys.modules.get(target), changed, batch.previous_values[target]
            )
            if runs_rerun_code or star_changed or names & changed:
                triggers.append(target)
        return triggers

    def _load(
        self,
        name: str,
        module: ModuleType,
        snapshot: SourceSnapshot,
        triggers: list[str],
        report: Report,
    ) -> tuple[set[str], dict[str, Any]] | None:
        """Load one module. Returns its changed names and their previous values, or None."""
        state = self._files[name]
        undo = UndoLog()
        previous = dict(module.__dict__)
        self._remember_for_rollback(name, module, previous, undo)
        if self.policy.source_path(module) != state.loaded.path:
            cause: Exception = NotReloadableError(
                "the module replaced itself in sys.modules when it was imported, so it cannot "
                "be updated in place (restart the kernel to load this version)"
            )
            self._fail(name, ModuleLoadError(name, snapshot.path, "load", cause), snapshot, report)
            return None
        try:
            prepared = self._prepared.get(name)
            if prepared is None or prepared.snapshot is not snapshot:
                prepared = self._compile(name, snapshot)
            if isinstance(prepared.compiled, ModuleLoadError):
                raise prepared.compiled
            compiled = prepared.compiled
            shape = prepared.shape
            if shape is None:
                shape = shape_of(compiled.tree, compiled.text, previous=self._shape(name))
            kind, functions = classify_edit(self._shape(name), shape)
            patchable = not triggers and kind is not EditKind.TOP_LEVEL
            if patchable and patch_bodies(module, compiled, undo):
                mode = ReloadMode.COSMETIC if kind is EditKind.COSMETIC else ReloadMode.PATCHED
                self._commit(name, compiled, shape, report, mode, functions, triggers)
                return set(), previous
            with self._guard.interruptible():
                outcome = rerun(module, compiled, undo)
        except ModuleLoadError as error:
            if self._guard.caused_by_user(error.cause):
                raise KeyboardInterrupt from error  # the step rolls back: nothing failed
            self._fail(name, error, snapshot, report)
            return None
        except KeyboardInterrupt:
            undo.rollback()
            raise
        except Exception as error:  # a bug of the reloader's: the module must not pay for it
            undo.rollback()
            module.__dict__.clear()
            module.__dict__.update(previous)
            cause = RuntimeError(f"the reloader could not load this version: {error!r}")
            self._fail(name, ModuleLoadError(name, snapshot.path, "load", cause), snapshot, report)
            return None
        for qualname, reason in outcome.identity_lost:
            report.identity_lost.append(IdentityLost(name, qualname, reason))
        self._commit(name, compiled, shape, report, ReloadMode.RERUN, functions, triggers)
        return outcome.changed_names, previous

    def _fail(
        self, name: str, error: ModuleLoadError, snapshot: SourceSnapshot, report: Report
    ) -> None:
        """Report a version that cannot load; it is not tried again until the file changes."""
        self._files[name].failed_data = snapshot.data
        lineno, line = error.location
        cause = error.cause
        message = cause.msg if isinstance(cause, SyntaxError) else str(cause)
        if not message:
            doing = "compiling" if error.phase == "compile" else "running"
            message = f"raised while {doing} the module, with no message"
        failure = ReloadFailed(name, error.path, type(cause).__name__, message, lineno, line)
        self._failures[name] = failure
        report.failed.append(failure)

    def _remember_for_rollback(
        self, name: str, module: ModuleType, previous: dict[str, Any], undo: UndoLog
    ) -> None:
        """Note all that loading ``name`` may change, to put back if the step is interrupted."""
        state = self._files[name]
        saved_state = copy.copy(state)
        saved_failure = self._failures.get(name)
        saved_shape = self._shapes.get(name)
        saved_lines = linecache.cache.get(state.loaded.path)

        def roll_back() -> None:
            undo.rollback()
            module.__dict__.clear()
            module.__dict__.update(previous)
            if self._files.get(name) is state:
                self._files[name] = saved_state
                self._importers.set_source(name, saved_state.loaded.data)
            _put_back(self._failures, name, saved_failure)
            _put_back(self._shapes, name, saved_shape)
            _put_back(linecache.cache, saved_state.loaded.path, saved_lines)

        self._step_undo.record_action(roll_back)

    def _compile(self, name: str, snapshot: SourceSnapshot, splice: bool = True) -> _Prepared:
        """Compiled by the step: the changed statements spliced into the running version's
        shape when asked and that can be done (``load.compile_spliced``), else parsed whole.

        The changed statements are parsed where a warning is an error: then the whole source
        is parsed instead, which shows each warning once, as it should. (Only while no
        warnings filter in front of reload_kernel's would show them twice.)
        """
        try:
            with self._guard.interruptible():
                if splice and warnings_become_errors(snapshot.path):
                    shape = self._shape(name)
                    spliced = compile_spliced(name, snapshot, shape, _parse_raising_warnings)
                    if spliced is not None:
                        return _Prepared(snapshot, *spliced)
                return _Prepared(snapshot, compile_snapshot(name, snapshot))
        except ModuleLoadError as error:
            return _Prepared(snapshot, error)

    def _shape(self, name: str) -> ModuleShape:
        shape = self._shapes.get(name)
        if shape is None:
            loaded = self._files[name].loaded
            try:
                shape = shape_of_source(loaded.data, loaded.path)
            except PARSE_ERRORS:
                shape = shape_of(ast.Module(body=[], type_ignores=[]))
            self._shapes[name] = shape
        return shape

    def _commit(
        self,
        name: str,
        compiled: CompiledSource,
        shape: ModuleShape,
        report: Report,
        mode: ReloadMode,
        functions: list[str],
        triggers: list[str],
    ) -> None:
        snapshot = compiled.snapshot
        self._files[name].mark_loaded(snapshot)
        self._failures.pop(name, None)
        self._shapes[name] = shape
        self._importers.set_source(name, snapshot.data)
        # Pin the source that is now running, so tracebacks show its lines even before the
        # file's mtime moves on (linecache never re-checks entries whose mtime is None).
        lines = compiled.text.splitlines(keepends=True)
        linecache.cache[snapshot.path] = (len(snapshot.data), None, lines, snapshot.path)
        report.reloaded.append(
            ModuleReloaded(name, snapshot.path, mode, tuple(functions), tuple(triggers))
        )

    def _refresh_cycle_imports(
        self, loaded: list[str], graph: dict[str, Dependencies], batch: _Batch
    ) -> None:
        """In an import cycle one module must go first and reads its partner's old values:
        point those names at the partner's new values (without running anything twice)."""
        position = {name: index for index, name in enumerate(loaded)}
        for importer in loaded:
            module = sys.modules.get(importer)
            if module is None:
                continue
            for target, names in graph[importer].items():
                if position.get(target, -1) <= position[importer]:
                    continue  # not loaded, or loaded before the importer ran: it read the new
                target_module = sys.modules.get(target)
                previous = batch.previous_values[target]
                read = _star_names(target_module, previous) if STAR in names else names
                for attribute in read & batch.changed_names[target]:
                    old = previous.get(attribute, MISSING)
                    new = getattr(target_module, attribute, MISSING)
                    if MISSING not in (old, new) and module.__dict__.get(attribute) is old:
                        module.__dict__[attribute] = new
                        batch.changed_names[importer].add(attribute)


@dataclass(frozen=True)
class _Graph:
    """The modules a step goes through, the edges between them, and the order."""

    candidates: tuple[str, ...]
    sources: dict[str, bytes]
    """Each module's version the edges were read from."""
    groups: list[list[str]]
    """Modules importing each other, each group after the groups it imports."""
    edges: dict[str, Dependencies] = field(default_factory=dict)
    needles: list[_Needle] = field(default_factory=list)
    """The candidates' ``_needle``s, once made."""
    stamp: tuple[Any, ...] | None = None
    """What it was found from (see ``Reloader._graph_stamp``)."""
    others: tuple[Any, ...] | None = None
    """What the versions of the modules that did not change depended on (see
    ``Reloader._dependents_key``)."""


class _Prepared:
    """One changed module, compiled before the step loads anything."""

    def __init__(
        self,
        snapshot: SourceSnapshot,
        compiled: CompiledSource | ModuleLoadError,
        shape: ModuleShape | None = None,
    ) -> None:
        """``shape``: known already (prepared ahead of the cell, the tree let go then)."""
        self.snapshot = snapshot
        self.compiled = compiled
        self.tree: ast.Module | None = None
        self.text = ""
        self.shape = shape
        """Its shape, once known: then ``tree`` is let go (see ``_collector_paused``)."""
        if isinstance(compiled, CompiledSource):
            self.text = compiled.text
            if shape is None:
                self.tree = compiled.tree
            self.compiled = without_tree(compiled)

    def edges_source(self, data: bytes) -> tuple[bool, ast.Module | None]:
        """Whether this knows the syntax tree of ``data``, and the tree (None: no tree, as
        it does not compile)."""
        if self.snapshot.data is not data:
            return False, None
        if isinstance(self.compiled, ModuleLoadError):
            return True, None
        return self.tree is not None, self.tree


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while the reloader's own code parses and fingerprints.

    A syntax tree is thousands of objects, freed by reference counting as soon as it is let
    go; but a collection that finds it alive moves it to an older generation, counted towards
    the next full collection. With a scientific stack loaded a full collection walks millions
    of objects (120 ms): one every 50 edits doubled the cost of a reload step. No module code
    runs while the collector is paused.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class _Batch:
    """What one reload step has loaded so far."""

    changed_names: dict[str, set[str]] = field(default_factory=dict)
    """Each module loaded: its names now holding another object (none for a patch)."""
    previous_values: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each module loaded: its namespace before."""
    rerun: set[str] = field(default_factory=set)
    """Modules whose top level ran again."""


def _star_import_changed(
    module: ModuleType | None, changed: set[str], previous: dict[str, Any]
) -> bool:
    """Whether ``from module import *`` now binds other names or other objects."""
    if "__all__" in changed and getattr(module, "__all__", None) != previous.get("__all__"):
        return True  # e.g. a name that existed all along is exported now
    return bool(changed & _star_names(module, previous))


def _star_names(module: ModuleType | None, previous: dict[str, Any]) -> set[str]:
    """Names ``from module import *`` binds, before or after the module's reload."""
    names = set(public_names(module)) if module is not None else set()
    exported = previous.get("__all__")
    if isinstance(exported, (list, tuple)):
        return names | {name for name in exported if isinstance(name, str)}
    return names | {name for name in previous if not name.startswith("_")}


def _parse_or_none(data: bytes, path: str) -> ast.Module | None:
    try:
        return parse_source(data, path)[1]
    except PARSE_ERRORS:
        return None


class _ImporterIndex:
    """Which tracked modules may import a module, found without parsing them all.

    A module imports ``a.b`` only by writing ``b`` (``import a.b``, ``from a import b``,
    ``from .b import x``), or by a relative import of a package it is inside of (``from ..
    import x`` in ``a.b.c`` imports ``a``). So a module whose bytes do not contain ``b`` and
    that is not inside ``a.b`` cannot import it; ``bytes.find`` rules out thousands of modules
    in a millisecond, where parsing them took seconds. A source that is not pure ASCII is
    searched as Python reads its identifiers (see ``_searchable``).

    Suspects of a module are found by one scan the first time they are asked for, then kept
    up to date as modules are tracked, reloaded and forgotten (a new version is sorted in when
    suspects are next asked for: editing one module again and again asks for none).
    """

    def __init__(self) -> None:
        self._sources: dict[str, bytes] = {}
        self._suspects: dict[str, tuple[_Needle, set[str]]] = {}
        self._not_sorted_in: set[str] = set()
        """Modules whose running version changed since the suspects were brought up to date."""
        self.version = 0
        """Moves on whenever a module's running version is set or forgotten."""
        self._moves: dict[str, int] = {}
        """How much of ``version`` each module's own versions moved it."""

    def set_source(self, name: str, data: bytes) -> None:
        """``name`` now runs the version ``data``."""
        self._move(name)
        self._sources[name] = _searchable(data)
        if self._suspects:
            self._not_sorted_in.add(name)

    def _move(self, name: str) -> None:
        self.version += 1
        self._moves[name] = self._moves.get(name, 0) + 1

    def moves_by_others(self, names: Iterable[str]) -> int:
        """How far ``version`` moved for modules other than ``names``."""
        return self.version - sum(self._moves.get(name, 0) for name in names)

    def remove(self, name: str) -> None:
        self._move(name)
        self._sources.pop(name, None)
        self._suspects.pop(name, None)
        self._not_sorted_in.discard(name)
        for _, suspects in self._suspects.values():
            suspects.discard(name)

    def suspects(self, target: str) -> set[str]:
        """The modules whose running version may import ``target`` (a superset)."""
        if self._not_sorted_in:
            self._sort_in_new_versions()
        entry = self._suspects.get(target)
        if entry is None:
            needle = _needle(target)
            entry = self._suspects[target] = (
                needle,
                {name for name, data in self._sources.items() if _may_import(name, data, needle)},
            )
        return entry[1]

    def _sort_in_new_versions(self) -> None:
        many = len(self._suspects) > _WORTH_SPLITTING_INTO_WORDS
        for name in self._not_sorted_in:
            data = self._sources[name]
            words = _words(data) if many else None
            for needle, suspects in self._suspects.values():
                if _may_import(name, data, needle, words):
                    suspects.add(name)
                else:
                    suspects.discard(name)
        self._not_sorted_in.clear()


_Needle = tuple[str, bytes, bool]
"""What to look for in a module's source to tell whether it may import a module: the prefix of
the modules inside it, its name's last component as written, and whether that is ASCII (see
``_may_import``)."""

_ASCII_WORD = re.compile(rb"[A-Za-z0-9_]+")
#: Above this many needles, splitting a source into words once beats searching it per needle.
_WORTH_SPLITTING_INTO_WORDS = 8


def _needle(target: str) -> _Needle:
    spelled = target.rpartition(".")[2].encode("utf-8", "surrogatepass")
    return target + ".", spelled, spelled.isascii()


def _changed_region(before: bytes, after: bytes) -> bytes:
    """The bytes of ``after`` that differ from ``before``, grown to whole runs of ASCII
    identifier characters: every such run of ``after`` lies inside it or is a run of
    ``before`` too (with the same bytes on either side)."""
    start, suffix = common_ends(before, after)
    end = len(after) - suffix
    while start > 0 and after[start - 1] in _WORD_CHARACTERS:
        start -= 1
    while end < len(after) and after[end] in _WORD_CHARACTERS:
        end += 1
    return after[start:end]


#: The bytes ``_ASCII_WORD`` matches.
_WORD_CHARACTERS = frozenset(byte for byte in range(128) if _ASCII_WORD.match(bytes([byte])))


@functools.lru_cache(maxsize=16)
def _words(searchable: bytes) -> frozenset[bytes]:
    """The longest runs of ASCII identifier characters in a source (``_searchable``).

    (Remembered for a few sources: a new version is searched when its dependencies are
    found, then again when it is recorded as running.)"""
    return frozenset(_ASCII_WORD.findall(searchable))


def _may_import(
    importer: str, searchable: bytes, needle: _Needle, words: frozenset[bytes] | None = None
) -> bool:
    """False only when a module of this name and source (``_searchable``, split into ``words``
    when given) surely does not import the module ``needle`` was made for."""
    inside, spelled, ascii_only = needle
    # An ASCII name is written as a whole run of ASCII identifier characters: a longer run is
    # another identifier (possibly with a non-ASCII letter next to it).
    written = spelled in words if words is not None and ascii_only else spelled in searchable
    # A relative import reaches the packages a module is inside of without naming them.
    return written or importer.startswith(inside)


def _searchable(data: bytes) -> bytes:
    """A module's source with identifiers spelled as Python reads them, in UTF-8.

    Python compares identifiers after NFKC normalisation (``ｂase`` written with a full-width
    b names ``base``), and a coding cookie may say the bytes are not UTF-8.
    """
    if data.isascii():
        return data
    try:
        text = decode_source(data)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return data  # cannot be decoded, so cannot compile: it imports nothing
    return unicodedata.normalize("NFKC", text).encode("utf-8", "surrogatepass")


def _parse_raising_warnings(piece: str) -> ast.Module:
    with warnings_raised():
        return ast.parse(piece)


def _read_or_none(path: str) -> SourceSnapshot | None:
    try:
        return read_snapshot(path)
    except OSError:
        return None  # unreadable now: it will be reported when it is looked at next


def _put_back(mapping: MutableMapping[Any, Any], key: Any, value: Any) -> None:
    """Set ``mapping[key]`` back to ``value``; None meant "absent"."""
    if value is None:
        mapping.pop(key, None)
    else:
        mapping[key] = value


class _Same:
    """Wraps an object so that keys holding it are equal only for that very object (and keep
    it alive, so that its id is never another's)."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.value is self.value

    def __hash__(self) -> int:
        return id(self.value)
