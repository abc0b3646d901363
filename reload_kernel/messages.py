"""Turn the engine's reports into the short lines a notebook shows."""

from __future__ import annotations

import enum
import os

from .engine import ReloadMode, Report


class Verbosity(enum.Enum):
    """How much the kernel says about each reload."""

    OFF = "off"
    """Say nothing, not even about failures."""
    BRIEF = "brief"
    """One line naming what was reloaded; failures in full."""
    VERBOSE = "verbose"
    """Also how each module was reloaded and which notebook names were rebound."""


def _short_path(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:  # a different drive on Windows
        return path
    return path if relative.startswith("..") else relative


def render(report: Report, verbosity: Verbosity) -> str:
    """The text to show for a reload step; empty when there is nothing worth saying."""
    if verbosity is Verbosity.OFF:
        return ""
    lines: list[str] = []
    if report.visible_reloads:
        if verbosity is Verbosity.VERBOSE:
            lines.extend(_verbose_lines(report))
        else:
            lines.append(_summary_line(report))
    for failure in report.failed:
        where = _short_path(failure.path)
        if failure.lineno is not None:
            where += f" line {failure.lineno}"
        detail = f"{failure.error_type}: {failure.message}"
        lines.append(f"⚠ reload failed: {where}: {detail} — still using the previous version")
        if failure.source_line:
            lines.append(f"    {failure.source_line}")
    for missing in report.missing:
        lines.append(
            f"⚠ {_short_path(missing.path)} was deleted — module {missing.module} keeps the "
            "version already loaded"
        )
    for lost in report.identity_lost:
        lines.append(
            f"⚠ {lost.module}.{lost.qualname} could not be updated in place ({lost.reason}); "
            "objects created before keep the old definition"
        )
    return "\n".join(lines) + "\n" if lines else ""


def _summary_line(report: Report) -> str:
    parts = []
    for entry in report.visible_reloads:
        if entry.mode is ReloadMode.PATCHED and entry.functions:
            parts.append(f"{entry.module} ({', '.join(entry.functions)})")
        else:
            parts.append(entry.module)
    return "↻ reloaded " + ", ".join(parts)


def _verbose_lines(report: Report) -> list[str]:
    lines = []
    for entry in report.visible_reloads:
        how = {
            ReloadMode.PATCHED: "function bodies updated in place",
            ReloadMode.RERUN: "module re-run, objects updated in place",
            ReloadMode.COSMETIC: "line numbers updated",
        }[entry.mode]
        line = f"↻ reloaded {entry.module} ({_short_path(entry.path)}): {how}"
        if entry.functions:
            line += f"; changed: {', '.join(entry.functions)}"
        if entry.because_of:
            line += f"; because {', '.join(entry.because_of)} changed"
        lines.append(line)
    if report.rebound:
        lines.append(f"↻ notebook names rebound: {', '.join(report.rebound)}")
    return lines
