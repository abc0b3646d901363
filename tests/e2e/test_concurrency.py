"""Subshells (ipykernel 7) running cells while the main shell reloads: nobody waits or breaks.

A subshell runs its cells on a thread of its own, concurrently with the main shell, in the same
namespace. Here a subshell cell keeps using a user module (calling its functions, making and
checking instances of its class, importing more user modules, defining classes) for as long as
the main shell keeps editing and reloading that module. Every request must be answered, each
main cell must see its edit, and the subshell must only ever see versions that exist.

Known limit, measured here rather than hidden: while the main shell *re-runs* a module's top
level (any edit outside function bodies), the module's namespace is rebuilt in place, as a fresh
import would build it. A thread that reads one of its names at that very moment can get a
NameError or AttributeError (the name is not bound yet). Function-body edits swap code objects
one at a time and never empty the namespace: there, nothing may go wrong at all.
"""

from __future__ import annotations

import json
import os
import queue
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import CELL_TIMEOUT, Cell, Notebook, unique_name

SUBSHELLS_FEATURE = "kernel subshells"
EDITS = 20

#: The module the main shell keeps editing: a top-level constant its functions read through
#: the module's globals (so a namespace caught half-built would show), a class and a helper.
MODULE = """\
FACTOR = {version}
LABEL = "version {version}"


def compute(x):
    return x * FACTOR


def describe():
    return LABEL


class Thing:
    scale = FACTOR

    def value(self):
        return compute(self.scale)
"""

#: The subshell's cell: use the module until the main shell says stop; report what it saw as
#: one JSON line. A NameError or AttributeError naming a module-level name is the known window
#: of a re-run (see the module docstring); anything else is a problem.
SUBSHELL_WORKLOAD = """\
import importlib, itertools, json, pathlib
seen_versions, window, other = set(), 0, []
for round_ in itertools.count():
    if stop_{key}.is_set():
        break
    try:
        version = {module}.FACTOR
        assert {module}.compute(1) in VERSIONS_{key}, "compute"
        assert {module}.describe().startswith("version "), "describe"
        thing = {module}.Thing()
        assert isinstance(thing, {module}.Thing), "isinstance of a new instance"
        assert isinstance(kept_{key}, {module}.Thing), "isinstance of the held instance"
        assert thing.value() in PRODUCTS_{key}, "value"
        seen_versions.add(version)
        if round_ % 50 == 0:  # new user modules and class statements on this thread too
            name = f"side_{key}_{{round_}}"
            pathlib.Path(f"{{name}}.py").write_text("class Side:\\n    pass\\n")
            importlib.invalidate_caches()
            importlib.import_module(name)
            class Local:
                pass
    except (NameError, AttributeError) as error:
        if any(f"'{{name}}'" in str(error) for name in MODULE_NAMES_{key}):
            window += 1
        else:
            other.append(repr(error))
    except Exception as error:
        other.append(repr(error))
print(json.dumps(dict(
    rounds=round_, versions=sorted(seen_versions), window=window, other=other[:5]
)))
"""


class Traffic:
    """Requests sent without waiting; each kernel message kept for the request it answers."""

    def __init__(self, notebook: Notebook) -> None:
        self.client = notebook.client
        self.cells: dict[str, Cell] = {}
        self.idle: set[str] = set()
        self.replies: dict[str, dict[str, Any]] = {}

    def execute(self, code: str, *, subshell_id: str | None = None) -> str:
        content = {"code": code, "silent": False, "store_history": True, "allow_stdin": False}
        request = self.client.session.msg("execute_request", content)
        if subshell_id is not None:
            request["header"]["subshell_id"] = subshell_id
        self.client.shell_channel.send(request)
        msg_id: str = request["header"]["msg_id"]
        self.cells[msg_id] = Cell(status="")
        return msg_id

    def wait_until(self, condition: Callable[[], bool]) -> None:
        """Sort the kernel's output into cells until ``condition`` holds."""
        deadline = time.monotonic() + CELL_TIMEOUT
        while not condition():
            remaining = deadline - time.monotonic()
            try:
                self._sort(self.client.get_iopub_msg(timeout=max(remaining, 0.01)))
            except queue.Empty:
                raise AssertionError(f"no answer within {CELL_TIMEOUT}s") from None

    def finish(self, msg_id: str) -> Cell:
        """The cell's outputs and reply (messages for other cells are kept for them)."""
        self.wait_until(lambda: msg_id in self.idle)
        deadline = time.monotonic() + CELL_TIMEOUT
        while msg_id not in self.replies:
            reply = self.client.get_shell_msg(timeout=max(deadline - time.monotonic(), 0.01))
            self.replies[reply["parent_header"]["msg_id"]] = reply
        cell = self.cells[msg_id]
        cell.status = self.replies[msg_id]["content"]["status"]
        return cell

    def _sort(self, message: dict[str, Any]) -> None:
        msg_id = message["parent_header"].get("msg_id", "")
        cell = self.cells.get(msg_id)
        kind, content = message["msg_type"], message["content"]
        if cell is None or kind == "execute_input":
            return
        if kind == "status":
            if content["execution_state"] == "idle":
                self.idle.add(msg_id)
            return
        cell.add_output(kind, content)


