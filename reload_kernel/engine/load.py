"""Load a changed module's new source into the live module object, or leave it untouched.

Two ways in, chosen by ``diff.classify_edit``:

* ``patch_bodies``: only function bodies changed. Compile, pair each new code object with the live
  function it replaces (same qualified name, same order in the file) and swap ``__code__``.
* ``rerun``: execute the new code in the module's own namespace, emptied first, exactly like a
  fresh import; classes are updated in place as their ``class`` statements run, functions right
  after. On any exception the namespace and every mutated object are restored.

Compilation always starts from the bytes just read: never from ``__pycache__``.
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import sys
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from types import CodeType, FunctionType, ModuleType
from typing import Any

from .detect import SourceSnapshot
from .patch import (
    MISSING,
    Reconciler,
    UndoLog,
    classes_by_qualname,
    live_functions,
    transplant_class,
)

#: Module attributes set by the import system, kept when the namespace is emptied for a re-run.
_IMPORT_SYSTEM_ATTRIBUTES = (
    "__name__",
    "__loader__",
    "__package__",
    "__spec__",
    "__path__",
    "__file__",
    "__cached__",
    "__builtins__",
)
_CO_NEWLOCALS = 0x0002  # set on function code objects, not on module or class bodies


class ModuleLoadError(Exception):
    """A module's new source could not be compiled or executed. The module is unchanged."""

    def __init__(
        self, module: str, path: str, phase: str, cause: BaseException, source: str = ""
    ) -> None:
        super().__init__(f"{module}: {phase} failed: {cause!r}")
        self.module = module
        self.path = path
        self.phase = phase
        self.cause = cause
        self._source_lines = source.splitlines()

    @property
    def location(self) -> tuple[int | None, str | None]:
        """Line number and source text in the module's file where the error happened."""
        cause = self.cause
        if isinstance(cause, SyntaxError):
            text = cause.text.strip() if cause.text else None
            return cause.lineno, text
        frames = traceback.extract_tb(cause.__traceback__)
        in_module = [frame for frame in frames if frame.filename == self.path]
        if not in_module:
            return None, None
        lineno = in_module[-1].lineno
        if lineno is None or not 0 < lineno <= len(self._source_lines):
            return lineno, None
        return lineno, self._source_lines[lineno - 1].strip() or None


@dataclass(frozen=True)
class CompiledSource:
    """A snapshot decoded, parsed and compiled."""

    snapshot: SourceSnapshot
    text: str
    tree: ast.Module
    code: CodeType


def compile_snapshot(module_name: str, snapshot: SourceSnapshot) -> CompiledSource:
    """Decode (honouring a coding cookie), parse and compile, or raise ModuleLoadError."""
    try:
        text = importlib.util.decode_source(snapshot.data)
        tree = ast.parse(text, filename=snapshot.path)
        code = compile(tree, snapshot.path, "exec", dont_inherit=True)
    except (SyntaxError, UnicodeDecodeError, ValueError) as error:
        raise ModuleLoadError(module_name, snapshot.path, "compile", error) from error
    return CompiledSource(snapshot, text, tree, code)


# --- function bodies only -------------------------------------------------------------------


def _code_qualname(code: CodeType, prefix: str) -> str:
    return getattr(code, "co_qualname", prefix + code.co_name)


def _function_codes(code: CodeType, prefix: str = "") -> Iterator[tuple[str, CodeType]]:
    """Code objects of functions defined at module or class level, in source order."""
    for const in code.co_consts:
        if not isinstance(const, CodeType) or const.co_name.startswith("<"):
            continue  # lambdas and comprehensions belong to the statement around them
        if const.co_flags & _CO_NEWLOCALS:
            yield _code_qualname(const, prefix), const
        else:  # a class body: its methods are constants of its code object
            yield from _function_codes(const, f"{prefix}{const.co_name}.")


def _docstring(code: CodeType) -> str | None:
    if sys.version_info >= (3, 14):
        has_docstring = bool(code.co_flags & 0x4000000)  # CO_HAS_DOCSTRING
        return code.co_consts[0] if has_docstring else None
    # Up to 3.13 the first constant of a function is its docstring, or None when it has none.
    first = code.co_consts[0] if code.co_consts else None
    return first if isinstance(first, str) else None


def patch_bodies(module: ModuleType, compiled: CompiledSource, undo: UndoLog) -> bool:
    """Swap in new function bodies. False (nothing changed) when functions cannot be paired."""
    name = module.__name__
    new_codes: dict[str, list[CodeType]] = {}
    for qualname, code in _function_codes(compiled.code):
        new_codes.setdefault(qualname, []).append(code)
    live: dict[str, list[FunctionType]] = {}
    for function in live_functions(name, module.__dict__):
        live.setdefault(_code_qualname(function.__code__, ""), []).append(function)
    pairs: list[tuple[FunctionType, CodeType]] = []
    for qualname, codes in new_codes.items():
        functions = sorted(live.get(qualname, ()), key=lambda f: f.__code__.co_firstlineno)
        if len(functions) != len(codes):
            return False  # a definition is shadowed, conditional or hidden by a decorator
        for function, code in zip(functions, codes, strict=True):
            if function.__code__.co_freevars != code.co_freevars:
                return False  # e.g. a method that starts using zero-argument super()
            pairs.append((function, code))
    for function, code in pairs:
        undo.record_function(function)
        function.__code__ = code
        function.__doc__ = _docstring(code)
    _clear_caches_of(module.__dict__, {id(function) for function, _ in pairs})
    return True


