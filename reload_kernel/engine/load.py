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
import functools
import sys
import threading
import traceback
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import CodeType, FunctionType, ModuleType
from typing import Any, NamedTuple

from .detect import SourceSnapshot, decode_source
from .diff import PARSE_ERRORS, ModuleShape, shape_of, splice_shape
from .patch import (
    MISSING,
    TAKEN_AS_THEY_ARE,
    Reconciler,
    UndoLog,
    cell_contents,
    classes_by_qualname,
    functions_reachable_from,
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
        # Without looking lines up: linecache would open every file on the traceback, the
        # standard library's included, and only the module's own lines are wanted.
        frames = traceback.StackSummary.extract(
            traceback.walk_tb(cause.__traceback__), lookup_lines=False
        )
        in_module = [frame for frame in frames if frame.filename == self.path]
        if not in_module:
            return None, None
        lineno = in_module[-1].lineno
        if lineno is None or not 0 < lineno <= len(self._source_lines):
            return lineno, None
        return lineno, self._source_lines[lineno - 1].strip() or None


class NotReloadableError(Exception):
    """A module's new version did something that cannot be done to a module already in use."""


class CompiledSource(NamedTuple):
    """A snapshot decoded, parsed and compiled."""

    snapshot: SourceSnapshot
    text: str
    tree: ast.Module
    code: CodeType


#: What a ``CompiledSource`` holds once its syntax tree is let go (see ``without_tree``).
NO_TREE = ast.Module(body=[], type_ignores=[])


def parse_source(data: bytes, filename: str) -> tuple[str, ast.Module]:
    """The source decoded (honouring a coding cookie) and parsed; raises PARSE_ERRORS."""
    text = decode_source(data)
    return text, ast.parse(text, filename=filename)


def shape_of_source(data: bytes, filename: str) -> ModuleShape:
    """The shape of a version of a module, from its bytes; raises PARSE_ERRORS."""
    text, tree = parse_source(data, filename)
    return shape_of(tree, text)


def compile_snapshot(module_name: str, snapshot: SourceSnapshot) -> CompiledSource:
    """Decode, parse and compile, or raise ModuleLoadError."""
    try:
        text, tree = parse_source(snapshot.data, snapshot.path)
        code = compile(tree, snapshot.path, "exec", dont_inherit=True)
    except PARSE_ERRORS as error:
        raise ModuleLoadError(module_name, snapshot.path, "compile", error) from error
    return CompiledSource(snapshot, text, tree, code)


def compile_spliced(
    module_name: str,
    snapshot: SourceSnapshot,
    previous: ModuleShape,
    parse_piece: Callable[[str], ast.Module],
) -> tuple[CompiledSource, ModuleShape] | None:
    """Compile a new version of a module whose running version has the shape ``previous``,
    and make its shape, without the whole module's syntax tree (see ``diff.splice_shape``,
    which parses the changed statements with ``parse_piece``): the bytes are compiled as an
    import compiles them. None when the shape cannot be spliced (then ``compile_snapshot``);
    raises ModuleLoadError as that does.
    """
    try:
        text = decode_source(snapshot.data)
    except PARSE_ERRORS:
        return None  # compile_snapshot reports it
    shape = splice_shape(previous, text, parse_piece)
    if shape is None:
        return None
    try:
        code = compile(snapshot.data, snapshot.path, "exec", dont_inherit=True)
    except PARSE_ERRORS as error:
        raise ModuleLoadError(module_name, snapshot.path, "compile", error) from error
    return CompiledSource(snapshot, text, NO_TREE, code), shape


def without_tree(compiled: CompiledSource) -> CompiledSource:
    """The compiled source keeping only the code: a tree kept alive while module code runs
    would be promoted through the collector's generations (thousands of objects)."""
    return compiled._replace(tree=NO_TREE)


# --- function bodies only -------------------------------------------------------------------

#: Code objects that belong to an expression, not to a ``def``: never paired on their own.
_ANONYMOUS_CODE_NAMES = ("<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>")
#: Function codes the compiler adds for annotations (3.14+); no live function is bound to them.
_GENERATED_FUNCTION_NAMES = frozenset({"__annotate__"})


def _is_nested(qualname: str) -> bool:
    """True for a function defined inside another function's body (a closure, a wrapper)."""
    return "<locals>" in qualname


def _function_codes(code: CodeType, prefix: str = "") -> Iterator[tuple[str, CodeType]]:
    """Every function code object in a module's code, nested ones included, in source order.

    Qualified names are built the way the compiler builds ``__qualname__`` (Python 3.10 code
    objects do not carry one). Module- and class-level lambdas are skipped: they belong to the
    statement around them, which a bodies-only edit leaves unchanged.
    """
    for const in code.co_consts:
        if not isinstance(const, CodeType):
            continue
        qualname = getattr(const, "co_qualname", prefix + const.co_name)
        is_function = bool(const.co_flags & _CO_NEWLOCALS)
        if not is_function:  # a class body: its methods are constants of its code object
            yield from _function_codes(const, qualname + ".")
            continue
        if const.co_name.startswith(_ANONYMOUS_CODE_NAMES) or (
            const.co_name == "<lambda>" and not _is_nested(qualname)
        ):
            yield from _function_codes(const, qualname + ".<locals>.")
            continue
        if const.co_name not in _GENERATED_FUNCTION_NAMES:
            yield qualname, const
        yield from _function_codes(const, qualname + ".<locals>.")


def _definition_qualnames(functions: list[FunctionType]) -> list[str | None]:
    """For each live function, the qualified name of the definition it was made from (or None).

    Taken from code objects, not from ``__qualname__``, which ``functools.wraps`` copies from the
    wrapped function onto a wrapper. Python 3.10 code objects have no qualified name: there a
    function's ``__qualname__`` is trusted when it ends in its code's own name, and a nested
    function (a wrapper) is named by finding its code object among the constants of a function
    already named.
    """
    named_codes: dict[int, str] = {}
    for function in functions:
        code = function.__code__
        qualname = getattr(code, "co_qualname", None)
        if qualname is None and function.__qualname__.rpartition(".")[2] == code.co_name:
            qualname = function.__qualname__
        if qualname is not None:
            named_codes[id(code)] = qualname
            for nested_qualname, nested in _function_codes(code, qualname + ".<locals>."):
                named_codes.setdefault(id(nested), nested_qualname)
    return [named_codes.get(id(function.__code__)) for function in functions]


def _live_functions_from_file(
    namespace: dict[str, Any], module_name: str, path: str
) -> Iterator[FunctionType]:
    """Functions compiled from ``path`` reachable from a module's namespace.

    Followed: the module's classes (methods, properties, nested classes), wrappers'
    ``__wrapped__``, descriptors' functions and closure cells holding functions, so that a
    function hidden behind a decorator (even one from another module) is found.
    """
    seen: set[int] = set()
    pending: list[Any] = list(namespace.values())
    while pending:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, type):
            if value.__module__ == module_name:
                pending.extend(value.__dict__.values())
            continue
        for function in functions_reachable_from(value):
            seen.add(id(function))
            if function.__code__.co_filename == path:
                yield function
            for cell in function.__closure__ or ():
                contents = cell_contents(cell)
                if isinstance(contents, (FunctionType, type)) and id(contents) not in seen:
                    pending.append(contents)


