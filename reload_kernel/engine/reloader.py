"""The reload step: what changed → in what order → load → update in place → rebind → report.

``Reloader`` is the one object holding the engine's state. ``reload()`` is called before each
cell; it returns a ``Report`` and never lets a module's error escape (only KeyboardInterrupt,
after the module being loaded has been restored).
"""

from __future__ import annotations

import ast
import linecache
import sys
import threading
from collections.abc import Iterable, MutableMapping
from types import ModuleType
from typing import Any

from .detect import FileState, SourceSnapshot, read_snapshot, stat_stamp
from .diff import EditKind, ModuleShape, classify_edit, shape_of
from .graph import STAR, import_edges, reload_order
from .hook import ImportRecorder
from .load import CompiledSource, ModuleLoadError, compile_snapshot, patch_bodies, rerun
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
from .watch import FileWatcher

Dependencies = dict[str, set[str]]
"""For one module: each module it imports from → the names it reads there."""


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
        self._dependencies: dict[str, Dependencies] = {}
        self._poll = poll
        self._watcher = FileWatcher(poll=poll)
        self._names_by_path: dict[str, set[str]] = {}
        self._tracking_order: dict[str, int] = {}
        self._tracked_count = 0
        self._unsettled: set[str] = set()
        """Files found changed at the last look: looked at again, in case no load settled them."""
        self._examined_modules: set[str] = set()
        """Names in sys.modules already looked at (user code or not): each is looked at once."""
        self._modules_counted = -1
        self._failures: dict[str, ReloadFailed] = {}
        self._lock = threading.Lock()

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

    def stop(self) -> None:
        with self._lock:
            self._recorder.uninstall()
            self._watcher.close()

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

    def record_cell(self, source: str, user_ns: MutableMapping[str, Any]) -> None:
        with self._lock:
            self.bindings.record_cell(source, user_ns)

    # --- the reload step ------------------------------------------------------------------

    def reload(self, user_ns: MutableMapping[str, Any] | None = None) -> Report:
        """Bring every changed user module up to date; report what happened."""
        with self._lock:
            report = Report()
            self._track_new_modules()
            changes = self._find_changes(report)
            if changes:
                self._reload_batch(changes, report)
            if user_ns is not None and report.reloaded:
                report.rebound = self.bindings.rebind(
                    user_ns, [entry.module for entry in report.reloaded]
                )
            return report

    # --- what is tracked ------------------------------------------------------------------

    def _track_new_modules(self) -> None:
        for name, snapshot in self._recorder.take_records().items():
            module = sys.modules.get(name)
            if module is not None and self.policy.source_path(module) == snapshot.path:
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
        self._dependencies.clear()
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
            self._watcher.remove(path)

    def _forget(self, name: str) -> None:
        self._stop_watching(name, self._files[name].loaded.path)
        self._tracking_order.pop(name, None)
        del self._files[name]
        self._failures.pop(name, None)
        self._shapes.pop(name, None)
        self._dependencies.clear()

    # --- what changed ---------------------------------------------------------------------

    def _find_changes(self, report: Report) -> dict[str, SourceSnapshot]:
        """Look only at the files the watcher suspects (all of them when it polls)."""
        suspects = self._watcher.take_suspects() | self._unsettled
        names = [name for path in suspects for name in self._names_by_path.get(path, ())]
        names.sort(key=self._tracking_order.__getitem__)
        changes: dict[str, SourceSnapshot] = {}
        for name in names:
            snapshot = self._changed_snapshot(name, self._files[name], report)
            if snapshot is not None:
                changes[name] = snapshot
        # A change found now may not get loaded (an interrupt, a module gone meanwhile): the
        # watcher will not report it again, so look once more next time.
        self._unsettled = {snapshot.path for snapshot in changes.values()}
        return changes

    def _changed_snapshot(
        self, name: str, state: FileState, report: Report
    ) -> SourceSnapshot | None:
        path = state.loaded.path
        stamp = stat_stamp(path)
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

    def _module_dependencies(self, name: str) -> Dependencies:
        cached = self._dependencies.get(name)
        if cached is not None:
            return cached
        state = self._files[name]
        module = sys.modules.get(name)
        package = getattr(module, "__package__", None) or ""
        dependencies: Dependencies = {}
        try:
            tree = ast.parse(state.loaded.data, filename=state.loaded.path)
        except (SyntaxError, ValueError):
            tree = ast.Module(body=[], type_ignores=[])
        for edge in import_edges(tree, name, package):
            if edge.target in self._files and edge.target != name:
                dependencies.setdefault(edge.target, set()).update(edge.names)
        self._dependencies[name] = dependencies
        return dependencies

    def _with_dependents(self, changed: Iterable[str]) -> list[str]:
        """The changed modules and every tracked module importing them, directly or not."""
        importers: dict[str, set[str]] = {}
        for name in self._files:
            for target in self._module_dependencies(name):
                importers.setdefault(target, set()).add(name)
        affected = set(changed)
        pending = list(affected)
        while pending:
            for importer in importers.get(pending.pop(), ()):
                if importer not in affected:
                    affected.add(importer)
                    pending.append(importer)
        return [name for name in self._files if name in affected]

    # --- load, update in place ------------------------------------------------------------

    def _reload_batch(self, changes: dict[str, SourceSnapshot], report: Report) -> None:
        candidates = self._with_dependents(changes)
        dependencies = {name: set(self._module_dependencies(name)) for name in candidates}
        changed_names: dict[str, set[str]] = {}
        previous_values: dict[str, dict[str, Any]] = {}
        done: list[str] = []
        for name in reload_order(candidates, dependencies):
            module = sys.modules.get(name)
            if module is None:
                continue
            triggers = self._triggering_modules(name, changed_names)
            snapshot = changes.get(name)
            if snapshot is None and not triggers:
                continue
            outcome = self._load(
                name, module, snapshot or self._files[name].loaded, triggers, report
            )
            if outcome is not None:
                changed_names[name], previous_values[name] = outcome
            done.append(name)
        self._refresh_cycle_imports(done, changed_names, previous_values)

    def _triggering_modules(self, name: str, changed_names: dict[str, set[str]]) -> list[str]:
        """Reloaded modules whose changed names ``name`` imported: it must run again."""
        triggers = []
        for target, names in self._module_dependencies(name).items():
            changed = changed_names.get(target)
            if not changed:
                continue
            if STAR in names:
                module = sys.modules.get(target)
                names = names | set(public_names(module) if module else ())
            if names & changed:
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
        try:
            compiled = compile_snapshot(name, snapshot)
            kind, functions = classify_edit(self._shape(name), shape_of(compiled.tree))
            patchable = not triggers and kind is not EditKind.TOP_LEVEL
            if patchable and patch_bodies(module, compiled, undo):
                mode = ReloadMode.COSMETIC if kind is EditKind.COSMETIC else ReloadMode.PATCHED
                self._commit(name, compiled, report, mode, functions, triggers)
                return set(), previous
            outcome = rerun(module, compiled, undo)
        except ModuleLoadError as error:
            state.failed_data = snapshot.data
            lineno, line = error.location
            message = (
                str(error.cause) if not isinstance(error.cause, SyntaxError) else (error.cause.msg)
            )
            failure = ReloadFailed(
                name, error.path, type(error.cause).__name__, message, lineno, line
            )
            self._failures[name] = failure
            report.failed.append(failure)
            return None
        except KeyboardInterrupt:
            undo.rollback()
            raise
        for qualname, reason in outcome.identity_lost:
            report.identity_lost.append(IdentityLost(name, qualname, reason))
        self._commit(name, compiled, report, ReloadMode.RERUN, functions, triggers)
        return outcome.changed_names, previous

    def _shape(self, name: str) -> ModuleShape:
        shape = self._shapes.get(name)
        if shape is None:
            loaded = self._files[name].loaded
            try:
                tree = ast.parse(loaded.data, filename=loaded.path)
            except (SyntaxError, ValueError):
                tree = ast.Module(body=[], type_ignores=[])
            shape = self._shapes[name] = shape_of(tree)
        return shape

    def _commit(
        self,
        name: str,
        compiled: CompiledSource,
        report: Report,
        mode: ReloadMode,
        functions: list[str],
        triggers: list[str],
    ) -> None:
        snapshot = compiled.snapshot
        self._files[name].mark_loaded(snapshot)
        self._failures.pop(name, None)
        self._shapes[name] = shape_of(compiled.tree)
        self._dependencies.pop(name, None)
        # Pin the source that is now running, so tracebacks show its lines even before the
        # file's mtime moves on (linecache never re-checks entries whose mtime is None).
        lines = compiled.text.splitlines(keepends=True)
        linecache.cache[snapshot.path] = (len(snapshot.data), None, lines, snapshot.path)
        report.reloaded.append(
            ModuleReloaded(name, snapshot.path, mode, tuple(functions), tuple(triggers))
        )

    def _refresh_cycle_imports(
        self,
        done: list[str],
        changed_names: dict[str, set[str]],
        previous_values: dict[str, dict[str, Any]],
    ) -> None:
        """In an import cycle one module must go first and reads its partner's old values:
        point those names at the partner's new values (without running anything twice)."""
        position = {name: index for index, name in enumerate(done)}
        for importer in done:
            module = sys.modules.get(importer)
            if module is None:
                continue
            for target, names in self._module_dependencies(importer).items():
                if position.get(target, -1) <= position[importer]:
                    continue
                target_module = sys.modules.get(target)
                for attribute in names & changed_names.get(target, set()):
                    old = previous_values[target].get(attribute, MISSING)
                    if old is not MISSING and module.__dict__.get(attribute, MISSING) is old:
                        module.__dict__[attribute] = getattr(target_module, attribute)
