"""Import edges between modules, read from their source, and the order to reload them in.

Edges come from the import statements a module runs when it is imported: every statement
outside function bodies (class bodies and ``if``/``try`` blocks run at import too). Imports
inside functions run later, on call, and never bind module-level names, so they are not edges.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

STAR = "*"


@dataclass(frozen=True)
class ImportEdge:
    """One module-level import: ``importer`` depends on ``target``.

    ``names`` holds the attribute names the statement reads from ``target`` (``from target
    import a, b`` gives ``("a", "b")``, a star import gives ``("*",)``); a plain ``import
    target`` reads none: it binds the module object, whose identity never changes on reload.
    """

    importer: str
    target: str
    names: tuple[str, ...] = ()


def _module_level_statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """Every statement that runs at import time, outside function bodies."""
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        statement = pending.pop()
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        yield statement
        for child in ast.iter_child_nodes(statement):
            if isinstance(child, ast.stmt):
                pending.append(child)
            elif isinstance(child, ast.excepthandler) or type(child).__name__ == "match_case":
                pending.extend(
                    node for node in ast.iter_child_nodes(child) if isinstance(node, ast.stmt)
                )


def resolve_relative(module: str | None, level: int, package: str) -> str | None:
    """The absolute module named by a ``from`` import, or None when it points outside."""
    if level == 0:
        return module
    parts = package.split(".") if package else []
    if level - 1 > len(parts) or not parts:
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def import_edges(tree: ast.Module, importer: str, package: str) -> list[ImportEdge]:
    """The module-level import edges of a module whose parsed source is ``tree``.

    ``package`` is the module's ``__package__`` (itself for a package ``__init__``), used to
    resolve relative imports. ``from pkg import sub`` yields an edge to ``pkg`` for the name and,
    since ``sub`` may be a submodule, one to ``pkg.sub``; callers drop edges to unknown modules.
    """
    edges: list[ImportEdge] = []
    for statement in _module_level_statements(tree):
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                parts = alias.name.split(".")
                edges.extend(
                    ImportEdge(importer, ".".join(parts[: i + 1])) for i in range(len(parts))
                )
        elif isinstance(statement, ast.ImportFrom):
            target = resolve_relative(statement.module, statement.level, package)
            if target is None:
                continue
            names = tuple(alias.name for alias in statement.names)
            edges.append(ImportEdge(importer, target, names))
            edges.extend(ImportEdge(importer, f"{target}.{name}") for name in names if name != STAR)
    return edges


def reload_order(modules: Iterable[str], dependencies: Mapping[str, Iterable[str]]) -> list[str]:
    """``modules`` ordered so that each comes after the modules it imports.

    Modules that import each other (a cycle) keep their relative order from ``modules``, which
    callers pass in import order. Only dependencies inside ``modules`` matter.
    """
    ordered_input = list(dict.fromkeys(modules))
    members = set(ordered_input)
    position = {name: index for index, name in enumerate(ordered_input)}
    components = _strongly_connected(ordered_input, dependencies, members)
    # Tarjan emits a component only after every component it depends on: already reversed
    # topological order of the "imports" relation, i.e. dependencies first.
    result: list[str] = []
    for component in components:
        result.extend(sorted(component, key=position.__getitem__))
    return result


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
