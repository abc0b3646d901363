"""Import edges between modules, read from their source, and the order to reload them in.

An edge says that a module's *import-time* code used another module, and how. Import-time code
is everything that runs while the module is imported: its top level, class bodies, ``if`` and
``try`` blocks, decorators, default values and base classes, and the bodies of the module's own
functions that its top level calls. Imports inside other functions run later, on call, and bind
no module-level names: they are not edges. An edge records:

* the names the module read from the other one: ``from a import X`` and ``import a`` followed by
  ``a.X`` both read ``X``; ``from a import *`` reads ``STAR``;
* ``RUNS_CODE`` when it ran the other module's code: called one of its functions or classes
  (``TABLE = a.build()``, ``@register``), subclassed one of its classes, or handed the module
  object itself to other code. What that code computed may depend on any of the module's state.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import NamedTuple

STAR = "*"
"""The names read by ``from target import *``."""
RUNS_CODE = "()"
"""The importer ran the target's code at import time: any re-run of the target may matter."""

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
_BUILTIN_NAMES = frozenset(dir(builtins))


class ImportEdge(NamedTuple):
    """``importer`` used ``target`` at import time.

    ``names`` holds what it used: the attribute names it read (``from target import a, b`` gives
    ``("a", "b")``), ``STAR`` for a star import and ``RUNS_CODE`` when it ran target's code. A
    plain ``import target`` whose module object is then only used inside functions reads none:
    the module object keeps its identity on reload, and functions look names up when called.
    """

    importer: str
    target: str
    names: tuple[str, ...] = ()