def _pair_live_functions(
    module: ModuleType, compiled: CompiledSource
) -> list[tuple[FunctionType, CodeType]] | None:
    """Each live function of the module with its new code object, or None if they cannot be paired.

    A definition at module or class level is paired by qualified name and order in the file.
    Every live function made from a nested definition (the wrapper a decorator returned, a
    closure a factory made at import) takes the one new code object of that qualified name.
    """
    new_codes: dict[str, list[CodeType]] = {}
    for qualname, code in _function_codes(compiled.code):
        new_codes.setdefault(qualname, []).append(code)
    live: dict[str, list[FunctionType]] = {}
    functions_from_file = list(
        _live_functions_from_file(module.__dict__, module.__name__, compiled.snapshot.path)
    )
    qualnames = _definition_qualnames(functions_from_file)
    for function, live_qualname in zip(functions_from_file, qualnames, strict=True):
        if live_qualname is None:
            return None
        live.setdefault(live_qualname, []).append(function)
    pairs: list[tuple[FunctionType, CodeType]] = []
    for qualname in new_codes:
        if not _is_nested(qualname) and qualname not in live:
            return None  # a definition hidden by a decorator that returns a non-function
    for qualname, functions in live.items():
        codes = new_codes.get(qualname, [])
        if _is_nested(qualname):
            if len(codes) != 1:
                return None  # the nested definition is gone, or its name is ambiguous
            pairs.extend((function, codes[0]) for function in functions)
            continue
        if len(functions) != len(codes):
            return None  # a definition is shadowed or conditional
        functions.sort(key=lambda function: function.__code__.co_firstlineno)
        pairs.extend(zip(functions, codes, strict=True))
    if any(function.__code__.co_freevars != code.co_freevars for function, code in pairs):
        return None  # e.g. a method that starts using zero-argument super(): closures are fixed
    return pairs


def _docstring(code: CodeType) -> str | None:
    if sys.version_info >= (3, 14):
        has_docstring = bool(code.co_flags & 0x4000000)  # CO_HAS_DOCSTRING
        return code.co_consts[0] if has_docstring else None
    # Up to 3.13 the first constant of a function is its docstring, or None when it has none.
    first = code.co_consts[0] if code.co_consts else None
    return first if isinstance(first, str) else None


