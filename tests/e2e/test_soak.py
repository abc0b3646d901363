"""The soak of ``benchmarks/soak.py``, 100 cycles long: edit → reload → check, nothing lost.

Every cycle saves a new version of a module with classes and functions and checks, in the
kernel, that the instances, names and data the notebook holds are intact and run the new version.
The figures are the kernel process's, read from ``/proc`` (Linux). The full run (2,000 cycles)
is ``python benchmarks/soak.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from ..benchmark_scripts import load_benchmark
from .harness import Notebook

CYCLES = 100
WARMUP = 20

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the soak reads the kernel's figures in /proc"
)


def load_soak() -> ModuleType:
    return load_benchmark("soak.py", "soak_benchmark")


class NotebookKernel:
    """The soak's view of a test kernel."""

    def __init__(self, notebook: Notebook) -> None:
        self.notebook = notebook

    @property
    def workdir(self) -> Path:
        return self.notebook.workdir

    @property
    def pid(self) -> int:
        return int(self.notebook.manager.provisioner.process.pid)

    def run(self, code: str) -> str:
        cell = self.notebook.run(code)
        return "" if cell.status == "ok" else f"{cell.error}"


@pytest.fixture
def soak_kernel(notebook: Notebook) -> Iterator[NotebookKernel]:
    yield NotebookKernel(notebook)


def test_quick_soak_loses_nothing_and_leaks_nothing(soak_kernel: NotebookKernel) -> None:
    soak = load_soak()

    figures = soak.soak(soak_kernel, cycles=CYCLES, warmup=WARMUP)

    print("\n".join(figures.lines()))
    assert figures.failures == []
    assert figures.replies == CYCLES
    assert figures.leaked_fds == []
    assert figures.memory_growth < soak.MEMORY_GROWTH_LIMIT