@pytest.fixture(scope="module")
def notebook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Notebook]:
    with Notebook(tmp_path_factory.mktemp("concurrency") / "work") as running:
        reply = running.client.kernel_info(reply=True, timeout=CELL_TIMEOUT)
        if SUBSHELLS_FEATURE not in reply["content"].get("supported_features", []):
            pytest.skip("this ipykernel has no kernel subshells (they arrived in ipykernel 7)")
        yield running


def create_subshell(notebook: Notebook) -> str:
    request = notebook.client.session.msg("create_subshell_request", {})
    notebook.client.control_channel.send(request)
    reply = notebook.client.get_control_msg(timeout=CELL_TIMEOUT)
    assert reply["content"]["status"] == "ok", reply["content"]
    subshell_id: str = reply["content"]["subshell_id"]
    return subshell_id


def start_busy_subshell(notebook: Notebook, traffic: Traffic, source: str) -> tuple[str, str, str]:
    """Import a fresh module in the main shell; start the subshell workload on it.

    Returns the module's name, the key of the notebook names made for it, and the workload's
    request id.
    """
    key = unique_name("c")
    module = f"busy_{key}"
    notebook.write(f"{module}.py", source)
    versions = set(range(1, EDITS + 2))
    notebook.run(
        f"""
        import threading, {module}
        stop_{key} = threading.Event()
        kept_{key} = {module}.Thing()
        VERSIONS_{key} = {versions!r}
        # Mid re-run, a method may read the new FACTOR and the old class attribute.
        PRODUCTS_{key} = {{a * b for a in VERSIONS_{key} for b in VERSIONS_{key}}}
        MODULE_NAMES_{key} = ("FACTOR", "LABEL", "compute", "describe", "Thing")
        """
    ).check()
    workload = traffic.execute(
        SUBSHELL_WORKLOAD.format(key=key, module=module), subshell_id=create_subshell(notebook)
    )
    return module, key, workload


def stop_workload(traffic: Traffic, key: str, workload: str) -> dict[str, Any]:
    traffic.finish(traffic.execute(f"stop_{key}.set()")).check()
    cell = traffic.finish(workload).check()
    assert cell.stderr == ""
    seen: dict[str, Any] = json.loads(cell.stdout)
    print(f"subshell: {seen}")
    return seen


def test_subshell_keeps_working_while_main_shell_reruns_the_module(notebook: Notebook) -> None:
    traffic = Traffic(notebook)
    module, key, workload = start_busy_subshell(notebook, traffic, MODULE.format(version=1))

    main_cells = []
    for version in range(2, EDITS + 2):
        notebook.write(f"{module}.py", MODULE.format(version=version))
        probe = f"{module}.compute(1), kept_{key}.value(), {module}.describe()"
        main_cells.append(traffic.finish(traffic.execute(probe)))
    seen = stop_workload(traffic, key, workload)

    for version, cell in enumerate(main_cells, start=2):
        cell.check()
        assert f"↻ reloaded {module}" in cell.stderr
        assert cell.result == f"({version}, {version * version}, 'version {version}')"
    assert seen["other"] == []
    assert set(seen["versions"]) <= set(range(1, EDITS + 2))
    assert seen["rounds"] > 0