def patch_bodies(module: ModuleType, compiled: CompiledSource, undo: UndoLog) -> bool:
    """Swap in new function bodies. False (nothing changed) when functions cannot be paired."""
    pairs = _pair_live_functions(module, compiled)
    if pairs is None:
        return False
    for function, code in pairs:
        undo.record_function(function)
        # A docstring set by hand or copied by functools.wraps is not the code's own: keep it.
        if function.__doc__ == _docstring(function.__code__):
            function.__doc__ = _docstring(code)
        function.__code__ = code
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
        if transplant_class(old, new, self._reconciler) is not None:
            # Not in place yet: a decorator may still turn ``new`` into a class that fits
            # (``@dataclass(slots=True)`` rebuilds it); the module's final value is reconciled
            # with the old class after the run, and only that outcome is reported.
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
    departed = _departed_definitions(name)
    old_classes = {
        **classes_by_qualname(name, dict(departed)),
        **classes_by_qualname(name, snapshot),
    }
    keeper = _ClassIdentityKeeper(namespace, old_classes, reconciler)
    registered = sys.modules.get(name)
    try:
        namespace.clear()
        namespace.update(_fresh_namespace(name, snapshot))
        with keeper:
            exec(compiled.code, namespace)
        if sys.modules.get(name) is not registered:
            raise NotReloadableError(
                "the module replaced itself in sys.modules, which cannot be done to a module "
                "already in use (restart the kernel to load this version)"
            )
        _keep_function_identities(namespace, snapshot, departed, reconciler)
    except BaseException as error:
        # Module code may raise anything (SystemExit, KeyboardInterrupt included): all of it
        # means "this version cannot be loaded"; none of it may take the kernel down. Whether
        # a KeyboardInterrupt was the user's is for the caller to tell.
        _restore(namespace, snapshot, undo)
        if registered is not None:
            sys.modules[name] = registered
        raise ModuleLoadError(
            name, compiled.snapshot.path, "execute", error, compiled.text
        ) from error
    changed = {key for key, value in namespace.items() if snapshot.get(key, MISSING) is not value}
    changed |= snapshot.keys() - namespace.keys()
    _remember_departed(name, departed, snapshot, namespace)
    return RerunOutcome(changed, reconciler.identity_lost)


#: Classes and functions a re-run removed from their module, by module and qualified name,
#: held weakly: when a later version defines them again (a class commented out and back, a file
#: caught empty half-way through a truncate-then-write save), whoever still holds the old object
#: gets it back updated. Nobody holding it means nothing to keep.
_DEPARTED: dict[str, weakref.WeakValueDictionary[str, Any]] = {}


def _departed_definitions(module_name: str) -> weakref.WeakValueDictionary[str, Any]:
    return _DEPARTED.setdefault(module_name, weakref.WeakValueDictionary())


def _remember_departed(
    module_name: str,
    departed: weakref.WeakValueDictionary[str, Any],
    snapshot: dict[str, Any],
    namespace: dict[str, Any],
) -> None:
    live = {id(value) for value in namespace.values()}
    for qualname in [q for q, value in departed.items() if id(value) in live]:
        del departed[qualname]  # defined again: no longer departed
    for key in snapshot.keys() - namespace.keys():
        value = snapshot[key]
        is_definition = isinstance(value, (type, FunctionType))
        if is_definition and value.__module__ == module_name and id(value) not in live:
            departed[value.__qualname__] = value


def _keep_function_identities(
    namespace: dict[str, Any],
    snapshot: dict[str, Any],
    departed: Mapping[str, Any],
    reconciler: Reconciler,
) -> None:
    """Bind names to the old objects updated in place, pairing definitions by qualified name.

    Names whose old and new values are the same definition are paired first, so that an alias
    edited to point elsewhere (``f = foo`` → ``f = bar``) follows ``bar`` and never touches
    ``foo``. A name new to this version may bring back a departed function of that name.
    """
    for key, value in namespace.items():
        if key not in snapshot and isinstance(value, FunctionType):
            returning = departed.get(value.__qualname__)
            if isinstance(returning, FunctionType):
                snapshot = {**snapshot, key: returning}

    def same_definition(key: str) -> bool:
        old, new = snapshot.get(key, MISSING), namespace[key]
        if isinstance(new, functools.partial):  # a partial has no name of its own: pair by key
            return type(old) is type(new)
        return bool(getattr(old, "__qualname__", MISSING) == getattr(new, "__qualname__", None))

    # Asked once per name: reconciling one name never rebinds another. (A constant is the
    # new version's whatever it was paired with: not asked.)
    paired = {
        key: same_definition(key)
        for key, value in namespace.items()
        if type(value) not in TAKEN_AS_THEY_ARE
    }
    ordered = [key for key in paired if paired[key]] + [key for key in paired if not paired[key]]
    for key in ordered:
        old = snapshot.get(key, MISSING) if paired[key] else MISSING
        namespace[key] = reconciler.value(old, namespace[key])


def _restore(namespace: dict[str, Any], snapshot: dict[str, Any], undo: UndoLog) -> None:
    undo.rollback()
    namespace.clear()
    namespace.update(snapshot)
