"""Everything the kernel says, as plain text: reload lines, failures, the status, the notes.

Rendering is kept apart from the kernel so each wording can be tested without one. The reload
lines go to the cell's stderr stream: frontends show it, and batch tools such as papermill do
not treat it as a failure (they do fail a run on any ``error`` output).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from .engine import ModuleReloaded, ReloadFailed, ReloadMode, Report

RELOADED = "↻"
WARNING = "⚠"

#: A brief line names at most this many modules, and this many functions per module.
MAX_MODULES_NAMED = 5
MAX_FUNCTIONS_NAMED = 3
#: Longer error messages are cut here: one line must stay one line.
MAX_MESSAGE_LENGTH = 200
#: ``%reload_kernel status`` names at most this many tracked modules.
MAX_TRACKED_NAMED = 30

AUTORELOAD_NOTE = (
    "ℹ %autoreload is not needed in this kernel: it loads your edits before every cell "
    "(IPython's autoreload is switched off here).\n"
)


class Verbosity(enum.Enum):
    """How much the kernel says about each reload."""

    OFF = "off"
    """Say nothing, not even about failures (``%reload_kernel status`` still lists them)."""
    BRIEF = "brief"
    """One line naming what was reloaded; each failure once, with file and line."""
    VERBOSE = "verbose"
    """Also how each module was reloaded, why, and which notebook names were rebound."""


# --- reload lines -------------------------------------------------------------------------


def render(report: Report, verbosity: Verbosity) -> str:
    """The text to show for a reload step; empty when there is nothing worth saying."""
    if verbosity is Verbosity.OFF:
        return ""
    lines: list[str] = []
    if report.visible_reloads:
        if verbosity is Verbosity.VERBOSE:
            lines.extend(_verbose_lines(report))
        else:
            lines.append(_summary_line(report.visible_reloads))
    for failure in report.failed:
        lines.extend(failure_lines(failure))
    for missing in report.missing:
        lines.append(
            f"{WARNING} {short_path(missing.path)} was deleted — module {missing.module} keeps "
            "the version already loaded"
        )
    for lost in report.identity_lost:
        lines.append(
            f"{WARNING} {lost.module}.{lost.qualname} could not be updated in place "
            f"({lost.reason}); objects created before keep the old definition"
        )
    return _as_text(lines)


def failure_lines(failure: ReloadFailed) -> list[str]:
    """A failed reload in words a student understands, with the offending line below."""
    lines = [
        f"{WARNING} reload failed: {describe_failure(failure)} — still using the previous version"
    ]
    if failure.source_line:
        lines.append(f"    {failure.source_line}")
    return lines


def describe_failure(failure: ReloadFailed) -> str:
    """``foo_file.py line 3: SyntaxError: invalid syntax``"""
    where = short_path(failure.path)
    if failure.lineno is not None:
        where += f" line {failure.lineno}"
    return f"{where}: {failure.error_type}: {one_line(failure.message)}"


def _summary_line(reloads: Sequence[ModuleReloaded]) -> str:
    named = [_module_with_functions(entry) for entry in reloads[:MAX_MODULES_NAMED]]
    return f"{RELOADED} reloaded " + _enumerate(named, len(reloads), "modules")


def _module_with_functions(entry: ModuleReloaded) -> str:
    """``utils (clean, load)`` for a function-only edit; just the module otherwise."""
    if entry.mode is not ReloadMode.PATCHED or not entry.functions:
        return entry.module
    functions = list(entry.functions[:MAX_FUNCTIONS_NAMED])
    return f"{entry.module} ({_enumerate(functions, len(entry.functions), 'functions')})"


def _enumerate(named: list[str], total: int, noun: str) -> str:
    """``a, b, c`` or, when some were left out, ``a, b, c and 4 more modules``."""
    text = ", ".join(named)
    if total > len(named):
        text += f" and {total - len(named)} more {noun}"
    return text


def _verbose_lines(report: Report) -> list[str]:
    lines = []
    for entry in report.visible_reloads:
        how = {
            ReloadMode.PATCHED: "function bodies updated in place",
            ReloadMode.RERUN: "module re-run, objects updated in place",
            ReloadMode.COSMETIC: "line numbers updated",
        }[entry.mode]
        line = f"{RELOADED} reloaded {entry.module} ({short_path(entry.path)}): {how}"
        if entry.functions:
            line += f"; changed: {', '.join(entry.functions)}"
        if entry.because_of:
            line += f"; because {', '.join(entry.because_of)} changed"
        lines.append(line)
    if report.rebound:
        lines.append(f"{RELOADED} notebook names rebound: {', '.join(report.rebound)}")
    return lines


# --- strict mode --------------------------------------------------------------------------


def refusal_summary(failures: Sequence[ReloadFailed]) -> str:
    """One line for the error's value: what failed, where."""
    return "; ".join(describe_failure(failure) for failure in failures)