def resolve_relative(module: str | None, level: int, package: str) -> str | None:
    """The absolute module named by a ``from`` import, or None when it points outside."""
    if level == 0:
        return module
    parts = package.split(".") if package else []
    if level - 1 >= len(parts):
        return None  # beyond the top-level package: Python raises ImportError here
    base = parts[: len(parts) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def import_edges(
    tree: ast.Module,
    importer: str,
    package: str,
    is_module: Callable[[str], bool] | None = None,
) -> list[ImportEdge]:
    """The import-time edges of a module whose parsed source is ``tree``.

    ``package`` is the module's ``__package__`` (itself for a package ``__init__``), used to
    resolve relative imports. ``is_module`` says which dotted names are modules worth an edge
    (e.g. the modules a reloader tracks); without it every candidate is returned and the
    caller drops edges to names that are not modules: ``from pkg import sub`` yields an edge
    to ``pkg`` and, since ``sub`` may be a submodule, one to ``pkg.sub``; a call of
    ``pkg.sub.f()`` marks both ``pkg.sub`` and ``pkg`` with ``RUNS_CODE``, as either may own
    ``f`` (with ``is_module``, only the longest that is a module).
    """
    uses = _ImportTimeUses(package, is_module)
    try:
        for statement in tree.body:
            uses.visit(statement)
    except RecursionError:
        # An expression nested too deeply to walk (generated code): fall back to assuming the
        # module runs the code of everything it imports, which re-runs it more often, never less.
        uses = _ImportTimeUses(package, is_module)
        uses.add_plain_imports(tree)
    return [
        ImportEdge(importer, target, tuple(sorted(names)))
        for target, names in uses.reads.items()
        if is_module is None or is_module(target)
    ]


class _Origin(NamedTuple):
    """What an import bound a name to: the object at dotted path ``parts``, whose first
    ``module_parts`` parts certainly name a module (``import a.b as x`` → ``a.b``, both; ``from
    a import X`` → ``a.X``, of which only ``a``)."""

    parts: tuple[str, ...]
    module_parts: int


class _ImportTimeUses(ast.NodeVisitor):
    """Walks the statements a module runs at import time, collecting what they use of which
    module, in source order (a name is an import's only from that import on)."""

    def __init__(self, package: str, is_module: Callable[[str], bool] | None) -> None:
        self.reads: dict[str, set[str]] = {}
        self._package = package
        self._is_module = is_module
        self._origins: dict[str, _Origin] = {}
        self._star_sources: list[str] = []
        self._bound_here: set[str] = set()
        self._functions: dict[str, FunctionNode] = {}
        self._scanned: set[str] = set()
        self._in_function = False
        self._in_class = False

    # --- what is recorded -----------------------------------------------------------------

    def _use(self, target: str, name: str | None = None) -> None:
        names = self.reads.setdefault(target, set())
        if name is not None:
            names.add(name)

    def _bind(self, name: str, origin: _Origin | None) -> None:
        """``name`` now holds what an import produced (``origin``) or something of our own."""
        if origin is None:
            self._origins.pop(name, None)
            if not self._in_function:
                self._bound_here.add(name)
        else:
            self._origins[name] = origin

    def _might_be_module(self, parts: tuple[str, ...], module_parts: int) -> bool:
        if len(parts) <= module_parts:
            return True
        return self._is_module is None or self._is_module(".".join(parts))

    def _read_along(self, parts: tuple[str, ...], module_parts: int) -> None:
        """``a.b.X`` reads ``b`` from ``a`` and ``X`` from ``a.b`` (if that is a module)."""
        for depth in range(max(1, module_parts), len(parts)):
            self._use(".".join(parts[:depth]), parts[depth])
        if self._might_be_module(parts, module_parts):
            self._use(".".join(parts), None)

    def _runs_code_of(self, parts: tuple[str, ...], module_parts: int) -> None:
        """Calling the object at ``parts`` runs code of the module that defines it: the longest
        prefix that is a module (every candidate when we cannot tell)."""
        for depth in range(len(parts) - 1, max(1, module_parts) - 1, -1):
            candidate = parts[:depth]
            if self._might_be_module(candidate, module_parts):
                self._use(".".join(candidate), RUNS_CODE)
                if self._is_module is not None or depth <= module_parts:
                    return

    def add_plain_imports(self, tree: ast.Module) -> None:
        """Every module-level import, each assumed to run its target's code."""
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    for depth in range(1, len(parts) + 1):
                        self._use(".".join(parts[:depth]), RUNS_CODE)
            elif isinstance(node, ast.ImportFrom):
                target = resolve_relative(node.module, node.level, self._package)
                if target is not None:
                    self._use(target, RUNS_CODE)
                    for alias in node.names:
                        self._use(f"{target}.{alias.name}", RUNS_CODE)

    # --- imports --------------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            parts = tuple(alias.name.split("."))
            for depth in range(1, len(parts) + 1):
                self._use(".".join(parts[:depth]))
            if alias.asname:
                self._bind(alias.asname, _Origin(parts, len(parts)))
            else:
                self._bind(parts[0], _Origin(parts[:1], 1))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        target = resolve_relative(node.module, node.level, self._package)
        if target is None:
            return
        self._use(target)
        target_parts = tuple(target.split("."))
        for alias in node.names:
            if alias.name == STAR:
                self._use(target, STAR)
                self._star_sources.append(target)
                continue
            self._use(target, alias.name)
            self._use(f"{target}.{alias.name}")  # ``from pkg import sub`` imports pkg.sub
            origin = _Origin((*target_parts, alias.name), len(target_parts))
            self._bind(alias.asname or alias.name, origin)

    # --- names and attribute chains -------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load):
            self._bind(node.id, None)
            return
        origin = self._origins.get(node.id)
        if origin is not None and self._might_be_module(origin.parts, origin.module_parts):
            # The module object itself, handed to other code.
            self._use(".".join(origin.parts), RUNS_CODE)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        root, attributes = _attribute_chain(node)
        origin = self._origins.get(root.id) if root is not None else None
        if origin is None:
            self.generic_visit(node)
            return
        parts = origin.parts + attributes
        self._read_along(parts, origin.module_parts)
        if len(parts) > origin.module_parts and self._might_be_module(parts, origin.module_parts):
            self._use(".".join(parts), RUNS_CODE)  # a submodule object, handed to other code

    # --- code run at import time ----------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        self._visit_callee(node.func)
        for argument in [*node.args, *(keyword.value for keyword in node.keywords)]:
            self.visit(argument)

    def _visit_callee(self, callee: ast.expr) -> None:
        """``callee`` is called (or used as a decorator or base class) at import time: what it
        reads, and whose code it runs. (Being called is no handing over of a module object.)"""
        self._called(callee)
        root, attributes = _attribute_chain(callee)
        origin = self._origins.get(root.id) if root is not None else None
        if origin is None:
            self.visit(callee)
        elif attributes:
            self._read_along(origin.parts + attributes, origin.module_parts)

    def _called(self, callee: ast.expr) -> None:
        """Record whose code calling ``callee`` runs."""
        root, attributes = _callee_root(callee)
        if root is None:
            return
        origin = self._origins.get(root.id)
        if origin is not None:
            self._runs_code_of(origin.parts + attributes, origin.module_parts)
        elif not attributes and root.id in self._functions:
            self._scan_body(self._functions[root.id])
        elif root.id not in self._bound_here and root.id not in _BUILTIN_NAMES:
            for source in self._star_sources:  # the name may have come from any of them
                self._use(source, RUNS_CODE)

    def _scan_body(self, function: FunctionNode) -> None:
        """The module calls its own function at import time: its body runs at import time."""
        if function.name in self._scanned:
            return
        self._scanned.add(function.name)
        origins, in_function = dict(self._origins), self._in_function
        self._in_function = True
        for argument in _argument_names(function.args):
            self._origins.pop(argument, None)  # parameters shadow the module's names
        for statement in function.body:
            self.visit(statement)
        self._origins, self._in_function = origins, in_function

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._define_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._define_function(node)

    def _define_function(self, node: FunctionNode) -> None:
        """A ``def`` evaluates its decorators, defaults and annotations; the body runs later."""
        for decorator in node.decorator_list:
            self._visit_callee(decorator)
        self._visit_signature(node.args)
        if node.returns is not None:
            self.visit(node.returns)
        self._bind(node.name, None)
        if not self._in_function and not self._in_class:
            self._functions[node.name] = node

    def _visit_signature(self, arguments: ast.arguments) -> None:
        for default in [*arguments.defaults, *arguments.kw_defaults]:
            if default is not None:
                self.visit(default)
        every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        every += [arg for arg in (arguments.vararg, arguments.kwarg) if arg is not None]
        for argument in every:
            if argument.annotation is not None:
                self.visit(argument.annotation)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_signature(node.args)  # the body runs when the lambda is called

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        # Creating a subclass runs its bases' metaclass and ``__init_subclass__``.
        for base in [*node.bases, *(keyword.value for keyword in node.keywords)]:
            self._visit_callee(base)
        for decorator in node.decorator_list:
            self._visit_callee(decorator)
        # Names bound in the class body are class attributes: they vanish from scope after it.
        origins, in_class = dict(self._origins), self._in_class
        self._in_class = True
        for statement in node.body:
            self.visit(statement)
        self._origins, self._in_class = origins, in_class
        self._bind(node.name, None)

    # --- evaluation order -----------------------------------------------------------------

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)  # ``a = a.X`` reads a.X before rebinding a
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.annotation)
        self.visit(node.target)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        # The loop variable lives in the comprehension's own scope, not the module's.
        self.visit(node.iter)
        for condition in node.ifs:
            self.visit(condition)


