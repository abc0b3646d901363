"""The module sets the benchmark loads: a user package, many tiny modules, a class for a big heap.

Edits rewrite a file in place (truncate and write), as most editors save.
"""

from __future__ import annotations

import re
from pathlib import Path

#: The scientific stack of the full run (the ``bench`` extra installs it).
SCIENTIFIC_STACK = [
    "numpy",
    "pandas",
    "scipy",
    "scipy.stats",
    "scipy.optimize",
    "scipy.signal",
    "sympy",
    "matplotlib",
    "matplotlib.pyplot",
]

#: A stand-in for --quick (and for machines without the ``bench`` extra): standard library only.
STDLIB_STACK = [
    "asyncio",
    "decimal",
    "email.mime.multipart",
    "http.client",
    "json",
    "logging.handlers",
    "multiprocessing",
    "sqlite3",
    "unittest.mock",
    "xml.etree.ElementTree",
]

USER_PACKAGE = "userpkg"

_USER_MODULE = '''\
"""User module {index}: a few helpers, a record type and a class, as notebooks import them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
{parent_import}
VERSION = 0
SCALE = {index} / 10


@dataclass
class Record{index}:
    name: str
    value: float = 0.0
    tags: list[str] = field(default_factory=list)

    def scaled(self, factor: float = SCALE) -> float:
        return self.value * factor


class Model{index}:
    """A small stateful object."""

    def __init__(self, weights: list[float]) -> None:
        self.weights = list(weights)

    def predict(self, values: list[float]) -> float:
        return sum(w * v for w, v in zip(self.weights, values)) + VERSION

    def __repr__(self) -> str:
        return f"Model{index}({{self.weights!r}})"


def helper_{index}(x: float) -> float:
    return math.sqrt(abs(x)) * SCALE + VERSION


def summarize_{index}(records: list[Record{index}]) -> float:
    return sum(record.value for record in records) / max(len(records), 1)
'''

_HEAP_MODULE = """\
VERSION = 0


class Point:
    def __init__(self, x: int) -> None:
        self.x = x

    def norm(self) -> int:
        return abs(self.x) + VERSION
"""

_TINY_MODULE = "VERSION = 0\n\n\ndef value():\n    return VERSION\n"

_VERSION_LINE = re.compile(r"^VERSION = .*$", re.MULTILINE)


def write_user_package(root: Path, count: int) -> list[str]:
    """``userpkg/mod_000.py`` … : each imports a helper from its "parent" (a tree, log depth)."""
    package = root / USER_PACKAGE
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text('"""The user\'s own package."""\n', encoding="utf-8")
    names = []
    for index in range(count):
        parent_import = (
            f"from .mod_{(index - 1) // 2:03d} import helper_{(index - 1) // 2}\n" if index else ""
        )
        source = _USER_MODULE.format(index=index, parent_import=parent_import)
        (package / f"mod_{index:03d}.py").write_text(source, encoding="utf-8")
        names.append(f"{USER_PACKAGE}.mod_{index:03d}")
    return names


def user_module_path(root: Path, index: int) -> Path:
    return root / USER_PACKAGE / f"mod_{index:03d}.py"


def write_many_modules(root: Path, count: int, per_package: int = 200) -> list[str]:
    """``many_000/m_000.py`` …: ``count`` tiny modules in packages of ``per_package``."""
    names = []
    for index in range(count):
        package = root / f"many_{index // per_package:03d}"
        if index % per_package == 0:
            package.mkdir(parents=True, exist_ok=True)
            (package / "__init__.py").write_text("", encoding="utf-8")
        (package / f"m_{index % per_package:03d}.py").write_text(_TINY_MODULE, encoding="utf-8")
        names.append(f"many_{index // per_package:03d}.m_{index % per_package:03d}")
    return names


def write_heap_module(root: Path) -> Path:
    path = root / "heapmod.py"
    path.write_text(_HEAP_MODULE, encoding="utf-8")
    return path


def set_version(path: Path, version: int) -> None:
    """Save the file with ``VERSION = version`` (a top-level edit: the module runs again)."""
    source = path.read_text(encoding="utf-8")
    path.write_text(_VERSION_LINE.sub(f"VERSION = {version}", source, count=1), encoding="utf-8")


def import_cell(names: list[str]) -> str:
    """A cell importing ``names`` (one ``import`` each, like a notebook's first cell)."""
    return f"import importlib\nfor _name in {names!r}:\n    importlib.import_module(_name)\n"
