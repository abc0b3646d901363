"""The reload engine: keeps imported user modules in step with their source files.

It imports only the standard library, so it can be used and tested without a kernel. The
pipeline, one module per step: ``detect`` (what changed) → ``graph`` (in what order) →
``diff`` + ``load`` (load it, or leave it untouched) → ``patch`` (update live objects in place) →
``rebind`` (the notebook's names) → ``report`` (typed records of what happened).
"""

from .reloader import Reloader
from .report import (
    FileMissing,
    IdentityLost,
    ModuleReloaded,
    ReloadFailed,
    ReloadMode,
    Report,
)
from .usercode import UserCodePolicy

__all__ = [
    "FileMissing",
    "IdentityLost",
    "ModuleReloaded",
    "ReloadFailed",
    "ReloadMode",
    "Reloader",
    "Report",
    "UserCodePolicy",
]
