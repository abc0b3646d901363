"""Benchmark: plain ipykernel vs ipykernel + ``%autoreload 2`` vs reload_kernel, side by side.

    python benchmarks/run.py            # the full run (needs the ``bench`` extra: ~20 minutes)
    python benchmarks/run.py --quick    # a smoke-size run, standard library only (~1 minute)

Every figure is measured through jupyter_client as a frontend sees it: the time from sending an
execute request to receiving its reply. Kernels of the three kinds run at once, and samples are
taken interleaved (plain, autoreload, reload_kernel, plain, …) so that the machine's load
drifts over all three alike. Medians are reported.

Scales: a scientific stack (numpy, pandas, scipy, sympy, matplotlib) plus 200 user modules;
20,000 generated user modules; a heap of 1,000,000 live objects. Every edit a kernel reloads is
checked (the cell after it must see the new value); the run fails if reload_kernel misses one.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.metadata
import importlib.util
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from kernels import JupyterHome, Kernel, KernelKind, kernel_kinds
from workload import (
    SCIENTIFIC_STACK,
    STDLIB_STACK,
    import_cell,
    set_version,
    user_module_path,
    write_heap_module,
    write_many_modules,
    write_user_package,
)

PLAIN, AUTORELOAD, RELOAD_KERNEL = "plain", "autoreload", "reload_kernel"

#: The paced edit rounds send the cell this long after the save: a person saving in the
#: editor and then running the cell in the notebook takes longer than that.
SAVE_TO_CELL_SECONDS = 0.2


@dataclass(frozen=True)
class Sizes:
    start_rounds: int
    stack: list[str]
    user_modules: int
    idle_rounds: int
    processes: int
    """Kernel processes of plain ipykernel and of reload_kernel the stack's cells are timed in
    (see ``start_groups``); IPython's autoreload, which has no target, gets one."""
    edit_rounds: int
    paced_rounds: int
    bulk_modules: int
    bulk_rounds: int
    many_modules: int
    many_rounds: int
    heap_objects: int
    heap_reloads: int
    memory_reloads: int


FULL = Sizes(
    start_rounds=16,
    stack=SCIENTIFIC_STACK,
    user_modules=200,
    idle_rounds=300,
    processes=6,
    edit_rounds=250,
    paced_rounds=40,
    bulk_modules=200,
    bulk_rounds=5,
    many_modules=20_000,
    many_rounds=150,
    heap_objects=1_000_000,
    heap_reloads=50,
    memory_reloads=1_000,
)

QUICK = Sizes(
    start_rounds=1,
    stack=STDLIB_STACK,
    user_modules=20,
    idle_rounds=15,
    processes=2,
    edit_rounds=4,
    paced_rounds=2,
    bulk_modules=20,
    bulk_rounds=1,
    many_modules=400,
    many_rounds=5,
    heap_objects=10_000,
    heap_reloads=4,
    memory_reloads=20,
)


@dataclass
class Results:
    """Samples in seconds (or bytes) per measure and kernel kind, plus facts to print."""

    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    facts: dict[str, dict[str, object]] = field(default_factory=dict)
    missed_edits: dict[str, int] = field(default_factory=dict)

    def add(self, measure: str, kind: str, value: float) -> None:
        self.samples.setdefault(measure, {}).setdefault(kind, []).append(value)

    def fact(self, measure: str, kind: str, value: object) -> None:
        self.facts.setdefault(measure, {})[kind] = value

    def missed(self, kind: str, count: int = 1) -> None:
        self.missed_edits[kind] = self.missed_edits.get(kind, 0) + count

    def median(self, measure: str, kind: str) -> float | None:
        values = self.samples.get(measure, {}).get(kind)
        return statistics.median(values) if values else None


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _timed(name: str, kernel: Kernel, code: str) -> float:
    """Seconds from request to reply of a cell that must succeed."""
    result = kernel.run(code)
    if result.status != "ok":
        raise RuntimeError(f"{name}: timed cell failed: {result.error}")
    return result.seconds


def _run_module_fresh_cell(path: Path) -> str:
    """A cell defining ``_run_module_fresh()``: read, compile and run the module's file in a
    throwaway module, as a fresh import would (its relative imports resolve in ``userpkg``)."""
    return (
        "import sys as _sys, timeit as _timeit, types as _types\n"
        f"def _run_module_fresh(path={str(path)!r}):\n"
        "    module = _types.ModuleType('userpkg._probe')\n"
        "    module.__package__ = 'userpkg'\n"
        "    _sys.modules['userpkg._probe'] = module\n"
        "    with open(path, 'rb') as source:\n"
        "        exec(compile(source.read(), path, 'exec'), module.__dict__)\n"
        "    del _sys.modules['userpkg._probe']\n"
    )