def _clear_caches_of(namespace: dict[str, Any], patched: set[int]) -> None:
    """Empty every ``functools.lru_cache`` in a module whose function got new code."""
    pending = list(namespace.values())
    seen: set[int] = set()
    while pending:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, type):
            pending.extend(value.__dict__.values())
        elif isinstance(value, (staticmethod, classmethod)):
            pending.append(value.__func__)
        wrapped = getattr(value, "__wrapped__", None) if callable(value) else None
        if wrapped is None:
            continue
        if id(wrapped) in patched and callable(getattr(value, "cache_clear", None)):
            value.cache_clear()
        pending.append(wrapped)


# --- re-running the module ------------------------------------------------------------------


@dataclass
class RerunOutcome:
    """What a re-run changed in the module's namespace."""

    changed_names: set[str]
    identity_lost: list[tuple[str, str]]


class _ClassIdentityKeeper:
    """Stands in for ``builtins.__build_class__`` while a module re-runs.

    Each ``class`` statement of the module builds its class normally (metaclasses, decorators'
    inputs and ``__init_subclass__`` see a real class); if the module had a class with that
    qualified name, the new body is poured into the old class, which the statement then binds.
    Class statements of other threads or other modules pass straight through.
    """

    def __init__(
        self, namespace: dict[str, Any], old_classes: dict[str, type], reconciler: Reconciler
    ) -> None:
        self._namespace = namespace
        self._old_classes = old_classes
        self._reconciler = reconciler
        self._thread = threading.get_ident()
        self._original = builtins.__build_class__

    def __call__(self, body: FunctionType, name: str, *bases: Any, **keywords: Any) -> Any:
        new = self._original(body, name, *bases, **keywords)
        if threading.get_ident() != self._thread or body.__globals__ is not self._namespace:
            return new
        old = self._old_classes.get(body.__qualname__)
        if old is None or not isinstance(new, type) or old is new:
            return new
        reason = transplant_class(old, new, self._reconciler)
        if reason is not None:
            self._reconciler.identity_lost.append((body.__qualname__, reason))
            return new
        return old

    def __enter__(self) -> _ClassIdentityKeeper:
        builtins.__build_class__ = self  # type: ignore[assignment]
        return self

    def __exit__(self, *exc_info: object) -> None:
        builtins.__build_class__ = self._original


def _fresh_namespace(name: str, snapshot: dict[str, Any]) -> dict[str, Any]:
    """What a module's namespace holds just before its code runs in a fresh import."""
    fresh = {key: snapshot[key] for key in _IMPORT_SYSTEM_ATTRIBUTES if key in snapshot}
    fresh["__doc__"] = None
    # Importing pkg.sub sets attribute ``sub`` on pkg; a re-run of pkg/__init__ must keep it.
    prefix = name + "."
    for key, value in snapshot.items():
        is_submodule = isinstance(value, ModuleType) and value.__name__ == prefix + key
        if is_submodule and sys.modules.get(prefix + key) is value:
            fresh[key] = value
    return fresh


def rerun(module: ModuleType, compiled: CompiledSource, undo: UndoLog) -> RerunOutcome:
    """Execute the module's new code in place; on failure restore it and raise ModuleLoadError."""
    name = module.__name__
    namespace = module.__dict__
    snapshot = dict(namespace)
    reconciler = Reconciler(name, undo)
    keeper = _ClassIdentityKeeper(namespace, classes_by_qualname(name, snapshot), reconciler)
    namespace.clear()
    namespace.update(_fresh_namespace(name, snapshot))
    try:
        with keeper:
            exec(compiled.code, namespace)
        _keep_function_identities(namespace, snapshot, reconciler)
    except KeyboardInterrupt:
        _restore(namespace, snapshot, undo)
        raise
    except BaseException as error:
        # Module code may raise anything (SystemExit included): all of it means "this version
        # cannot be loaded"; none of it may take the kernel down.
        _restore(namespace, snapshot, undo)
        raise ModuleLoadError(
            name, compiled.snapshot.path, "execute", error, compiled.text
        ) from error
    changed = {key for key, value in namespace.items() if snapshot.get(key, MISSING) is not value}
    changed |= snapshot.keys() - namespace.keys()
    return RerunOutcome(changed, reconciler.identity_lost)


def _keep_function_identities(
    namespace: dict[str, Any], snapshot: dict[str, Any], reconciler: Reconciler
) -> None:
    """Bind names to the old objects updated in place, pairing definitions by qualified name.

    Names whose old and new values are the same definition are paired first, so that an alias
    edited to point elsewhere (``f = foo`` → ``f = bar``) follows ``bar`` and never touches
    ``foo``.
    """

    def same_definition(key: str) -> bool:
        old, new = snapshot.get(key, MISSING), namespace[key]
        return bool(getattr(old, "__qualname__", MISSING) == getattr(new, "__qualname__", None))

    keys = list(namespace)
    ordered = [k for k in keys if same_definition(k)] + [k for k in keys if not same_definition(k)]
    for key in ordered:
        value = namespace[key]
        old = snapshot.get(key, MISSING)
        namespace[key] = reconciler.value(old if same_definition(key) else MISSING, value)


def _restore(namespace: dict[str, Any], snapshot: dict[str, Any], undo: UndoLog) -> None:
    undo.rollback()
    namespace.clear()
    namespace.update(snapshot)
