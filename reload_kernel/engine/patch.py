"""Update live functions and classes in place, so every existing reference sees new code.

Identity is what users' objects hang on to: an instance's ``__class__``, a registry's keys, a
bound method, a callback list. Instead of making new objects and hunting down the old ones (a
heap scan whose cost grows with everything in memory), the reloader *keeps* the old objects and
pours the new definitions into them:

* a function keeps its object and takes the new ``__code__``, defaults, annotations, docstring
  and closure contents;
* a class keeps its object and takes the new class body (methods, properties, attributes);
  old instances therefore see the new methods, ``isinstance`` holds both ways, ``pickle`` finds
  the class under its name and zero-argument ``super()`` resolves to the same class;
* an enum keeps its members: ``old_member is Color.RED`` after a reload.

Every mutation is recorded in an ``UndoLog`` first, so a module whose new version fails half-way
is put back exactly as it was.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
import functools
import inspect
from collections.abc import Callable, Iterator
from types import CodeType, FunctionType, MemberDescriptorType
from typing import Any, cast

MISSING: Any = object()

#: Class attributes that belong to the class's memory layout, never copied between classes.
_LAYOUT_ATTRIBUTES = frozenset({"__dict__", "__weakref__"})
#: An ABC's registry of virtual subclasses and its isinstance caches.
_ABC_STATE = "_abc_impl"
#: Values the reconciler takes as they are, unasked: constants (most of a module's names), and
#: containers, whose contents it never looks into (a class's ``__annotations__``, a module's
#: ``__all__``, a registry filled at import: the new version's, as in a fresh import).
TAKEN_AS_THEY_ARE = frozenset(
    {int, float, complex, str, bytes, bool, type(None), dict, list, tuple, set, frozenset}
)


class UndoLog:
    """Remembers the state of every object mutated during a reload, to restore on failure."""

    def __init__(self) -> None:
        self._actions: list[Callable[[], None]] = []
        self._recorded: set[int] = set()
        self._keep_alive: list[object] = []

    def _first_time(self, obj: object) -> bool:
        if id(obj) in self._recorded:
            return False
        self._recorded.add(id(obj))
        self._keep_alive.append(obj)
        return True

    def record_function(self, function: FunctionType) -> None:
        if not self._first_time(function):
            return
        state = _function_state(function)
        self._actions.append(lambda: _restore_function(function, state))

    def record_class(self, cls: type) -> None:
        if not self._first_time(cls):
            return
        attributes = dict(cls.__dict__)
        bases = cls.__bases__
        self._actions.append(lambda: _restore_class(cls, attributes, bases))

    def record_action(self, undo: Callable[[], None]) -> None:
        """Run ``undo`` on rollback."""
        self._actions.append(undo)

    def record_instance_dict(self, obj: object) -> None:
        if not self._first_time(obj):
            return
        attributes = dict(obj.__dict__)
        self._actions.append(lambda: _restore_instance_dict(obj, attributes))

    def rollback(self) -> None:
        """Undo every recorded mutation, newest first."""
        for action in reversed(self._actions):
            action()
        self._actions.clear()


def _function_state(function: FunctionType) -> tuple[Any, ...]:
    return (
        function.__code__,
        function.__defaults__,
        function.__kwdefaults__,
        dict(function.__annotations__),
        function.__doc__,
        function.__name__,
        function.__qualname__,
        function.__module__,
        dict(function.__dict__),
        [cell_contents(cell) for cell in function.__closure__ or ()],
    )


def _restore_function(function: FunctionType, state: tuple[Any, ...]) -> None:
    (code, defaults, kwdefaults, annotations, doc, name, qualname, module, attrs, cells) = state
    function.__code__ = code
    function.__defaults__ = defaults
    function.__kwdefaults__ = kwdefaults
    function.__annotations__ = annotations
    function.__doc__ = doc
    function.__name__ = name
    function.__qualname__ = qualname
    function.__module__ = module
    function.__dict__.clear()
    function.__dict__.update(attrs)
    for cell, contents in zip(function.__closure__ or (), cells, strict=True):
        if contents is not MISSING:
            cell.cell_contents = contents


def _restore_class(cls: type, attributes: dict[str, Any], bases: tuple[type, ...]) -> None:
    if cls.__bases__ != bases:
        cls.__bases__ = bases
    for key in [key for key in cls.__dict__ if key not in attributes]:
        if key not in _LAYOUT_ATTRIBUTES:
            type.__delattr__(cls, key)
    for key, value in attributes.items():
        if key not in _LAYOUT_ATTRIBUTES and cls.__dict__.get(key, MISSING) is not value:
            type.__setattr__(cls, key, value)


def _restore_instance_dict(obj: object, attributes: dict[str, Any]) -> None:
    obj.__dict__.clear()
    obj.__dict__.update(attributes)


def cell_contents(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell: the variable was never assigned
        return MISSING


def _is_lru_cache(obj: object) -> bool:
    return callable(getattr(obj, "cache_clear", None)) and hasattr(obj, "__wrapped__")


class Reconciler:
    """Decides, for each new object a module produced, which object the module should hold.

    ``value(old, new)`` returns ``old`` updated in place when the two are the same definition
    (same kind, same qualified name, compatible shape) and ``new`` otherwise. Results are
    remembered per new object, so an object reachable under several names (``f = foo``) maps to
    one result everywhere.
    """

    def __init__(self, module_name: str, undo: UndoLog) -> None:
        self.module_name = module_name
        self.undo = undo
        self.identity_lost: list[tuple[str, str]] = []
        self._results: dict[int, Any] = {}
        self._keep_alive: list[object] = []

    def adopt(self, new: object, result: object) -> None:
        """From now on, ``new`` is represented by ``result``."""
        self._results[id(new)] = result
        self._keep_alive.append(new)

    def mapped(self, new: Any) -> Any:
        """What ``new`` has been reconciled to so far (itself when nothing was decided)."""
        return self._results.get(id(new), new)

    def value(self, old: Any, new: Any) -> Any:
        if type(new) in TAKEN_AS_THEY_ARE:
            return new
        if id(new) in self._results:
            return self._results[id(new)]
        result = new if old is MISSING or old is new else self._reconcile(old, new)
        if result is new:
            self.adopt_closures(new)
        self.adopt(new, result)
        return result

    def _reconcile(self, old: Any, new: Any) -> Any:
        if isinstance(old, FunctionType) and isinstance(new, FunctionType):
            return old if self.update_function(old, new) else new
        if _is_lru_cache(old) and _is_lru_cache(new) and type(old) is type(new):
            return self._reconcile_cached(old, new)
        if type(old) is type(new) and isinstance(new, (staticmethod, classmethod)):
            inner = self.value(old.__func__, new.__func__)
            return old if inner is old.__func__ else new
        if type(old) is type(new) and isinstance(new, property):
            for part in ("fget", "fset", "fdel"):
                self._reconcile_part(getattr(old, part), getattr(new, part))
            return new
        if type(old) is type(new) and isinstance(new, functools.cached_property):
            inner = self.value(old.func, new.func)
            return old if inner is old.func else new
        if type(old) is type(new) and isinstance(new, functools.partial):
            return self._reconcile_partial(old, new)
        if isinstance(old, type) and isinstance(new, type):
            return self._reconcile_class(old, new)
        return new

    def _reconcile_class(self, old: type, new: type) -> type:
        """Keep the old class for a class the module made without a ``class`` statement
        (``Enum("Color", ...)``, ``namedtuple(...)``) or that a decorator rebuilt
        (``@dataclass(slots=True)``)."""
        is_own = old.__module__ == new.__module__ == self.module_name
        if not is_own or old.__qualname__ != new.__qualname__:
            return new  # another module's class: never rewrite it
        reason = transplant_class(old, new, self)
        if reason is None:
            return old
        self.identity_lost.append((new.__qualname__, reason))
        return new

    def _reconcile_part(self, old: Any, new: Any) -> None:
        if old is not None and new is not None:
            self.value(old, new)

    def _reconcile_cached(self, old: Any, new: Any) -> Any:
        inner = self.value(old.__wrapped__, new.__wrapped__)
        if inner is not old.__wrapped__:
            return new
        old.cache_clear()  # a result cached by the old code must never be served again
        return old

    def _reconcile_partial(self, old: functools.partial[Any], new: functools.partial[Any]) -> Any:
        func = self.value(old.func, new.func)
        state = (old.func, old.args, old.keywords, dict(old.__dict__) or None)
        self.undo.record_action(lambda: cast(Any, old).__setstate__(state))
        cast(Any, old).__setstate__((func, new.args, new.keywords, dict(new.__dict__) or None))
        return old

    def update_function(self, old: FunctionType, new: FunctionType) -> bool:
        """Give ``old`` the code and attributes of ``new``; False when that is impossible."""
        if old.__qualname__ != new.__qualname__ or old.__module__ != new.__module__:
            return False
        if old.__code__.co_freevars != new.__code__.co_freevars:
            self._forward(old, new)
            return True
        self.adopt(new, old)
        self.undo.record_function(old)
        old.__code__ = new.__code__
        old.__defaults__ = new.__defaults__
        old.__kwdefaults__ = new.__kwdefaults__
        old.__annotations__ = new.__annotations__
        old.__doc__ = new.__doc__
        for old_cell, new_cell in zip(old.__closure__ or (), new.__closure__ or (), strict=True):
            contents = cell_contents(new_cell)
            if contents is not MISSING:
                old_cell.cell_contents = self.value(cell_contents(old_cell), contents)
        attributes = {
            key: self.value(old.__dict__.get(key, MISSING), value)
            for key, value in new.__dict__.items()
        }
        old.__dict__.clear()
        old.__dict__.update(attributes)
        return True

    def _forward(self, old: FunctionType, new: FunctionType) -> None:
        """Make ``old`` call ``new``: its closure cannot change, so its code cannot be ``new``'s.

        This happens when a function starts or stops closing over a variable (a method that
        starts calling zero-argument ``super()`` closes over ``__class__``). ``old`` keeps its
        identity and gets code that forwards every call to ``new`` (held in its keyword-only
        defaults); ``__wrapped__`` lets ``inspect.signature`` show ``new``'s signature.
        """
        self.adopt(new, old)
        self.adopt_closures(new)
        self.undo.record_function(old)
        kind = _function_kind(new.__code__)
        old.__code__ = _forwarding_code(len(old.__code__.co_freevars), kind)
        old.__defaults__ = None
        old.__kwdefaults__ = {FORWARD_TARGET: new}
        old.__annotations__ = new.__annotations__
        old.__doc__ = new.__doc__
        old.__dict__.clear()
        old.__dict__.update(new.__dict__)
        old.__dict__["__wrapped__"] = new

    def adopt_closures(self, obj: object) -> None:
        """Point closure cells of a new object at the objects they were reconciled to.

        A method added by a reload has a ``__class__`` cell (used by zero-argument ``super()``)
        holding the class object built by the reload; the class that lives on is the old one.
        """
        if type(obj) is FunctionType and obj.__closure__ is None and not _has_dict(obj):
            return  # (most functions: a module-level function, a method without super())
        for function in functions_reachable_from(obj):
            for cell in function.__closure__ or ():
                contents = cell_contents(cell)
                if contents is not MISSING and id(contents) in self._results:
                    target = self._results[id(contents)]
                    if target is not contents:
                        cell.cell_contents = target


#: The keyword-only argument through which a forwarding function finds the function it calls.
FORWARD_TARGET = "__reload_kernel_forward_to__"


#: How a forwarding function calls its target, by the kind of the target: the forwarder is
#: of the same kind, so ``inspect.iscoroutinefunction`` and friends answer as before.
_FORWARDING_BODIES = {
    "function": ("def", f"return {FORWARD_TARGET}(*args, **kwargs)"),
    "generator": ("def", f"return (yield from {FORWARD_TARGET}(*args, **kwargs))"),
    "coroutine": ("async def", f"return await {FORWARD_TARGET}(*args, **kwargs)"),
    "async generator": (
        "async def",
        f"async for item in {FORWARD_TARGET}(*args, **kwargs):\n            yield item",
    ),
}


def _function_kind(code: CodeType) -> str:
    if code.co_flags & inspect.CO_ASYNC_GENERATOR:
        return "async generator"
    if code.co_flags & inspect.CO_COROUTINE:
        return "coroutine"
    if code.co_flags & inspect.CO_GENERATOR:
        return "generator"
    return "function"


@functools.cache
def _forwarding_code(free_variables: int, kind: str) -> CodeType:
    """Code that calls its ``FORWARD_TARGET`` keyword default with all its arguments.

    It has ``free_variables`` unused free variables, because a function's code can only be
    replaced by code with as many free variables as the function has closure cells.
    """
    keyword, body = _FORWARDING_BODIES[kind]
    names = [f"_unused{index}" for index in range(free_variables)]
    lines = ["def outer():"]
    if names:
        lines.append(f"    {' = '.join(names)} = None")
    lines.append(f"    {keyword} forward(*args, {FORWARD_TARGET}, **kwargs):")
    if names:
        lines.append(f"        {', '.join(names)}")
    lines.append(f"        {body}")
    lines.append("    return forward")
    namespace: dict[str, Any] = {}
    source = "\n".join(lines) + "\n"
    exec(compile(source, "<reload_kernel: forwards to the new version>", "exec"), namespace)
    code: CodeType = namespace["outer"]().__code__
    return code


def functions_reachable_from(obj: object) -> Iterator[FunctionType]:
    """Functions an object runs: itself, the function a descriptor or wrapper holds."""
    seen: set[int] = set()
    pending = [obj]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, FunctionType):
            yield current
        if isinstance(current, (staticmethod, classmethod)):
            pending.append(current.__func__)
        elif isinstance(current, property):
            pending.extend((current.fget, current.fset, current.fdel))
        elif isinstance(current, (functools.cached_property, functools.partial)):
            pending.append(current.func)
        wrapped = getattr(current, "__wrapped__", None) if _has_dict(current) else None
        if wrapped is not None:
            pending.append(wrapped)


def _has_dict(obj: object) -> bool:
    try:
        return "__wrapped__" in object.__getattribute__(obj, "__dict__")
    except AttributeError:
        return False


def _instance_layout(cls: type) -> tuple[Any, ...]:
    slots = cls.__dict__.get("__slots__", ())
    if isinstance(slots, str):
        slots = (slots,)
    return (
        cls.__basicsize__,
        cls.__itemsize__,
        cls.__dictoffset__,
        cls.__weakrefoffset__,
        tuple(slots),
    )


def transplant_class(old: type, new: type, reconciler: Reconciler) -> str | None:
    """Pour the freshly built class ``new`` into the live class ``old``.

    Returns None on success, or the reason the class could not be updated in place.
    """
    reason = _why_instances_cannot_follow(old, new)
    if reason is not None:
        return reason
    undo = reconciler.undo
    undo.record_class(old)
    if old.__bases__ != new.__bases__:
        try:
            old.__bases__ = new.__bases__
        except TypeError as error:
            return f"its base classes changed incompatibly ({error})"
    reconciler.adopt(new, old)
    if issubclass(old, enum.Enum):
        _transplant_enum_members(old, new, reconciler)
    # type.__setattr__ rather than setattr: metaclasses such as EnumType forbid reassigning
    # members through the class, which is exactly what moving members over needs.
    for key in [key for key in old.__dict__ if key not in new.__dict__]:
        if key not in _LAYOUT_ATTRIBUTES:
            type.__delattr__(old, key)
    for key, value in new.__dict__.items():
        if key in _LAYOUT_ATTRIBUTES or _is_slot_descriptor(value, new):
            continue
        if key == _ABC_STATE and _ABC_STATE in old.__dict__:
            continue  # keeps ``Old.register(Virtual)`` made by the notebook or other modules
        result = _class_attribute(old, key, value, reconciler)
        if old.__dict__.get(key, MISSING) is not result:
            # (A method updated in place is there already: setting a class attribute, even
            # to the same object, makes CPython update the class's slots and caches.)
            type.__setattr__(old, key, result)
    if isinstance(old, abc.ABCMeta):
        cast(Any, old)._abc_caches_clear()  # isinstance answers cached for the old body
        abc.update_abstractmethods(cast(Any, old))
    return None


def _why_instances_cannot_follow(old: type, new: type) -> str | None:
    """Why existing instances of ``old`` could not work as instances of ``new``, if so."""
    if type(old) is not type(new):
        return "its metaclass changed"
    if _instance_layout(old) != _instance_layout(new):
        return "its instance layout changed (__slots__ or a built-in base class)"
    old_fields = old.__dict__.get("_fields")
    is_named_tuple = issubclass(old, tuple) and isinstance(old_fields, tuple)
    if is_named_tuple and new.__dict__.get("_fields") != old_fields:
        return "its named tuple fields changed (existing tuples keep their length)"
    missing = _dataclass_fields_without_default(old, new)
    if missing:
        names = ", ".join(missing)
        return f"new dataclass fields without a class-level default ({names})"
    return None


def _dataclass_fields_without_default(old: type, new: type) -> list[str]:
    """Fields ``new`` adds to dataclass ``old`` that existing instances could not read.

    A field with a plain default is a class attribute, so old instances read the default; one
    with no default or a ``default_factory`` is only ever set by ``__init__``. ``new`` may be the
    class before or after the ``@dataclass`` decorator ran.
    """
    old_fields = old.__dict__.get("__dataclass_fields__")
    if not isinstance(old_fields, dict):
        return []
    new_fields = new.__dict__.get("__dataclass_fields__")
    names = list(new_fields) if isinstance(new_fields, dict) else list(_own_annotations(new))
    missing = []
    for name in names:
        if name in old_fields:
            continue
        default = new.__dict__.get(name, MISSING)
        if isinstance(default, dataclasses.Field):
            default = default.default
        if default is MISSING or default is dataclasses.MISSING:
            missing.append(name)
    return missing


def _own_annotations(cls: type) -> dict[str, Any]:
    # Read from the class's own namespace where they are there, as a dict: inspect's way
    # costs ten times more, once per dataclass a reload runs. (3.14 makes them lazily.)
    annotations = cls.__dict__.get("__annotations__")  # noqa: RUF063
    if type(annotations) is dict:
        return dict(annotations)
    try:
        return dict(inspect.get_annotations(cls))
    except Exception:  # an annotation that cannot be evaluated (3.14 lazy annotations)
        return {}


def _is_slot_descriptor(value: object, owner: type) -> bool:
    return isinstance(value, MemberDescriptorType) and value.__objclass__ is owner


def _class_attribute(old: type, key: str, value: Any, reconciler: Reconciler) -> Any:
    if isinstance(value, dict) and key in ("_member_map_", "_value2member_map_"):
        return {k: reconciler.mapped(v) for k, v in value.items()}
    mapped = reconciler.mapped(value)
    if mapped is not value:
        return mapped
    return reconciler.value(old.__dict__.get(key, MISSING), value)


def _transplant_enum_members(old: Any, new: Any, reconciler: Reconciler) -> None:
    """Keep each surviving member object; adopt new members into the old enum class."""
    for name, new_member in new._member_map_.items():
        old_member = old._member_map_.get(name, MISSING)
        if old_member is not MISSING and _member_can_keep_identity(old, old_member, new_member):
            reconciler.undo.record_instance_dict(old_member)
            updated = dict(new_member.__dict__)
            if "__objclass__" in updated:
                updated["__objclass__"] = old
            old_member.__dict__.update(updated)
            reconciler.adopt(new_member, old_member)
        else:
            if old_member is not MISSING:
                reconciler.identity_lost.append(
                    (
                        f"{old.__qualname__}.{name}",
                        "its value changed, and the value of an int or str enum member is the "
                        "member itself",
                    )
                )
            new_member.__class__ = old
            if "__objclass__" in new_member.__dict__:
                new_member.__objclass__ = old
            reconciler.adopt(new_member, new_member)


def _member_can_keep_identity(old_enum: Any, old_member: Any, new_member: Any) -> bool:
    if type(old_member) is not old_enum:
        return False
    if old_enum._member_type_ is object:
        return True
    # IntEnum, StrEnum...: the value is the object's own int or str payload, which cannot change.
    return bool(old_member._value_ == new_member._value_)


def classes_by_qualname(module_name: str, namespace: dict[str, Any]) -> dict[str, type]:
    """Classes defined in a module (nested ones too), keyed by qualified name."""
    found: dict[str, type] = {}
    pending = [value for value in namespace.values() if isinstance(value, type)]
    while pending:
        cls = pending.pop()
        if cls.__module__ != module_name or cls.__qualname__ in found:
            continue
        found[cls.__qualname__] = cls
        pending.extend(
            value
            for value in cls.__dict__.values()
            if isinstance(value, type) and value.__qualname__.startswith(cls.__qualname__ + ".")
        )
    return found
