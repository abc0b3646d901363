"""Soak: thousands of edit → reload cycles while the notebook holds the module's objects.

    python benchmarks/soak.py                  # 2,000 cycles (a few minutes)
    python benchmarks/soak.py --cycles 200     # a shorter run

One "Python (autoreload)" kernel imports a module with classes (a subclass using ``super()``, a
dataclass, an enum, a class decorator filling a registry) and functions; the notebook holds
instances of them, a name imported with ``from``, and plain data. Then, every cycle, the module
is saved with a new version and a cell checks, in the kernel, that everything the notebook holds
runs the new version and that no variable was lost. Two cycles in three change only function
bodies (patched in place), every third also changes the top level (the module re-runs).

Figures: cycles and replies, failed checks, time per cycle, and the kernel process's resident
memory and open file descriptors, measured from outside (``/proc``, so Linux only) after the
warm-up cycles and at the end. The run fails (exit status 1) on any failed check or missing
reply, on resident memory growth of 20 MB or more, or on any leaked file descriptor.

The same soak, 100 cycles long, runs in the test suite (``tests/e2e/test_soak.py``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

MEMORY_GROWTH_LIMIT = 20 * 1024 * 1024
SQLITE_TRANSIENT_FILES = ("-journal", "-wal", "-shm")
MODULE_NAME = "soak_model"

MODULE_TEMPLATE = """\
import dataclasses
import enum

LEVEL = {level}
REGISTRY = []


def register(cls):
    REGISTRY.append(cls.__name__)
    return cls


class Color(enum.Enum):
    RED = 1
    GREEN = 2


@register
class Model:
    kind = "model {level}"

    def __init__(self, value):
        self.value = value

    def version(self):
        return {version}

    def scaled(self):
        return self.value * compute(1)


@register
class SubModel(Model):
    def version(self):
        return super().version() + 1000


@dataclasses.dataclass
class Point:
    x: int = 0
    y: int = 0

    def manhattan(self):
        return abs(self.x) + abs(self.y) + 0 * {version}


def compute(x):
    return x * {version}
"""

#: Run once: what the notebook holds, and the check each cycle runs (one short cell).
SETUP_CELL = f"""\
import {MODULE_NAME} as model
from {MODULE_NAME} import Model, SubModel, compute

held = [Model(value) for value in range(100)]
sub = SubModel(7)
point = model.Point(1, 2)
red = model.Color.RED
notes = {{"precious": list(range(1000)), "text": "hours of work"}}
notes_copy = {{key: list(value) if isinstance(value, list) else value
              for key, value in notes.items()}}
checks_passed = 0


def soak_check(version, level):
    global checks_passed
    assert compute(2) == 2 * version, ("from-import name", compute(2))
    assert model.compute(2) == 2 * version, "module function"
    assert all(instance.version() == version for instance in held), "held instances"
    assert held[3].scaled() == 3 * version, "method calling a module function"
    assert sub.version() == version + 1000, "subclass with super()"
    assert isinstance(sub, Model) and isinstance(held[0], model.Model), "isinstance"
    assert model.LEVEL == level and Model.kind == f"model {{level}}", "top level"
    assert red is model.Color.RED, "enum member identity"
    assert point.manhattan() == 3, "dataclass instance"
    assert model.REGISTRY == ["Model", "SubModel"], model.REGISTRY
    assert notes == notes_copy, "plain user data"
    checks_passed += 1
"""


def module_source(cycle: int) -> str:
    return MODULE_TEMPLATE.format(version=cycle, level=cycle // 3)


class SoakKernel(Protocol):
    """What the soak needs of a running kernel."""

    @property
    def workdir(self) -> Path: ...

    @property
    def pid(self) -> int: ...

    def run(self, code: str) -> str:
        """Execute a cell; "" when it succeeded, else its error. Raises when no reply comes."""
        ...


@dataclass
class SoakFigures:
    cycles: int = 0
    replies: int = 0
    failures: list[str] = field(default_factory=list)
    cycle_seconds: list[float] = field(default_factory=list)
    rss_after_warmup: int = 0
    rss_at_end: int = 0
    fds_after_warmup: dict[int, str] = field(default_factory=dict)
    fds_at_end: dict[int, str] = field(default_factory=dict)

    @property
    def memory_growth(self) -> int:
        return self.rss_at_end - self.rss_after_warmup

    @property
    def leaked_fds(self) -> list[str]:
        """Descriptors open at the end that were not open after the warm-up.

        IPython's history thread holds SQLite's journal open only while it writes: not a leak.
        """
        before = set(self.fds_after_warmup.items())
        return [
            target
            for fd, target in sorted(self.fds_at_end.items())
            if (fd, target) not in before and not target.endswith(SQLITE_TRANSIENT_FILES)
        ]

    @property
    def passed(self) -> bool:
        return (
            not self.failures
            and self.replies == self.cycles
            and self.memory_growth < MEMORY_GROWTH_LIMIT
            and not self.leaked_fds
        )

    def lines(self) -> list[str]:
        seconds = sorted(self.cycle_seconds)
        p95 = seconds[int(len(seconds) * 0.95)] if seconds else 0.0
        return [
            f"cycles:               {self.cycles} (edit → reload → check)",
            f"replies:              {self.replies}/{self.cycles}",
            f"failed checks:        {len(self.failures)}"
            + (f" (first: {self.failures[0]})" if self.failures else ""),
            f"time per cycle:       median {statistics.median(seconds) * 1000:.1f} ms, "
            f"95th percentile {p95 * 1000:.1f} ms"
            if seconds
            else "time per cycle: -",
            f"resident memory:      {self.rss_after_warmup / 2**20:.1f} MB after warm-up → "
            f"{self.rss_at_end / 2**20:.1f} MB at the end "
            f"(growth {self.memory_growth / 2**20:+.1f} MB, limit +20 MB)",
            f"open file descriptors: {len(self.fds_after_warmup)} after warm-up → "
            f"{len(self.fds_at_end)} at the end, leaked: {len(self.leaked_fds)}"
            + (f" {self.leaked_fds}" if self.leaked_fds else ""),
            "result:               " + ("PASS" if self.passed else "FAIL"),
        ]


def resident_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def open_descriptors(pid: int) -> dict[int, str]:
    """The process's open file descriptors and what each points to."""
    descriptors = {}
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            descriptors[int(name)] = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue  # closed while we looked
    return descriptors