def test_subshell_never_sees_a_broken_module_while_main_shell_patches_bodies(
    notebook: Notebook,
) -> None:
    def patched(version: int) -> str:
        return MODULE.format(version=1).replace(
            "return LABEL", f"return LABEL + ' patch {version}'"
        )

    traffic = Traffic(notebook)
    module, key, workload = start_busy_subshell(notebook, traffic, patched(1))

    main_cells = []
    for version in range(2, EDITS + 2):
        notebook.write(f"{module}.py", patched(version))
        main_cells.append(traffic.finish(traffic.execute(f"{module}.describe()")))
    seen = stop_workload(traffic, key, workload)

    for version, cell in enumerate(main_cells, start=2):
        cell.check()
        assert cell.stderr == f"↻ reloaded {module} (describe)\n"
        assert cell.result == f"'version 1 patch {version}'"
    assert seen["other"] == []
    assert seen["window"] == 0
    assert seen["versions"] == [1]
    assert seen["rounds"] > 0


# --- a branch switch while a cell runs ------------------------------------------------------

TREE_SIZE = 2_000
BASE = 'BRANCH = "{branch}"\n'
LEAF = """\
from .base import BRANCH as BASE_BRANCH

BRANCH = "{branch}"


def branch():
    return BRANCH


class Node:
    def branch(self):
        return BRANCH
"""
#: What the notebook checks: every leaf agrees with itself, its instance and the base.
TREE_SUMMARY = (
    "sorted({{(leaf.BRANCH, leaf.BASE_BRANCH, leaf.branch(), node.branch(), {tree}.base.BRANCH)"
    " for leaf, node in zip(leaves_{tree}, nodes_{tree})}})"
)


def checkout(folder: Path, branch: str) -> None:
    """Rewrite the whole tree the way git does: every file replaced by a new one."""
    files = {"base.py": BASE.format(branch=branch)}
    files.update({f"m{i:04d}.py": LEAF.format(branch=branch) for i in range(TREE_SIZE)})
    for name, text in files.items():
        temporary = folder / f".{name}.tmp"
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, folder / name)


@pytest.mark.parametrize("switcher", ["git-checkout-outside", "thread-inside-the-cell"])
def test_branch_switch_while_a_cell_runs_loads_the_new_tree_in_the_next_cell(
    notebook: Notebook, switcher: str
) -> None:
    tree = unique_name("tree")
    folder = notebook.workdir / tree
    folder.mkdir()
    (folder / "__init__.py").write_text("", encoding="utf-8")
    checkout(folder, "main")
    notebook.run(
        f"""
        import importlib, {tree}.base
        leaves_{tree} = [importlib.import_module(f"{tree}.m{{i:04d}}") for i in range({TREE_SIZE})]
        nodes_{tree} = [leaf.Node() for leaf in leaves_{tree}]
        """,
    ).check()
    summary = TREE_SUMMARY.format(tree=tree)
    assert notebook.value(summary) == str([("main",) * 5])

    switched = notebook.workdir / f"{tree}.switched"
    if switcher == "thread-inside-the-cell":
        during = notebook.run(
            f"""
            import os, pathlib, threading

            def checkout(folder, branch):
                files = {{"base.py": {BASE!r}.format(branch=branch)}}
                for i in range({TREE_SIZE}):
                    files[f"m{{i:04d}}.py"] = {LEAF!r}.format(branch=branch)
                for name, text in files.items():
                    temporary = pathlib.Path(folder, f".{{name}}.tmp")
                    temporary.write_text(text, encoding="utf-8")
                    os.replace(temporary, pathlib.Path(folder, name))

            switch = threading.Thread(target=checkout, args=({str(folder)!r}, "feature"))
            switch.start()
            switch.join()
            {summary}
            """
        )
    else:
        traffic = Traffic(notebook)
        long_cell = traffic.execute(
            textwrap.dedent(
                f"""
                import pathlib, time
                print("running", flush=True)
                deadline = time.monotonic() + {CELL_TIMEOUT}
                while not pathlib.Path({str(switched)!r}).exists():
                    assert time.monotonic() < deadline, "the branch never switched"
                    time.sleep(0.01)
                {summary}
                """
            )
        )
        # Once the cell runs (its reload step is over), switch the branch under it.
        traffic.wait_until(lambda: "running" in traffic.cells[long_cell].stdout)
        checkout(folder, "feature")
        switched.touch()
        during = traffic.finish(long_cell)
    after = notebook.run(summary)

    assert during.check().result == str([("main",) * 5]), "no reload in the middle of a cell"
    assert after.check().result == str([("feature",) * 5])
    assert f"↻ reloaded {tree}.base" in after.stderr