def refusal_lines(failures: Sequence[ReloadFailed]) -> list[str]:
    """The error shown instead of running a cell in strict mode."""
    lines = ["ReloadError: this cell was not run because a module failed to reload (strict mode)"]
    for failure in failures:
        lines.append(f"  {describe_failure(failure)}")
        if failure.source_line:
            lines.append(f"      {failure.source_line}")
    lines.append(
        "Fix the file and run the cell again (`%reload_kernel strict off` runs cells on the "
        "previous version instead)."
    )
    return lines


INTERRUPTED_SUMMARY = "interrupted while reloading; this cell was not run"
INTERRUPTED_NOTE = (
    "↻ reload interrupted: every module keeps its previous version; the next cell reloads them\n"
)


def interrupted_lines() -> list[str]:
    """The error shown when the user interrupts the reload step (after ``INTERRUPTED_NOTE``)."""
    return [f"KeyboardInterrupt: {INTERRUPTED_SUMMARY}"]


# --- %reload_kernel status ----------------------------------------------------------------


class ReloadState(enum.Enum):
    """Whether the kernel reloads before each cell."""

    ON = "on"
    PAUSED = "paused"
    """Paused at run time: edits are still tracked and load on ``resume``."""
    OFF = "off"
    """Started with ``ReloadKernel.enabled=False``: nothing is tracked until ``resume``."""


class LastReload(NamedTuple):
    """The last reload step that did something, and when."""

    report: Report
    at: datetime
    cell: int | None = None
    """The execution count of the cell it ran before; None for ``%reload_kernel now``."""


class Status(NamedTuple):
    """What ``%reload_kernel status`` shows."""

    state: ReloadState
    verbosity: Verbosity
    strict: bool
    tracked: Sequence[str] = ()
    failures: Sequence[ReloadFailed] = ()
    last_reload: LastReload | None = None
    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    autoreload_neutralized: bool = False


_STATE_WORDS = {
    ReloadState.ON: "reloading is on",
    ReloadState.PAUSED: "reloading is paused — `%reload_kernel resume` turns it back on",
    ReloadState.OFF: (
        "reloading is off (ReloadKernel.enabled=False) — `%reload_kernel resume` turns it on"
    ),
}


def render_status(status: Status) -> str:
    """A few lines: on or not, what is tracked, the last reload, what is failing."""
    lines = [
        f"reload_kernel: {_STATE_WORDS[status.state]}",
        f"report: {status.verbosity.value} · strict: {'on' if status.strict else 'off'}",
    ]
    if status.include:
        lines.append(f"include: {', '.join(status.include)}")
    if status.exclude:
        lines.append(f"exclude: {', '.join(status.exclude)}")
    lines.append(_tracked_line(status.tracked))
    lines.append(_last_reload_line(status.last_reload))
    if status.failures:
        lines.append("failing (still using the previous version):")
        lines.extend(f"  {describe_failure(failure)}" for failure in status.failures)
    else:
        lines.append("failing: nothing")
    if status.autoreload_neutralized:
        lines.append("IPython's %autoreload: switched off (this kernel reloads instead)")
    return _as_text(lines)


def _tracked_line(tracked: Sequence[str]) -> str:
    if not tracked:
        return "tracking: no modules yet (import one of your .py files)"
    names = list(tracked[:MAX_TRACKED_NAMED])
    plural = "module" if len(tracked) == 1 else "modules"
    return f"tracking {len(tracked)} {plural}: " + _enumerate(names, len(tracked), "modules")


def _last_reload_line(last: LastReload | None) -> str:
    if last is None:
        return "last reload: none yet"
    when = f"before cell [{last.cell}]" if last.cell is not None else "on request"
    what = []
    if last.report.visible_reloads:
        what.append(_summary_line(last.report.visible_reloads).removeprefix(f"{RELOADED} "))
    if last.report.failed:
        count = len(last.report.failed)
        what.append(f"{count} failed" if count > 1 else "1 failed")
    summary = ", ".join(what) or "nothing visible changed"
    return f"last reload: {when} at {last.at:%H:%M:%S} — {summary}"


# --- helpers ------------------------------------------------------------------------------


def short_path(path: str) -> str:
    """The path relative to the working directory when the file is inside it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # a different drive on Windows
        return path
    return path if relative.startswith("..") else relative


def one_line(message: str) -> str:
    """The first line of a message, cut to a readable length."""
    lines = message.strip().splitlines() or [""]
    text = lines[0]
    if len(text) > MAX_MESSAGE_LENGTH:
        text = text[: MAX_MESSAGE_LENGTH - 1] + "…"
    elif len(lines) > 1:
        text += " …"
    return text


def _as_text(lines: list[str]) -> str:
    return "\n".join(lines) + "\n" if lines else ""
