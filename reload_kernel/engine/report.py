"""Typed records of what one reload step did. The engine returns them; the kernel renders them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NamedTuple


class ReloadMode(enum.Enum):
    """How a module was brought up to date."""

    PATCHED = "patched"
    """Only function bodies changed: their code was swapped in, the top level did not run."""
    RERUN = "re-run"
    """The module's code ran again; existing functions and classes were updated in place."""
    COSMETIC = "cosmetic"
    """Only comments or formatting changed: line numbers were updated, nothing else."""


class ModuleReloaded(NamedTuple):
    """A module now runs the code on disk."""

    module: str
    path: str
    mode: ReloadMode
    functions: tuple[str, ...] = ()
    """Qualified names of functions whose definitions changed."""
    because_of: tuple[str, ...] = ()
    """For a module re-run only because modules it imports from changed: those modules."""


class ReloadFailed(NamedTuple):
    """A module could not be reloaded; it keeps its previous version."""

    module: str
    path: str
    error_type: str
    message: str
    lineno: int | None = None
    source_line: str | None = None


class FileMissing(NamedTuple):
    """A module's file was deleted or cannot be found; the module keeps its loaded version."""

    module: str
    path: str


class IdentityLost(NamedTuple):
    """An object could not be updated in place: code holding the old one keeps the old version."""

    module: str
    qualname: str
    reason: str


@dataclass
class Report:
    """Everything one reload step did, in the order it happened."""

    reloaded: list[ModuleReloaded] = field(default_factory=list)
    failed: list[ReloadFailed] = field(default_factory=list)
    missing: list[FileMissing] = field(default_factory=list)
    identity_lost: list[IdentityLost] = field(default_factory=list)
    rebound: list[str] = field(default_factory=list)
    """Names in the notebook's namespace rebound to the modules' new values."""

    def __bool__(self) -> bool:
        return bool(self.reloaded or self.failed or self.missing or self.identity_lost)

    @property
    def visible_reloads(self) -> list[ModuleReloaded]:
        """Reloads worth telling the user about (cosmetic ones change nothing they can see)."""
        return [entry for entry in self.reloaded if entry.mode is not ReloadMode.COSMETIC]