# --- running kernels side by side -------------------------------------------------------------


class Bench:
    def __init__(self, sizes: Sizes, kinds: list[KernelKind], root: Path) -> None:
        self.sizes = sizes
        self.kinds = kinds
        self.root = root
        self.results = Results()
        self._spares: list[Kernel] = []

    def start_all(self, scale: str) -> dict[str, Kernel]:
        """One kernel of each kind, started in reverse order: reload_kernel first.

        The kernel started (and loaded) first answers more slowly than the others for as long
        as it lives (0.1-0.3 ms per round trip in 6 of 6 runs of six plain kernels, whichever
        index went first): that should never be plain ipykernel, against which the others
        are measured."""
        started = {}
        for kind in reversed(self.kinds):
            kernel = Kernel(kind, self.root / scale / kind.name)
            kernel.start()
            started[kind.name] = kernel
        return {kind.name: started[kind.name] for kind in self.kinds}

    @staticmethod
    def stop_all(kernels: Iterable[Kernel]) -> None:
        for kernel in kernels:
            kernel.stop()

    def interleaved(
        self,
        kernels: dict[str, Kernel],
        rounds: int,
        measure: str,
        before_cell: Callable[[str, Kernel, int], None] | None = None,
        after_cell: Callable[[str, Kernel, int], None] | None = None,
        code: str = "pass",
    ) -> None:
        """``rounds`` times: for each kernel in turn, prepare, time one cell, check."""
        for round_index in range(rounds):
            for name, kernel in kernels.items():
                if before_cell is not None:
                    before_cell(name, kernel, round_index)
                self.results.add(measure, name, _timed(name, kernel, code))
                if after_cell is not None:
                    after_cell(name, kernel, round_index)

    def count_modules(self, kernels: dict[str, Kernel], measure: str) -> None:
        for name, kernel in kernels.items():
            self.results.fact(measure, name, kernel.value("len(__import__('sys').modules)"))

    # --- start-up -------------------------------------------------------------------------

    def startup(self) -> None:
        progress("kernel start to first reply")
        for round_index in range(self.sizes.start_rounds):
            for kind in self.kinds:
                kernel = Kernel(kind, self.root / "start" / f"{kind.name}-{round_index}")
                try:
                    self.results.add("start", kind.name, kernel.start())
                finally:
                    kernel.stop()

    # --- scientific stack + user package ---------------------------------------------------

    def stack(self) -> None:
        groups = self._stack_groups()
        kernels = {name: group[0] for name, group in groups.items()}
        try:
            self.idle_rows(groups)
            self.in_process_idle_cost(kernels)
            self.edit_one(groups)
            self.bulk_edit(kernels)
            self.memory(kernels)
        finally:
            self.stop_groups(groups)

    def idle(self) -> None:
        """The stack's idle rows alone (``--only idle``): the closest look at the idle targets,
        with more rounds given by ``--idle-rounds``."""
        groups = self._stack_groups()
        try:
            self.idle_rows(groups)
        finally:
            self.stop_groups(groups)

    def _stack_groups(self) -> dict[str, list[Kernel]]:
        progress(f"stack: {', '.join(self.sizes.stack)} + {self.sizes.user_modules} user modules")
        return self.start_groups("stack", self._load_stack)

    def idle_rows(self, groups: dict[str, list[Kernel]]) -> None:
        self.count_modules({name: group[0] for name, group in groups.items()}, "idle (stack)")
        progress(f"stack: idle cells, {self.sizes.processes} processes of each kind")
        self.idle_across(groups, "idle (stack)")
        self.idle_switched(groups)

    def start_groups(
        self, scale: str, load: Callable[[Kernel], None], processes: int | None = None
    ) -> dict[str, list[Kernel]]:
        """``processes`` kernels of plain ipykernel and of reload_kernel (one of IPython's
        autoreload), each started and loaded by ``load`` in turns.

        Two processes of the same kernel differ by up to a few tenths of a millisecond per
        round trip for as long as they live (where their memory landed, which core their
        threads wake on), as much as the overheads sought; and the one started and loaded
        first was the slower in 9 of 9 runs of six plain kernels. So the cells of this scale
        are timed in every process (a kind's value for a round is the mean over its
        processes), a kernel started and loaded first is used for nothing, and the order of
        starting alternates between plain and reload_kernel."""
        spare = Kernel(self.kinds[0], self.root / scale / "spare")
        spare.start()
        self._spares.append(spare)
        load(spare)
        groups: dict[str, list[Kernel]] = {kind.name: [] for kind in self.kinds}
        for copy in range(processes or self.sizes.processes):
            kinds = self.kinds if copy % 2 else list(reversed(self.kinds))
            for kind in kinds:
                if kind.name == AUTORELOAD and copy:
                    continue
                kernel = Kernel(kind, self.root / scale / f"{kind.name}-{copy}")
                kernel.start()
                groups[kind.name].append(kernel)
                load(kernel)
        return groups

    def stop_groups(self, groups: dict[str, list[Kernel]]) -> None:
        """Stop what ``start_groups`` started, its spare kernel too."""
        self.stop_all(kernel for group in groups.values() for kernel in group)
        self.stop_all(self._spares)
        self._spares.clear()

    def _load_stack(self, kernel: Kernel) -> None:
        names = write_user_package(kernel.workdir, self.sizes.user_modules)
        kernel.check(import_cell(self.sizes.stack + names), timeout=900)

    def idle_across(
        self, groups: dict[str, list[Kernel]], measure: str, rounds: int | None = None
    ) -> None:
        """``pass`` cells in every process (see ``start_groups``): each round times one cell
        in every process, and a kind's value for the round is the mean over its processes.
        One half of plain's processes against the other shows the floor of this measure
        (``measure`` + " A/A")."""
        for _ in range(rounds or self.sizes.idle_rounds):
            seconds: dict[str, list[float]] = {name: [] for name in groups}
            for index in range(max(len(group) for group in groups.values())):
                for name, group in groups.items():
                    if index < len(group):
                        seconds[name].append(_timed(name, group[index], "pass"))
            for name, values in seconds.items():
                self.results.add(measure, name, statistics.mean(values))
            plain = seconds.get(PLAIN, [])
            if len(plain) >= 2:
                half = len(plain) // 2
                floor = statistics.mean(plain[half:]) - statistics.mean(plain[:half])
                self.results.add(measure + " A/A", PLAIN, floor)

    def idle_switched(self, groups: dict[str, list[Kernel]]) -> None:
        """``pass`` cells in reload_kernel's processes with its own cell handling off and on
        (``ReloadKernel.do_execute`` swapped for ``IPythonKernel``'s by a silent cell): the
        very same processes, so whatever a process's memory placement adds to its round trips
        cancels out. Off is recorded as plain's value. Each round also times the cells off a
        second time: off against off is this measure's floor (" A/A"). The three states take
        turns at going first."""
        ours = groups.get(RELOAD_KERNEL, [])
        others = [
            kernel for name, group in groups.items() if name != RELOAD_KERNEL for kernel in group
        ]
        for kernel in ours:
            kernel.check(_SWITCH_PROBE, silent=True)
        states = ["off", "on", "off again"]
        for round_index in range(self.sizes.idle_rounds):
            turn = round_index % len(states)
            seconds: dict[str, float] = {}
            for state in states[turn:] + states[:turn]:
                for kernel in ours:
                    kernel.check(f"_reload_kernel_cells({state == 'on'})", silent=True)
                for kernel in others[:2]:  # (no timed cell comes right after its process's own)
                    kernel.run("pass")
                seconds[state] = statistics.mean(
                    _timed(RELOAD_KERNEL, kernel, "pass") for kernel in ours
                )
            self.results.add("idle switched (stack)", PLAIN, seconds["off"])
            self.results.add("idle switched (stack)", RELOAD_KERNEL, seconds["on"])
            floor = seconds["off again"] - seconds["off"]
            self.results.add("idle switched (stack) A/A", PLAIN, floor)
        for kernel in ours:
            kernel.check("_reload_kernel_cells(True)", silent=True)

    def in_process_idle_cost(self, kernels: dict[str, Kernel]) -> None:
        """The reload check alone, timed inside the kernel (no messaging noise)."""
        probes = {
            AUTORELOAD: (
                "_m = get_ipython().magics_manager.registry['AutoreloadMagics']\n"
                "_check = lambda: _m._reloader.check()\n"
            ),
            RELOAD_KERNEL: "_check = lambda: get_ipython().kernel.reloader.reload({})\n",
        }
        for name, setup in probes.items():
            if name in kernels:
                kernels[name].check(setup + "import timeit as _t\n")
                seconds = kernels[name].value(
                    "sorted(_t.repeat(_check, number=20, repeat=15))[7] / 20"
                )
                self.results.add("in-process check (stack)", name, seconds)
        if RELOAD_KERNEL in kernels:
            self.results.add(
                "in-process cell (stack)",
                RELOAD_KERNEL,
                self._added_per_cell(kernels[RELOAD_KERNEL]),
            )

    @staticmethod
    def _added_per_cell(kernel: Kernel) -> float:
        """What ReloadKernel.do_execute adds to IPythonKernel.do_execute for a ``pass`` cell,
        both driven in the kernel's own process (their medians, alternated)."""
        kernel.check(_DO_EXECUTE_PROBE, silent=True)
        seconds: float = kernel.value("_added_per_cell")
        return seconds

    def edit_one(self, groups: dict[str, list[Kernel]]) -> None:
        """One module edited before each cell, against plain ipykernel running that module's
        file fresh in a cell: the plain round trip plus the module's own run, measured in the
        same conditions as the reload (a cell of its own, garbage collector on, caches as
        cold as between any two cells)."""
        progress("stack: one module edited before each cell")
        index = min(7, self.sizes.user_modules - 1)
        for group in groups.values():
            for running in group:
                running.check(_run_module_fresh_cell(user_module_path(running.workdir, index)))
        ours = groups[RELOAD_KERNEL][0]
        # The module's own run timed alone, back to back (hot caches, no collector): the
        # least it can cost, shown beside the table.
        own_time = ours.value("min(_timeit.repeat(_run_module_fresh, number=1, repeat=20))")
        self.results.fact("module's own run", RELOAD_KERNEL, own_time)
        self._edit_rounds(groups, index, "", pause=0.0, first_version=1000)
        progress(f"stack: one module edited, the cell sent {SAVE_TO_CELL_SECONDS}s after the save")
        self._edit_rounds(groups, index, " (paced)", pause=SAVE_TO_CELL_SECONDS, first_version=2000)
        self.in_process_edit_cost({name: group[0] for name, group in groups.items()}, index)

    def _edit_rounds(
        self,
        groups: dict[str, list[Kernel]],
        index: int,
        suffix: str,
        pause: float,
        first_version: int,
    ) -> None:
        """Rounds of, in each process in turn: plain runs a ``pass`` cell; each reloading
        kernel gets the module saved, then a ``pass`` cell; plain runs a cell running the
        module fresh. A kind's value for a round is the mean over its processes.

        ``pause``: the time between the save (or, for plain, the previous cell) and the timed
        cell. Each kernel's timed cell comes after the other kernels' cells, never right after
        one of its own (a kernel that just ran a cell answers the next one faster)."""
        module = f"userpkg.mod_{index:03d}"
        rounds = self.sizes.paced_rounds if pause else self.sizes.edit_rounds
        for round_index in range(rounds):
            version = first_version + round_index
            seconds: dict[tuple[str, str], list[float]] = {}
            for process in range(self.sizes.processes):
                in_turn = {
                    name: group[process] for name, group in groups.items() if process < len(group)
                }
                plain = in_turn.pop(PLAIN, None)
                if plain is not None:
                    time.sleep(pause)
                    seconds.setdefault(("one edit", PLAIN), []).append(plain.run("pass").seconds)
                for name, running in in_turn.items():
                    set_version(user_module_path(running.workdir, index), version)
                    time.sleep(pause)  # a person going from the editor to the notebook
                    seconds.setdefault(("one edit", name), []).append(_timed(name, running, "pass"))
                    if running.value(f"__import__('sys').modules[{module!r}].VERSION") != version:
                        self.results.missed(name)
                if plain is not None:
                    time.sleep(pause)
                    fresh = plain.run("_run_module_fresh()").seconds
                    seconds.setdefault(("fresh run", PLAIN), []).append(fresh)
            for (measure, name), values in seconds.items():
                self.results.add(f"{measure}{suffix} (stack)", name, statistics.mean(values))

    def in_process_edit_cost(self, kernels: dict[str, Kernel], index: int) -> None:
        """The reload of one edited module alone, timed inside the kernel."""
        probes = {
            AUTORELOAD: (
                "get_ipython().magics_manager.registry['AutoreloadMagics']._reloader.check()"
            ),
            RELOAD_KERNEL: "get_ipython().kernel.reloader.reload(get_ipython().user_ns)",
        }
        for round_index in range(self.sizes.edit_rounds):
            for name, call in probes.items():
                running = kernels[name]
                set_version(user_module_path(running.workdir, index), 3000 + round_index)
                # Silent: the kernel's own reload step must not take the edit first.
                running.check(
                    "_started = __import__('time').perf_counter()\n"
                    f"{call}\n"
                    "_reload_seconds = __import__('time').perf_counter() - _started\n",
                    silent=True,
                )
                seconds = running.value("_reload_seconds")
                if (
                    name == RELOAD_KERNEL
                    and running.value(
                        f"__import__('sys').modules['userpkg.mod_{index:03d}'].VERSION"
                    )
                    != 3000 + round_index
                ):
                    self.results.missed(name)
                self.results.add("in-process edit (stack)", name, seconds)

    def bulk_edit(self, kernels: dict[str, Kernel]) -> None:
        count = self.sizes.bulk_modules
        progress(f"stack: {count} modules rewritten before one cell")
        reloading = {name: kernel for name, kernel in kernels.items() if name != PLAIN}

        def edit_all(name: str, running: Kernel, round_index: int) -> None:
            for index in range(min(count, self.sizes.user_modules)):
                set_version(user_module_path(running.workdir, index), 5000 + round_index)

        def verify(name: str, running: Kernel, round_index: int) -> None:
            versions = running.value(
                "[__import__('sys').modules[f'userpkg.mod_{i:03d}'].VERSION "
                f"for i in range({min(count, self.sizes.user_modules)})]"
            )
            self.results.missed(name, sum(v != 5000 + round_index for v in versions))

        self.interleaved(reloading, self.sizes.bulk_rounds, "bulk edit (stack)", edit_all, verify)

    def memory(self, kernels: dict[str, Kernel]) -> None:
        count = self.sizes.memory_reloads
        progress(f"stack: memory over {count} reloads of one module")
        reloading = {name: kernel for name, kernel in kernels.items() if name != PLAIN}
        warm = max(count // 10, 1)

        def edit(name: str, running: Kernel, round_index: int) -> None:
            set_version(user_module_path(running.workdir, 1), 20_000 + round_index)

        def measure(name: str, running: Kernel, round_index: int) -> None:
            if round_index + 1 in (warm, count):
                running.check("import gc as _gc; _gc.collect()")
                self.results.add(f"rss after reloads {round_index + 1}", name, running.rss_bytes())

        self.interleaved(reloading, count, "memory reloads", edit, measure)
        for name in reloading:
            first = self.results.median(f"rss after reloads {warm}", name) or 0
            last = self.results.median(f"rss after reloads {count}", name) or 0
            self.results.fact("memory growth", name, last - first)

    # --- 20,000 user modules ---------------------------------------------------------------

    def many(self) -> None:
        count = self.sizes.many_modules
        progress(f"{count} user modules: writing and importing")
        shared = self.root / "many-modules"
        names = write_many_modules(shared, count)

        def load(kernel: Kernel) -> None:
            kernel.check(f"import sys; sys.path.insert(0, {str(shared)!r})")
            kernel.check(import_cell(names), timeout=1800)

        # (Fewer processes than the stack's: each imports 20,000 modules.)
        groups = self.start_groups("many", load, processes=max(self.sizes.processes // 2, 2))
        try:
            self.count_modules({name: group[0] for name, group in groups.items()}, "idle (many)")
            progress(f"{count} user modules: idle cells")
            self.idle_across(groups, "idle (many)", self.sizes.many_rounds)
        finally:
            self.stop_groups(groups)

    # --- a big heap --------------------------------------------------------------------------

    def heap(self) -> None:
        objects = self.sizes.heap_objects
        progress(f"heap: reloads with an empty heap, then with {objects:,} live objects")
        kernels = self.start_all("heap")
        try:
            for kernel in kernels.values():
                write_heap_module(kernel.workdir)
                kernel.check("import heapmod")
            version = 0

            def edit(name: str, running: Kernel, round_index: int) -> None:
                set_version(running.workdir / "heapmod.py", version + round_index)

            def verify(name: str, running: Kernel, round_index: int) -> None:
                seen = running.value("heapmod.Point(0).norm()")
                if name != PLAIN and seen != version + round_index:
                    self.results.missed(name)

            rounds = max(self.sizes.heap_reloads // 5, 2)
            self.interleaved(kernels, rounds, "reload, small heap", edit, verify)
            version = 100
            for kernel in kernels.values():
                kernel.check(
                    f"objects = [heapmod.Point(i) for i in range({objects})]\n"
                    "import gc; gc.collect()"
                )
            reloads = self.sizes.heap_reloads
            self.interleaved(kernels, reloads, "reload, big heap", edit, verify)
        finally:
            self.stop_all(kernels.values())


_SWITCH_PROBE = """
from reload_kernel.kernel import ReloadKernel as _ReloadKernel
from ipykernel.ipkernel import IPythonKernel as _IPythonKernel
_reload_kernel_do_execute = _ReloadKernel.do_execute
def _reload_kernel_cells(on):
    _ReloadKernel.do_execute = _reload_kernel_do_execute if on else _IPythonKernel.do_execute
"""

_DO_EXECUTE_PROBE = """
import statistics as _statistics, time as _time
from ipykernel.ipkernel import IPythonKernel as _Base
_kernel = get_ipython().kernel

def _drive(coroutine):
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("do_execute suspended")

def _one(method):
    started = _time.perf_counter()
    for _ in range(20):
        _drive(method(_kernel, "pass", False, store_history=False))
    return (_time.perf_counter() - started) / 20

_ours, _theirs = [], []
for _ in range(40):
    _ours.append(_one(type(_kernel).do_execute))
    _theirs.append(_one(_Base.do_execute))
_added_per_cell = _statistics.median(_ours) - _statistics.median(_theirs)
"""


# --- the report ---------------------------------------------------------------------------------


def milliseconds(value: float | None) -> str:
    return "–" if value is None else f"{value * 1000:.2f} ms"


def row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def report(results: Results, sizes: Sizes, kinds: list[KernelKind]) -> tuple[str, bool]:
    """The table, and whether every target was met."""
    names = [kind.name for kind in kinds]
    lines = [
        row(
            [
                "measure (median)",
                *[kind.label for kind in kinds],
                "reload_kernel − plain, paired (95% interval)",
                "target",
            ]
        ),
        row(["---"] * (len(kinds) + 3)),
    ]
    all_met = True

    def line(
        measure: str, label: str, target: str, limit: float | None, ours: str | None = None
    ) -> None:
        """A row of ``measure``; the paired difference is reload_kernel's ``ours`` (default:
        the same measure) minus plain's ``measure``."""
        nonlocal all_met
        values = [results.median(measure, name) for name in names]
        differences = paired_differences(results, measure, ours)
        overhead = statistics.median(differences) if differences else None
        verdict = ""
        if limit is not None and overhead is not None:
            met = overhead <= limit
            all_met &= met
            verdict = " ✓" if met else " ✗"
        delta = "–" if overhead is None else with_interval(overhead, differences)
        lines.append(row([label, *[milliseconds(v) for v in values], delta, target + verdict]))

    def floor_row(measure: str, label: str) -> None:
        """A row showing the median of ``measure``'s A/A differences (the floor of a paired
        measure: how far the same kernel is from itself), with their interval."""
        floor = results.median(measure, PLAIN)
        if floor is None:
            return
        shown = with_interval(floor, results.samples[measure][PLAIN])
        lines.append(row([label, *["" for _ in names], shown, ""]))

    stack_modules = results.facts.get("idle (stack)", {})
    many_modules = results.facts.get("idle (many)", {})
    own = results.facts.get("module's own run", {}).get(RELOAD_KERNEL)
    line("start", "kernel start → first reply", "≤ +100 ms", 0.100)
    line(
        "idle (stack)",
        f"`pass` cell, stack + {sizes.user_modules} user modules "
        f"({_modules(stack_modules)} modules)",
        "≤ +0.1 ms",
        0.0001,
    )
    floor_row(
        "idle (stack) A/A",
        "  plain ipykernel's processes, half against half (this measure's floor)",
    )
    line(
        "idle switched (stack)",
        "  reload_kernel's own processes, its cell handling off (plain column) and on",
        "≤ +0.1 ms",
        0.0001,
    )
    floor_row(
        "idle switched (stack) A/A",
        "    the same processes, off against off in the same rounds (this measure's floor)",
    )
    line(
        "in-process check (stack)",
        "  the per-cell check alone, inside the kernel",
        "",
        None,
    )
    line(
        "in-process cell (stack)",
        "  all the kernel adds to a `pass` cell, inside the kernel",
        "",
        None,
    )
    own_label = "?" if own is None else f"{float(own) * 1000:.2f} ms"  # type: ignore[arg-type]
    line(
        "one edit (stack)",
        f"cell sent right after 1 module was saved (its own run alone: {own_label})",
        "",
        None,
    )
    line(
        "fresh run (stack)",
        "  plain: a cell running that module's file fresh (round trip + its own run)",
        "≤ +1 ms",
        0.001,
        ours="one edit (stack)",
    )
    line(
        "one edit (paced) (stack)",
        f"cell sent {SAVE_TO_CELL_SECONDS * 1000:.0f} ms after 1 module was saved",
        "",
        None,
    )
    line(
        "fresh run (paced) (stack)",
        "  plain: a cell running that module's file fresh, as long after its previous cell",
        "≤ +1 ms",
        0.001,
        ours="one edit (paced) (stack)",
    )
    line("in-process edit (stack)", "  the reload step alone, inside the kernel", "", None)
    line("bulk edit (stack)", f"cell after {sizes.bulk_modules} modules rewritten", "≪ 1 s", None)
    line(
        "idle (many)",
        f"`pass` cell, {sizes.many_modules:,} user modules ({_modules(many_modules)} modules)",
        "≤ +0.5 ms",
        0.0005,
    )
    line("reload, small heap", "cell reloading a class, empty heap", "", None)
    line(
        "reload, big heap",
        f"cell reloading a class, {sizes.heap_objects:,} live objects",
        "= small heap",
        None,
    )
    lines.append(_heap_trend(results, names))
    lines.append(_memory_row(results, sizes, names))
    lines.append(
        row(
            [
                "edits missed",
                *[
                    str(results.missed_edits.get(name, 0)) if name != PLAIN else "–"
                    for name in names
                ],
                "",
                "0",
            ]
        )
    )
    return "\n".join(lines), all_met


def paired_differences(results: Results, measure: str, ours: str | None = None) -> list[float]:
    """Per round, reload_kernel − plain, each pair taken moments apart: plain's ``measure``
    against reload_kernel's ``ours`` (by default the same measure); none when the measure was
    not run. The table shows their median.

    On a loaded machine the spread of single round trips is far wider than the difference
    sought; pairing samples of the same round cancels most of the drift.
    """
    plain = results.samples.get(measure, {}).get(PLAIN)
    reloading = results.samples.get(ours or measure, {}).get(RELOAD_KERNEL)
    if not plain or not reloading or len(plain) != len(reloading):
        return []
    return [mine - theirs for mine, theirs in zip(reloading, plain, strict=True)]


def with_interval(median: float, values: list[float]) -> str:
    """``median`` (of ``values``, in seconds) in milliseconds, with its interval when the
    values are enough to give one."""
    shown = f"{median * 1000:+.2f} ms"
    interval = median_interval(values)
    if interval is not None:
        low, high = interval
        shown += f" ({low * 1000:+.2f} to {high * 1000:+.2f})"
    return shown


def median_interval(values: list[float], resamples: int = 2000) -> tuple[float, float] | None:
    """A 95% bootstrap interval for the median of ``values`` (None for fewer than 10): how far
    the median could move had the same rounds been drawn again. A target within the interval
    is not settled by the run. Seeded, so the same samples print the same table."""
    if len(values) < 10:
        return None
    draw = random.Random(0).choices
    medians = sorted(statistics.median(draw(values, k=len(values))) for _ in range(resamples))
    return medians[int(resamples * 0.025)], medians[int(resamples * 0.975) - 1]


def _modules(counts: dict[str, object]) -> str:
    values = sorted({int(value) for value in counts.values()})  # type: ignore[call-overload]
    return "–" if not values else "–".join(f"{value:,}" for value in (values[0], values[-1]))


def _heap_trend(results: Results, names: list[str]) -> str:
    cells = []
    for name in names:
        values = results.samples.get("reload, big heap", {}).get(name, [])
        if len(values) < 4:
            cells.append("–")
            continue
        fifth = max(len(values) // 5, 2)
        first, last = statistics.mean(values[:fifth]), statistics.mean(values[-fifth:])
        cells.append(f"{first * 1000:.1f} → {last * 1000:.1f} ms")
    return row(["  big heap: first → last reloads (mean of a fifth)", *cells, "", "flat"])


def _memory_row(results: Results, sizes: Sizes, names: list[str]) -> str:
    cells = []
    for name in names:
        growth = results.facts.get("memory growth", {}).get(name)
        cells.append("–" if growth is None else f"{int(growth) / 1e6:+.1f} MB")  # type: ignore[call-overload]
    warm = max(sizes.memory_reloads // 10, 1)
    label = f"resident memory, reload {warm} → {sizes.memory_reloads}"
    return row([label, *cells, "", "flat"])


def environment_summary(sizes: Sizes) -> str:
    def version(package: str) -> str:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            models = [line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line]
        cpu = f"{models[0]} ×{len(models)}" if models else cpu
    except OSError:
        pass
    packages = ["ipykernel", "ipython", "jupyter_client", "reload-kernel"]
    if sizes.stack is SCIENTIFIC_STACK:
        packages += ["numpy", "pandas", "scipy", "sympy", "matplotlib"]
    return "\n".join(
        [
            f"machine: {cpu}; {platform.system()} {platform.release()}; "
            f"load average {os.getloadavg()[0]:.1f} at the end",
            f"python {platform.python_version()}; "
            + ", ".join(f"{package} {version(package)}" for package in packages),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke size, standard library only")
    parser.add_argument("--json", type=Path, help="also write every sample to this file")
    parser.add_argument(
        "--report",
        type=Path,
        metavar="JSON",
        help="print the table of a run saved with --json (a full run's) and run nothing",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["startup", "stack", "many", "heap", "idle"],
        help="run only these parts (idle: the stack's idle rows, which stack runs too)",
    )
    parser.add_argument(
        "--idle-rounds",
        type=int,
        metavar="N",
        help="rounds of idle cells (default 300, or 15 with --quick)",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.idle_rounds is not None:
        sizes = replace(sizes, idle_rounds=args.idle_rounds)
    if args.report:
        saved = json.loads(args.report.read_text(encoding="utf-8"))
        if "missed_edits" not in saved:
            sys.exit(f"{args.report}: no missed_edits in it (saved before --report existed)")
        results = Results(saved["samples"], saved["facts"], saved["missed_edits"])
        print(report(results, sizes, kernel_kinds())[0])
        return 0
    if sizes.stack is SCIENTIFIC_STACK:
        _require_stack()
    _compile_own_bytecode()
    kinds = kernel_kinds()
    home = JupyterHome(kinds)
    bench = Bench(sizes, kinds, Path(tempfile.mkdtemp(prefix="rk-bench-work-")))
    parts = {
        "startup": bench.startup,
        "stack": bench.stack,
        "many": bench.many,
        "heap": bench.heap,
        "idle": bench.idle,
    }
    started = time.perf_counter()
    try:
        chosen = args.only or [name for name in parts if name != "idle"]  # (stack runs them)
        for name, part in parts.items():
            if name in chosen:
                part()
    finally:
        home.cleanup()
    table, all_met = report(bench.results, sizes, kinds)
    command = "python benchmarks/run.py" + (" --quick" if args.quick else "")
    print(f"\n{command}  ({time.perf_counter() - started:.0f} s)")
    print(environment_summary(sizes))
    print()
    print(table)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "samples": bench.results.samples,
                    "facts": bench.results.facts,
                    "missed_edits": bench.results.missed_edits,
                },
                indent=1,
            ),
            encoding="utf-8",
        )
    missed = bench.results.missed_edits.get(RELOAD_KERNEL, 0)
    if missed:
        print(f"\nFAILED: reload_kernel missed {missed} edit(s)", file=sys.stderr)
        return 1
    if not all_met:
        print("\nnote: some timing targets were not met on this run (✗)", file=sys.stderr)
    return 0


def _compile_own_bytecode() -> None:
    """Write reload_kernel's ``__pycache__`` as a regular install would (the libraries the
    other kernels import have theirs): kernel start-up is compared like for like."""
    spec = importlib.util.find_spec("reload_kernel")
    for location in (spec.submodule_search_locations or []) if spec else []:
        compileall.compile_dir(location, quiet=1)


def _require_stack() -> None:
    missing = []
    for package in ("numpy", "pandas", "scipy", "sympy", "matplotlib"):
        try:
            importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            missing.append(package)
    if missing:
        sys.exit(
            f"the full run needs {', '.join(missing)}: pip install -e '.[bench]' "
            "(or run with --quick)"
        )


if __name__ == "__main__":
    sys.exit(main())
