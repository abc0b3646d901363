"""The words the kernel shows: reload lines, failures, strict-mode errors, the status."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from reload_kernel.engine import (
    FileMissing,
    IdentityLost,
    ModuleReloaded,
    ReloadFailed,
    ReloadMode,
    Report,
)
from reload_kernel.messages import (
    MAX_MESSAGE_LENGTH,
    LastReload,
    ReloadState,
    Status,
    Verbosity,
    describe_failure,
    one_line,
    refusal_lines,
    refusal_summary,
    render,
    render_status,
    short_path,
)


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Paths in messages are shown relative to the working directory: make it known."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def patched(module: str, *functions: str) -> ModuleReloaded:
    return ModuleReloaded(module, os.path.abspath(f"{module}.py"), ReloadMode.PATCHED, functions)


def rerun(module: str, because_of: tuple[str, ...] = ()) -> ModuleReloaded:
    path = os.path.abspath(f"{module}.py")
    return ModuleReloaded(module, path, ReloadMode.RERUN, because_of=because_of)


def cosmetic(module: str) -> ModuleReloaded:
    return ModuleReloaded(module, os.path.abspath(f"{module}.py"), ReloadMode.COSMETIC)


def syntax_error(module: str = "foo_file", lineno: int | None = 3) -> ReloadFailed:
    return ReloadFailed(
        module,
        os.path.abspath(f"{module}.py"),
        "SyntaxError",
        "invalid syntax",
        lineno,
        "def bar(:" if lineno else None,
    )


# --- brief ------------------------------------------------------------------------------

BRIEF_LINES = [
    pytest.param([patched("foo_file", "bar")], "↻ reloaded foo_file (bar)\n", id="function-edit"),
    pytest.param(
        [patched("utils", "clean", "load")], "↻ reloaded utils (clean, load)\n", id="two-functions"
    ),
    pytest.param(
        [patched("utils", "a", "b", "c", "d", "e")],
        "↻ reloaded utils (a, b, c and 2 more functions)\n",
        id="many-functions-cut",
    ),
    pytest.param([rerun("foo_file")], "↻ reloaded foo_file\n", id="module-re-run"),
    pytest.param(
        [rerun("models"), rerun("train", because_of=("models",))],
        "↻ reloaded models, train\n",
        id="module-and-dependent",
    ),
    pytest.param(
        [patched("a", "f"), rerun("b")], "↻ reloaded a (f), b\n", id="function-edit-and-re-run"
    ),
    pytest.param(
        [rerun(f"m{index}") for index in range(8)],
        "↻ reloaded m0, m1, m2, m3, m4 and 3 more modules\n",
        id="many-modules-cut",
    ),
    pytest.param(
        [cosmetic("a"), patched("b", "f")], "↻ reloaded b (f)\n", id="cosmetic-edit-not-named"
    ),
]


@pytest.mark.parametrize(("reloaded", "expected"), BRIEF_LINES)
def test_brief_names_modules_and_edited_functions_in_one_line(
    reloaded: list[ModuleReloaded], expected: str
) -> None:
    assert render(Report(reloaded=reloaded), Verbosity.BRIEF) == expected


@pytest.mark.parametrize("verbosity", list(Verbosity), ids=lambda verbosity: verbosity.value)
@pytest.mark.parametrize(
    "report",
    [
        pytest.param(Report(), id="nothing-changed"),
        pytest.param(Report(reloaded=[cosmetic("a")]), id="comment-only-edit"),
    ],
)
def test_nothing_is_said_when_nothing_visible_changed(report: Report, verbosity: Verbosity) -> None:
    assert render(report, verbosity) == ""


# --- failures -----------------------------------------------------------------------------


def test_failure_names_file_line_and_error_and_says_previous_version_runs() -> None:
    text = render(Report(failed=[syntax_error()]), Verbosity.BRIEF)

    assert text == (
        "⚠ reload failed: foo_file.py line 3: SyntaxError: invalid syntax"
        " — still using the previous version\n"
        "    def bar(:\n"
    )


def test_failure_without_a_line_number_names_the_file() -> None:
    failure = ReloadFailed(
        "data", os.path.abspath("data.py"), "PermissionError", "cannot read the file"
    )

    assert describe_failure(failure) == "data.py: PermissionError: cannot read the file"


def test_failure_outside_the_working_directory_shows_the_absolute_path(tmp_path: Path) -> None:
    elsewhere = tmp_path.parent / "elsewhere" / "lib.py"
    failure = ReloadFailed("lib", str(elsewhere), "NameError", "name 'x' is not defined", 2)

    assert describe_failure(failure) == f"{elsewhere} line 2: NameError: name 'x' is not defined"


def test_failure_next_to_a_reload_is_shown_after_the_reload_line() -> None:
    report = Report(reloaded=[patched("a", "f")], failed=[syntax_error("b", None)])

    assert render(report, Verbosity.BRIEF).splitlines() == [
        "↻ reloaded a (f)",
        "⚠ reload failed: b.py: SyntaxError: invalid syntax — still using the previous version",
    ]


def test_off_says_nothing_even_about_failures() -> None:
    report = Report(reloaded=[rerun("a")], failed=[syntax_error()])

    assert render(report, Verbosity.OFF) == ""


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        pytest.param("invalid syntax", "invalid syntax", id="short"),
        pytest.param("first\nsecond", "first …", id="multi-line"),
        pytest.param("  padded  \n", "padded", id="padded"),
        pytest.param("", "", id="empty"),
        pytest.param(
            "x" * (MAX_MESSAGE_LENGTH + 50), "x" * (MAX_MESSAGE_LENGTH - 1) + "…", id="too-long"
        ),
    ],
)
def test_error_messages_are_kept_to_one_readable_line(message: str, expected: str) -> None:
    assert one_line(message) == expected


# --- missing files, lost identity ---------------------------------------------------------


def test_deleted_file_is_reported_with_the_version_kept() -> None:
    report = Report(missing=[FileMissing("helpers", os.path.abspath("helpers.py"))])

    assert render(report, Verbosity.BRIEF) == (
        "⚠ helpers.py was deleted — module helpers keeps the version already loaded\n"
    )


def test_object_not_updated_in_place_is_reported() -> None:
    report = Report(identity_lost=[IdentityLost("shapes", "Circle", "its base classes changed")])

    assert render(report, Verbosity.BRIEF) == (
        "⚠ shapes.Circle could not be updated in place (its base classes changed); "
        "objects created before keep the old definition\n"
    )


# --- verbose ------------------------------------------------------------------------------


def test_verbose_says_how_and_why_each_module_was_reloaded_and_what_was_rebound() -> None:
    report = Report(
        reloaded=[patched("models", "fit"), rerun("train", because_of=("models",))],
        rebound=["fit"],
    )

    assert render(report, Verbosity.VERBOSE).splitlines() == [
        "↻ reloaded models (models.py): function bodies updated in place; changed: fit",
        "↻ reloaded train (train.py): module re-run, objects updated in place;"
        " because models changed",
        "↻ notebook names rebound: fit",
    ]


# --- strict mode --------------------------------------------------------------------------


def test_strict_refusal_says_the_cell_did_not_run_and_how_to_go_on() -> None:
    failures = [syntax_error(), syntax_error("other", 7)]

    assert refusal_summary(failures) == (
        "foo_file.py line 3: SyntaxError: invalid syntax; other.py line 7: SyntaxError: "
        "invalid syntax"
    )
    assert refusal_lines(failures) == [
        "ReloadError: this cell was not run because a module failed to reload (strict mode)",
        "  foo_file.py line 3: SyntaxError: invalid syntax",
        "      def bar(:",
        "  other.py line 7: SyntaxError: invalid syntax",
        "      def bar(:",
        "Fix the file and run the cell again (`%reload_kernel strict off` runs cells on the "
        "previous version instead).",
    ]


# --- %reload_kernel status ----------------------------------------------------------------

AT = datetime(2024, 5, 6, 14, 2, 11)


def test_status_of_a_fresh_kernel() -> None:
    status = Status(ReloadState.ON, Verbosity.BRIEF, strict=False)

    assert render_status(status).splitlines() == [
        "reload_kernel: reloading is on",
        "report: brief · strict: off",
        "tracking: no modules yet (import one of your .py files)",
        "last reload: none yet",
        "failing: nothing",
    ]


def test_status_lists_tracked_modules_last_reload_failures_and_options() -> None:
    status = Status(
        ReloadState.PAUSED,
        Verbosity.VERBOSE,
        strict=True,
        tracked=["foo_file", "pkg", "pkg.sub"],
        failures=[syntax_error()],
        last_reload=LastReload(Report(reloaded=[patched("foo_file", "bar")]), AT, cell=4),
        include=["mypkg"],
        exclude=["slow_data"],
        autoreload_neutralized=True,
    )

    assert render_status(status).splitlines() == [
        "reload_kernel: reloading is paused — `%reload_kernel resume` turns it back on",
        "report: verbose · strict: on",
        "include: mypkg",
        "exclude: slow_data",
        "tracking 3 modules: foo_file, pkg, pkg.sub",
        "last reload: before cell [4] at 14:02:11 — reloaded foo_file (bar)",
        "failing (still using the previous version):",
        "  foo_file.py line 3: SyntaxError: invalid syntax",
        "IPython's %autoreload: switched off (this kernel reloads instead)",
    ]


@pytest.mark.parametrize(
    ("last_reload", "expected"),
    [
        pytest.param(
            LastReload(Report(failed=[syntax_error()]), AT, cell=2),
            "last reload: before cell [2] at 14:02:11 — 1 failed",
            id="failed",
        ),
        pytest.param(
            LastReload(Report(reloaded=[rerun("a")], failed=[syntax_error(), syntax_error()]), AT),
            "last reload: on request at 14:02:11 — reloaded a, 2 failed",
            id="on-request-mixed",
        ),
        pytest.param(
            LastReload(Report(reloaded=[cosmetic("a")]), AT, cell=9),
            "last reload: before cell [9] at 14:02:11 — nothing visible changed",
            id="cosmetic",
        ),
    ],
)
def test_status_summarizes_the_last_reload(last_reload: LastReload, expected: str) -> None:
    status = Status(ReloadState.ON, Verbosity.BRIEF, strict=False, last_reload=last_reload)

    assert expected in render_status(status).splitlines()


def test_status_of_a_kernel_started_disabled_says_how_to_turn_it_on() -> None:
    status = Status(ReloadState.OFF, Verbosity.BRIEF, strict=False)

    assert render_status(status).splitlines()[0] == (
        "reload_kernel: reloading is off (ReloadKernel.enabled=False) — "
        "`%reload_kernel resume` turns it on"
    )


def test_status_with_one_tracked_module_and_with_too_many_to_name() -> None:
    one = Status(ReloadState.ON, Verbosity.BRIEF, strict=False, tracked=["solo"])
    many = Status(
        ReloadState.ON, Verbosity.BRIEF, strict=False, tracked=[f"m{i}" for i in range(32)]
    )

    assert "tracking 1 module: solo" in render_status(one).splitlines()
    many_line = next(line for line in render_status(many).splitlines() if "tracking" in line)
    assert many_line.startswith("tracking 32 modules: m0, m1, ")
    assert many_line.endswith(", m29 and 2 more modules")


def test_short_path_is_relative_inside_the_working_directory_only(workdir: Path) -> None:
    assert short_path(str(workdir / "pkg" / "mod.py")) == os.path.join("pkg", "mod.py")
    assert short_path("/somewhere/else.py") == "/somewhere/else.py"
