"""Which files count as the user's own code.

The reloader only ever looks at modules whose source is a ``.py`` file outside the standard
library and outside site-/dist-packages: those are the files a person edits while a notebook
runs. Packages installed in editable mode live in the user's checkout, so they count as user
code; ``include`` lets a user add a package installed normally, ``exclude`` removes one.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Iterable
from types import ModuleType

_INSTALLED_DIR_NAMES = frozenset({"site-packages", "dist-packages"})


def _library_roots() -> tuple[str, ...]:
    """Directories holding the standard library and the interpreter's own files."""
    roots: set[str] = set()
    for key in ("stdlib", "platstdlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(os.path.realpath(path))
    return tuple(sorted(roots))


def _matches_package(module_name: str, packages: Iterable[str]) -> bool:
    """True when ``module_name`` is one of ``packages`` or inside one of them."""
    return any(
        module_name == package or module_name.startswith(package + ".") for package in packages
    )


class UserCodePolicy:
    """Decides whether a module or a source path is user code worth tracking."""

    def __init__(self, *, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> None:
        self.include = tuple(include)
        self.exclude = (*exclude, "reload_kernel")
        self._library_roots = _library_roots()
        self._path_verdicts: dict[str, bool] = {}
        self._real_directories: dict[str, str] = {}
        self._library_directories: dict[str, bool] = {}

    def is_excluded(self, module_name: str) -> bool:
        """True for an excluded module or a module inside an excluded package."""
        return _matches_package(module_name, self.exclude)

    def add_exclusions(self, names: Iterable[str]) -> None:
        """Exclude more modules or packages from now on."""
        self.exclude = (*self.exclude, *names)

    def is_user_path(self, path: str) -> bool:
        """True for a ``.py`` file that is neither standard library nor installed package
        (unless the installed package is included)."""
        verdict = self._path_verdicts.get(path)
        if verdict is None:
            verdict = self._classify_path(path)
            self._path_verdicts[path] = verdict
        return verdict

    def _classify_path(self, path: str) -> bool:
        if not path.endswith(".py"):
            return False
        directory, file_name = os.path.split(path)
        real_directory = self._real_directory(directory)
        if self._is_library_directory(real_directory):
            # (Without a system call for the file: a link there is the system's own, such as
            # Debian's sitecustomize.py, which links to /etc.)
            return False
        if os.path.islink(path):  # e.g. ``flit install --symlink``: a user's file, installed
            return self._classify_real_path(os.path.realpath(path))
        return self._classify_real_path(os.path.join(real_directory, file_name))

    def _classify_real_path(self, real: str) -> bool:
        parts = real.split(os.sep)
        installed_at = [index for index, part in enumerate(parts) if part in _INSTALLED_DIR_NAMES]
        if installed_at:
            # Decided by the path alone, so that the import hook records included packages
            # as they are imported (the module's name is not known here).
            module_name = _module_name_in(parts[installed_at[-1] + 1 :])
            return _matches_package(module_name, self.include)
        return not self._is_library_directory(os.path.dirname(real))

    def _is_library_directory(self, real_directory: str) -> bool:
        """In the standard library, and not in its site-packages (a system Python's)."""
        verdict = self._library_directories.get(real_directory)
        if verdict is None:
            inside = real_directory + os.sep
            verdict = not _INSTALLED_DIR_NAMES.intersection(real_directory.split(os.sep)) and any(
                inside.startswith(root + os.sep) for root in self._library_roots
            )
            self._library_directories[real_directory] = verdict
        return verdict

    def _real_directory(self, directory: str) -> str:
        """``os.path.realpath(directory)``, from its parent's, resolved once per directory.

        ``realpath`` makes a system call per path component, and a library's files share a
        few directories that share their ancestors: resolving each ancestor once makes a
        kernel's start (some 500 modules to classify) a few milliseconds cheaper.
        """
        real = self._real_directories.get(directory)
        if real is not None:
            return real
        parent, name = os.path.split(directory)
        if not name or name in (os.curdir, os.pardir) or parent == directory:
            real = os.path.realpath(directory)  # the root, or a path still to be normalised
        else:
            candidate = os.path.join(self._real_directory(parent), name)
            real = os.path.realpath(candidate) if os.path.islink(candidate) else candidate
        self._real_directories[directory] = real
        return real

    def source_path(self, module: ModuleType) -> str | None:
        """The ``.py`` file a tracked module was loaded from, or None when it is not tracked."""
        name = getattr(module, "__name__", None)
        if not isinstance(name, str) or name == "__main__":
            return None
        if self.is_excluded(name):
            return None
        path = _module_source_file(module)
        if path is None:
            return None
        if _matches_package(name, self.include) or self.is_user_path(path):
            return path
        return None


def _module_name_in(parts: list[str]) -> str:
    """The module a file defines, from its path below site-packages: ``pkg/sub.py`` → pkg.sub."""
    *packages, file_name = parts
    stem = file_name.removesuffix(".py")
    return ".".join(packages if stem == "__init__" else [*packages, stem])


def _module_source_file(module: ModuleType) -> str | None:
    """The source file of a module loaded from a ``.py`` file by a file-based loader."""
    spec = getattr(module, "__spec__", None)
    if spec is None or not spec.has_location or not isinstance(spec.origin, str):
        return None  # namespace packages, frozen and built-in modules, dynamic modules
    origin = spec.origin
    if not origin.endswith(".py") or not os.path.isabs(origin):
        return None  # C extensions, sourceless .pyc
    loader = spec.loader
    if loader is None or not hasattr(loader, "get_data"):
        return None
    if ".zip" + os.sep in origin or ".egg" + os.sep in origin:
        return None  # zip imports: there is no file to watch
    return origin


def loaded_module_items() -> list[tuple[str, ModuleType]]:
    """A stable copy of ``sys.modules`` (another thread may import while we iterate)."""
    return [(name, module) for name, module in list(sys.modules.items()) if module is not None]
