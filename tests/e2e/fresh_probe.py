"""Runs inside the kernel: compares live modules with a fresh import of their files.

Copied into the scenario kernel's working directory as ``_rk_fresh.py``. Standard library only.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from types import ModuleType
from typing import Any

_SIMPLE = (int, float, str, bytes, bool, type(None))


def _fresh_copy(live: ModuleType) -> ModuleType:
    """Execute the live module's file as a new module, in the same package."""
    name = live.__name__ + "__rk_fresh"
    spec = importlib.util.spec_from_file_location(
        name, live.__file__, submodule_search_locations=getattr(live, "__path__", None)
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = live.__package__
    sys.modules[name] = module  # as during an import: dataclasses and enums look it up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def _own_names(module: ModuleType) -> dict[str, Any]:
    """Names the module's code defined (not dunders, not submodules imported under it)."""
    prefix = module.__name__ + "."
    return {
        key: value
        for key, value in vars(module).items()
        if not (key.startswith("__") and key.endswith("__"))
        and not (isinstance(value, ModuleType) and value.__name__ == prefix + key)
    }


def differences(name: str) -> list[str]:
    """How module ``name`` differs from a fresh import: missing/extra names, other values."""
    live_module = sys.modules[name]
    fresh = _own_names(_fresh_copy(live_module))
    live = _own_names(live_module)
    found = [f"missing {key}" for key in fresh.keys() - live.keys()]
    found += [f"extra {key}" for key in live.keys() - fresh.keys()]
    for key in fresh.keys() & live.keys():
        old, new = live[key], fresh[key]
        if type(old).__name__ != type(new).__name__:
            found.append(f"{key}: {type(old).__name__} instead of {type(new).__name__}")
        elif isinstance(new, _SIMPLE) and old != new:
            found.append(f"{key}: {old!r} instead of {new!r}")
    return sorted(found)


def json_differences(names: list[str]) -> str:
    """``{module: differences}`` for the modules that differ, as JSON."""
    report = {name: differences(name) for name in names}
    return json.dumps({name: found for name, found in report.items() if found})