def _attribute_chain(node: ast.expr) -> tuple[ast.Name | None, tuple[str, ...]]:
    """``a.b.c`` → (Name a, ("b", "c")); (None, ()) when the chain does not start at a name."""
    attributes: list[str] = []
    while isinstance(node, ast.Attribute):
        attributes.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        return node, tuple(reversed(attributes))
    return None, ()


def _callee_root(node: ast.expr) -> tuple[ast.Name | None, tuple[str, ...]]:
    """The name a called expression starts from, and the attribute path from it to the object
    whose code runs: ``reg.add(x)`` → (reg, ("add",)); ``a.get()["k"].add`` → (a, ("get",))."""
    attributes: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            attributes.append(node.attr)
            node = node.value
        elif isinstance(node, (ast.Subscript, ast.Call)):
            attributes.clear()  # what follows belongs to an object computed from the root
            node = node.value if isinstance(node, ast.Subscript) else node.func
        else:
            break
    if isinstance(node, ast.Name):
        return node, tuple(reversed(attributes))
    return None, ()


def _argument_names(arguments: ast.arguments) -> Iterator[str]:
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    every += [arg for arg in (arguments.vararg, arguments.kwarg) if arg is not None]
    return (argument.arg for argument in every)


def reload_order(modules: Iterable[str], dependencies: Mapping[str, Iterable[str]]) -> list[str]:
    """``modules`` ordered so that each comes after the modules it imports.

    Modules that import each other (a cycle) keep their relative order from ``modules``, which
    callers pass in import order. Only dependencies inside ``modules`` matter.
    """
    return [name for group in reload_groups(modules, dependencies) for name in group]


def reload_groups(
    modules: Iterable[str], dependencies: Mapping[str, Iterable[str]]
) -> list[list[str]]:
    """``modules`` in groups that import each other (a lone module when it is in no cycle), each
    group after every group it imports; a group's members keep their order from ``modules``."""
    ordered_input = list(dict.fromkeys(modules))
    members = set(ordered_input)
    position = {name: index for index, name in enumerate(ordered_input)}
    components = _strongly_connected(ordered_input, dependencies, members)
    # Tarjan emits a component only after every component it depends on: already reversed
    # topological order of the "imports" relation, i.e. dependencies first.
    return [sorted(component, key=position.__getitem__) for component in components]


def _strongly_connected(
    nodes: list[str], dependencies: Mapping[str, Iterable[str]], members: set[str]
) -> list[list[str]]:
    """Tarjan's algorithm, iterative so deep import chains cannot hit the recursion limit."""
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0

    def successors(node: str) -> list[str]:
        return [dep for dep in dependencies.get(node, ()) if dep in members and dep != node]

    for root in nodes:
        if root in index_of:
            continue
        work: list[tuple[str, Iterator[str]]] = []
        index_of[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work.append((root, iter(successors(root))))
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index_of:
                    index_of[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(successors(child))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index_of[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index_of[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components