def soak(
    kernel: SoakKernel,
    cycles: int,
    warmup: int,
    progress: Callable[[int], None] = lambda cycle: None,
) -> SoakFigures:
    """Import the module, then ``warmup`` + ``cycles`` edit → reload → check cycles."""
    path = kernel.workdir / f"{MODULE_NAME}.py"
    path.write_text(module_source(0), encoding="utf-8")
    error = kernel.run(SETUP_CELL)
    if error:
        raise RuntimeError(f"the soak's setup cell failed: {error}")
    figures = SoakFigures(cycles=cycles)
    for cycle in range(1, warmup + cycles + 1):
        if cycle == warmup + 1:
            figures.rss_after_warmup, figures.fds_after_warmup = _measure(kernel)
        path.write_text(module_source(cycle), encoding="utf-8")
        started = time.perf_counter()
        error = kernel.run(f"soak_check({cycle}, {cycle // 3})")
        if cycle > warmup:
            figures.cycle_seconds.append(time.perf_counter() - started)
            figures.replies += 1
            if error:
                figures.failures.append(f"cycle {cycle}: {error}")
        progress(cycle)
    figures.rss_at_end, figures.fds_at_end = _measure(kernel)
    error = kernel.run(f"assert checks_passed == {warmup + cycles - len(figures.failures)}")
    if error:
        figures.failures.append(f"checks counted in the kernel: {error}")
    return figures


def _measure(kernel: SoakKernel) -> tuple[int, dict[int, str]]:
    """Resident memory and open descriptors, after the kernel collected its garbage."""
    error = kernel.run("import gc as _gc; _gc.collect()")
    if error:
        raise RuntimeError(error)
    return resident_bytes(kernel.pid), open_descriptors(kernel.pid)


# --- the command ------------------------------------------------------------------------------


class _BenchmarkKernel:
    """A SoakKernel on top of the benchmarks' own kernel helper."""

    def __init__(self, workdir: Path) -> None:
        from kernels import JupyterHome, Kernel, kernel_kinds

        kind = next(kind for kind in kernel_kinds() if kind.name == "reload_kernel")
        self._home = JupyterHome([kind])
        self._kernel = Kernel(kind, workdir)
        self._kernel.start()

    @property
    def workdir(self) -> Path:
        return self._kernel.workdir

    @property
    def pid(self) -> int:
        return self._kernel.pid

    def run(self, code: str) -> str:
        result = self._kernel.run(code, timeout=120)
        return "" if result.status == "ok" else (result.error or result.status)

    def stop(self) -> None:
        self._kernel.stop()
        self._home.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=2000, help="measured cycles (2000)")
    parser.add_argument("--warmup", type=int, default=100, help="cycles before measuring (100)")
    options = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        print("the soak reads /proc: Linux only", file=sys.stderr)
        return 2
    sys.path.insert(0, str(Path(__file__).parent))
    total = options.warmup + options.cycles

    def progress(cycle: int) -> None:
        if cycle % 100 == 0 or cycle == total:
            print(f"\r{cycle}/{total} cycles", end="", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="rk-soak-") as scratch:
        kernel = _BenchmarkKernel(Path(scratch) / "work")
        started = time.perf_counter()
        try:
            figures = soak(kernel, options.cycles, options.warmup, progress)
        finally:
            kernel.stop()
        print(file=sys.stderr)
    print(f"reload_kernel soak, Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d')}")
    for line in figures.lines():
        print(line)
    print(f"wall time:            {time.perf_counter() - started:.0f} s")
    return 0 if figures.passed else 1


if __name__ == "__main__":
    sys.exit(main())
