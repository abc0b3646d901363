"""Record exactly which bytes each user module was imported from.

"Never mark a file seen without having loaded what is on disk now": if a module is imported
during a cell and its file is edited before that cell ends, a reloader that looks at the file
only afterwards would take the edited file as the loaded one and miss the edit. So user modules
are imported through ``RecordingLoader``, which reads the source once, compiles exactly those
bytes, and reports them. Bytecode caches are not used for user modules: their freshness check
(mtime in whole seconds plus size) can serve stale code after two quick same-size edits.

The finder sits in ``sys.meta_path`` immediately before ``PathFinder``, so every finder that
came before it (editable installs, import hooks of other tools) still wins as before.
"""

from __future__ import annotations

import linecache
import sys
import threading
from collections.abc import Callable, Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec, PathFinder, SourceFileLoader
from types import CodeType, ModuleType

from .detect import SourceSnapshot, decode_source, read_snapshot

LoadListener = Callable[[str, SourceSnapshot], None]


class RecordingLoader(SourceFileLoader):
    """A source loader that compiles from the bytes it reads and reports them."""

    def __init__(self, fullname: str, path: str, listener: LoadListener) -> None:
        super().__init__(fullname, path)
        self._listener = listener

    def get_code(self, fullname: str) -> CodeType:
        snapshot = read_snapshot(self.path)
        code = self.source_to_code(snapshot.data, self.path)
        pin_source_lines(snapshot)
        self._listener(fullname, snapshot)
        return code


def pin_source_lines(snapshot: SourceSnapshot) -> None:
    """Make tracebacks show the lines of the version that runs, not the file's current ones.

    linecache reads a file when a traceback first needs it, and re-reads it when its mtime
    moves: after an edit that fails to load, the old code's tracebacks would show the new
    file's lines. An entry whose mtime is None is never re-checked; the reloader pins each
    version it loads the same way.
    """
    try:
        text = decode_source(snapshot.data)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return  # undecodable: linecache will read the file itself, as it always did
    lines = text.splitlines(keepends=True)
    linecache.cache[snapshot.path] = (len(snapshot.data), None, lines, snapshot.path)


class RecordingFinder(MetaPathFinder):
    """Finds modules like ``PathFinder`` does, loading user code with ``RecordingLoader``."""

    def __init__(self, is_user_path: Callable[[str], bool], listener: LoadListener) -> None:
        self._is_user_path = is_user_path
        self._listener = listener

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        spec = PathFinder.find_spec(fullname, path, target)
        if spec is None:
            return None
        if type(spec.loader) is not SourceFileLoader or spec.origin is None:
            return self._as_path_finder_would(spec)
        if not self._is_user_path(spec.origin):
            return self._as_path_finder_would(spec)
        spec.loader = RecordingLoader(fullname, spec.origin, self._listener)
        return spec

    def _as_path_finder_would(self, spec: ModuleSpec) -> ModuleSpec | None:
        """Not user code: answer exactly as the finders after us would have.

        When PathFinder comes right after us, its answer is the spec we already have: giving
        it back saves a second search of sys.path for every library module (a few percent of
        the import time of a scientific stack). Otherwise let the next finder answer.
        """
        meta_path = sys.meta_path
        try:
            path_finder_is_next = meta_path[meta_path.index(self) + 1] is PathFinder
        except (ValueError, IndexError):
            path_finder_is_next = False
        return spec if path_finder_is_next else None

    def invalidate_caches(self) -> None:
        """PathFinder's caches are invalidated by importlib itself."""


class ImportRecorder:
    """Installs the finder and collects ``(module name, snapshot)`` records of imports."""

    def __init__(self, is_user_path: Callable[[str], bool]) -> None:
        self._finder = RecordingFinder(is_user_path, self._record)
        self._lock = threading.Lock()
        self._records: dict[str, SourceSnapshot] = {}

    def install(self) -> None:
        if self._finder in sys.meta_path:
            return
        position = next(
            (i for i, finder in enumerate(sys.meta_path) if finder is PathFinder),
            len(sys.meta_path),
        )
        sys.meta_path.insert(position, self._finder)

    def uninstall(self) -> None:
        while self._finder in sys.meta_path:
            sys.meta_path.remove(self._finder)

    def _record(self, module_name: str, snapshot: SourceSnapshot) -> None:
        with self._lock:
            self._records[module_name] = snapshot

    def has_records(self) -> bool:
        """Whether a user module was imported since the last ``take_records()``."""
        return bool(self._records)

    def take_records(self) -> dict[str, SourceSnapshot]:
        """The imports recorded since the last call, newest snapshot per module."""
        with self._lock:
            records, self._records = self._records, {}
        return records
