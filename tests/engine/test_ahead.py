"""Compiling ahead of the cell: a saved module is compiled while the notebook waits, and the
reload step only runs it. Whatever the thread does or does not do in time, every step loads
exactly what is on disk (see ``engine.ahead``)."""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

import pytest

from reload_kernel.engine import ReloadMode
from reload_kernel.engine import ahead as ahead_module
from reload_kernel.engine import reloader as reloader_module
from reload_kernel.engine import watch as watch_module
from reload_kernel.engine.ahead import AHEAD_LIMIT, AheadJob, AheadThread, prepare_ahead
from reload_kernel.engine.compile_warnings import (
    WarningOnARaisingThread,
    install_warning_filter,
    warnings_become_errors,
)
from reload_kernel.engine.detect import SourceSnapshot

from .conftest import Workspace, ahead_work_done_here

WAIT_SECONDS = 10.0


def prepared_ahead(workspace: Workspace, stem: str, marker: bytes) -> bool:
    """Wait (on the thread's own signal, no sleeping) until the ahead thread has compiled the
    version of ``stem`` containing ``marker``."""
    reloader = workspace.reloader
    name = workspace.name(stem)

    def ready() -> bool:
        ahead = reloader._ahead.get(name)
        return ahead is not None and marker in ahead.data

    with reloader._ahead_changed:
        return reloader._ahead_changed.wait_for(ready, timeout=WAIT_SECONDS)


def imported_then_saved(workspace: Workspace, before: str, after: str) -> ModuleType:
    """Import ``shapes`` from ``before``, let a step track it, save ``after``, and wait until
    the ahead thread has compiled that version."""
    workspace.write("shapes.py", before)
    module = workspace.import_("shapes")
    workspace.reload()  # the next cell: the module is tracked (and watched) from now on
    workspace.write("shapes.py", after)
    assert prepared_ahead(workspace, "shapes", after.encode())
    return module


@pytest.fixture
def step_compiles(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The modules the reload step compiles itself (on the thread that calls ``reload``)."""
    compiled: list[str] = []
    step_thread = threading.get_ident()

    original = reloader_module.Reloader._compile

    def counting(
        self: reloader_module.Reloader, name: str, snapshot: SourceSnapshot, *args: bool
    ) -> object:
        if threading.get_ident() == step_thread:
            compiled.append(name)
        return original(self, name, snapshot, *args)

    monkeypatch.setattr(reloader_module.Reloader, "_compile", counting)
    yield compiled


def test_a_saved_module_is_compiled_before_the_cell(
    workspace: Workspace, step_compiles: list[str]
) -> None:
    module = imported_then_saved(
        workspace,
        "LIMIT = 1\n\ndef area():\n    return 1\n",
        "LIMIT = 2\n\ndef area():\n    return 2\n",
    )

    report = workspace.reload()

    assert [entry.module for entry in report.reloaded] == [workspace.name("shapes")]
    assert (module.LIMIT, module.area()) == (2, 2)
    assert step_compiles == []


def test_a_version_read_ahead_is_not_read_again_by_the_step(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No write since the thread read it: inotify would have queued an event."""
    workspace.write("shapes.py", "LIMIT = 1\n")
    module = workspace.import_("shapes")
    workspace.reload()
    # Saved by renaming a new file over it: one event, so once the thread has compiled this
    # version no event is left to come (a save in place is several writes, several events,
    # and one the thread has not drained yet would rightly make the step read the file).
    path = workspace.save_by_rename("shapes.py", "LIMIT = 2\n")
    assert prepared_ahead(workspace, "shapes", b"LIMIT = 2\n")
    looked_at: list[str] = []
    for function in ("read_snapshot", "stat_stamp"):
        original = getattr(reloader_module, function)

        def recording(target: str, original: Any = original) -> Any:
            looked_at.append(target)
            return original(target)

        monkeypatch.setattr(reloader_module, function, recording)

    workspace.reload()

    assert module.LIMIT == 2
    assert str(path) not in looked_at


def test_a_body_edit_compiled_ahead_is_still_a_patch(
    workspace: Workspace, step_compiles: list[str]
) -> None:
    module = imported_then_saved(
        workspace,
        "STATE = []\n\ndef area():\n    return 1\n",
        "STATE = []\n\ndef area():\n    return 22\n",
    )
    state, area = module.STATE, module.area  # (not reloaded yet: the running objects)

    report = workspace.reload()

    assert [(entry.mode, entry.functions) for entry in report.reloaded] == [
        (ReloadMode.PATCHED, ("area",))
    ]
    assert module.STATE is state
    assert module.area is area
    assert area() == 22
    assert step_compiles == []


def test_a_version_saved_after_the_ahead_compile_is_the_one_loaded(
    workspace: Workspace, step_compiles: list[str]
) -> None:
    module = imported_then_saved(workspace, "LIMIT = 1\n", "LIMIT = 2\n")
    thread = workspace.reloader._ahead_thread
    assert thread is not None
    thread.stop()  # so that the next save is surely not compiled ahead
    workspace.write("shapes.py", "LIMIT = 3\n")

    workspace.reload()

    assert module.LIMIT == 3
    assert step_compiles == [workspace.name("shapes")]


def test_a_version_read_ahead_is_read_again_after_its_folder_permissions_change(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read ahead, then its folder made unreadable before the cell: a fresh import would
    fail, so the step must read the file itself, not take what the thread read. (The test
    may run as root, who reads anyway: reading is made to fail as it would.)"""
    workspace.save_by_rename("shapes.py", "LIMIT = 1\n")
    module = workspace.import_("shapes")
    workspace.reload()
    path = workspace.save_by_rename("shapes.py", "LIMIT = 2\n")  # (one event: see above)
    assert prepared_ahead(workspace, "shapes", b"LIMIT = 2\n")
    original = reloader_module.read_snapshot

    def denied(target: str) -> Any:
        if target == str(path):
            raise PermissionError(13, "Permission denied", target)
        return original(target)

    # (on the ahead thread too: it may wake on the change of permissions and read again)
    monkeypatch.setattr(reloader_module, "read_snapshot", denied)
    monkeypatch.setattr(ahead_module, "read_snapshot", denied)
    path.parent.chmod(0o700)
    try:
        report = workspace.reload()
    finally:
        path.parent.chmod(0o755)

    assert module.LIMIT == 1
    assert [failure.error_type for failure in report.failed] == ["PermissionError"]


def test_nothing_is_compiled_ahead_while_compiling_ahead_is_off(
    workspace: Workspace, step_compiles: list[str]
) -> None:
    """(The kernel turns it off while reloading is paused.) Saves are still drained, and the
    next step loads them."""
    workspace.write("shapes.py", "LIMIT = 1\n")
    module = workspace.import_("shapes")
    workspace.reload()
    reloader = workspace.reloader
    reloader.compile_ahead = False
    drains_before = reloader._drains
    workspace.write("shapes.py", "LIMIT = 2\n")
    with reloader._ahead_changed:  # the thread notifies after each wake, whatever it did
        assert reloader._ahead_changed.wait_for(
            lambda: reloader._drains > drains_before, timeout=WAIT_SECONDS
        )
    assert reloader._ahead == {}

    workspace.reload()

    assert module.LIMIT == 2
    assert step_compiles == [workspace.name("shapes")]


def test_a_file_still_open_for_writing_is_left_to_the_step(
    workspace: Workspace, step_compiles: list[str]
) -> None:
    """Its writer may not have written it all (an editor truncates, then writes): it is read
    once closed. A cell that comes before loads what the file holds then."""
    workspace.write("shapes.py", "LIMIT = 1\n")
    module = workspace.import_("shapes")
    workspace.reload()
    reloader = workspace.reloader

    with ahead_work_done_here(reloader) as (descriptor, inotify):
        with workspace.path("shapes.py").open("w", encoding="utf-8") as writer:
            writer.write("LIMIT = 2\n")
            writer.flush()
            assert reloader._prepare_ahead(inotify, descriptor)
            assert reloader._ahead == {}
            workspace.reload()
        assert module.LIMIT == 2
        assert step_compiles == [workspace.name("shapes")]

        workspace.write("shapes.py", "LIMIT = 3\n")
        assert reloader._prepare_ahead(inotify, descriptor)
        assert b"LIMIT = 3\n" in reloader._ahead[workspace.name("shapes")].data


def test_events_of_a_file_written_on_and_on_do_not_pile_up(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log written next to the modules while the notebook is idle: the thread has its
    events handled once too many wait, rather than keep them all until the next cell."""
    monkeypatch.setattr(watch_module, "_TAKEN_LIMIT", 1024)
    workspace.write("shapes.py", "LIMIT = 1\n")
    workspace.import_("shapes")
    workspace.reload()
    reloader = workspace.reloader

    waiting = []
    with (
        ahead_work_done_here(reloader) as (descriptor, inotify),
        workspace.path("training.log").open("w", encoding="utf-8") as log,
    ):
        for step in range(200):
            log.write(f"step {step}\n")
            log.flush()
            assert reloader._prepare_ahead(inotify, descriptor)
            waiting.append(inotify._taken_size)
    assert max(waiting) <= 1024
    assert 0 in waiting[1:]  # (handled while the log was still being written)


def job_for(path: Path, loaded: str) -> AheadJob:
    return AheadJob("m", str(path), 0, loaded.encode(), None, None, None)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("LIMIT = (\n", id="syntax-error"),
        pytest.param("def f(x):\n    return x is 1\n", id="compiler-warning"),
        pytest.param("PATTERN = '\\d'\n", id="invalid-escape"),
    ],
)
def test_a_version_that_fails_or_warns_is_left_to_the_step(tmp_path: Path, source: str) -> None:
    """The step compiles it in the cell: errors and warnings are shown there, naming the file."""
    path = tmp_path / "m.py"
    path.write_text(source, encoding="utf-8")
    with warnings.catch_warnings():
        install_warning_filter()
        assert prepare_ahead(job_for(path, "LIMIT = 1\n")) is None


@pytest.mark.parametrize("source", ["", "\n  \n"])
def test_an_empty_version_is_left_to_the_step(tmp_path: Path, source: str) -> None:
    """What the thread sees between an editor's truncate and its write: not worth compiling
    (and the step loads it, should the file stay empty)."""
    path = tmp_path / "m.py"
    path.write_text(source, encoding="utf-8")
    with warnings.catch_warnings():
        install_warning_filter()
        assert prepare_ahead(job_for(path, "LIMIT = 1\n")) is None


def test_a_module_saved_empty_is_loaded_empty(workspace: Workspace) -> None:
    module = imported_then_saved(workspace, "LIMIT = 1\n", "LIMIT = 2\n")
    workspace.write("shapes.py", "")

    workspace.reload()

    assert not hasattr(module, "LIMIT")


def test_a_clean_version_is_compiled_as_from_its_own_file(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("class C:\n    def f(self):\n        return 1\n", encoding="utf-8")
    with warnings.catch_warnings():
        install_warning_filter()
        ahead = prepare_ahead(job_for(path, "LIMIT = 1\n"))

    assert ahead is not None
    assert ahead.compiled.code.co_filename == str(path)
    class_body = next(c for c in ahead.compiled.code.co_consts if isinstance(c, CodeType))
    method = next(c for c in class_body.co_consts if isinstance(c, CodeType))
    assert (class_body.co_filename, method.co_filename) == (str(path), str(path))
    assert ahead.compiled.code == compile(path.read_text(), str(path), "exec", dont_inherit=True)


@pytest.mark.parametrize(
    ("action", "becomes_error"),
    [("ignore", True), ("error", True), ("always", False), ("default", False)],
)
def test_a_filter_in_front_of_ours_that_shows_warnings_stops_compiling_ahead(
    action: str, becomes_error: bool
) -> None:
    with warnings.catch_warnings():
        install_warning_filter()
        assert warnings_become_errors("m.py")
        warnings.simplefilter(action)  # e.g. a notebook's warnings.simplefilter("always")
        assert warnings_become_errors("m.py") is becomes_error


def test_the_filter_is_added_once(workspace: Workspace) -> None:
    """(Changing the filters makes Python forget which warnings it has shown already.)"""
    install_warning_filter()
    install_warning_filter()

    ours = [entry for entry in warnings.filters if entry[2] is WarningOnARaisingThread]
    assert [entry[0] for entry in ours] == ["error"]


def test_saves_right_before_each_step_are_all_seen(workspace: Workspace) -> None:
    """The step may run while the thread compiles: it waits, or compiles itself."""
    workspace.write("shapes.py", "VERSION = 0\n")
    module = workspace.import_("shapes")
    workspace.reload()  # the next cell: the module is tracked (and watched) from now on

    for version in range(1, 60):
        workspace.write("shapes.py", f"VERSION = {version}\n")
        workspace.reload()
        assert version == module.VERSION


def test_the_first_edit_of_a_module_is_classified_against_its_running_version(
    workspace: Workspace, step_compiles: list[str]
) -> None:
    """The ahead thread also makes the running version's shape (first edit since import)."""
    module = imported_then_saved(workspace, "# one\nLIMIT = 1\n", "# two\nLIMIT = 1\n")

    report = workspace.reload()

    assert [entry.mode for entry in report.reloaded] == [ReloadMode.COSMETIC]
    assert module.LIMIT == 1
    assert step_compiles == []


def test_many_files_saved_between_two_steps_are_left_to_the_step(workspace: Workspace) -> None:
    count = AHEAD_LIMIT + 1
    modules = []
    for index in range(count):
        workspace.write(f"m{index}.py", "VALUE = 0\n")
        modules.append(workspace.import_(f"m{index}"))
    workspace.reload()
    prepared: set[str] = set()
    original = reloader_module.Reloader._ahead_jobs

    def recording(self: reloader_module.Reloader, suspects: set[str]) -> list[AheadJob]:
        jobs = original(self, suspects)
        prepared.update(job.name for job in jobs)
        return jobs

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reloader_module.Reloader, "_ahead_jobs", recording)
        for index in range(count):
            workspace.write(f"m{index}.py", "VALUE = 1\n")
        report = workspace.reload()

    assert len(report.reloaded) == count
    assert [module.VALUE for module in modules] == [1] * count
    # However the thread saw the burst, it went to compile no more modules than its limit.
    assert len(prepared) <= AHEAD_LIMIT


def test_stop_ends_the_thread_and_closes_its_descriptors(workspace: Workspace) -> None:
    reloader = workspace.reloader
    reloader.stop()
    descriptors_before = len(os.listdir("/proc/self/fd"))

    for _ in range(5):
        reloader.start()
        thread = reloader._ahead_thread
        assert thread is not None and thread._thread.is_alive()
        reloader.stop()
        assert not thread._thread.is_alive()

    assert len(os.listdir("/proc/self/fd")) == descriptors_before
    reloader.start()  # for the fixture's cleanup


def test_polling_has_no_ahead_thread(workspace: Workspace) -> None:
    polling = reloader_module.Reloader(poll=True)
    polling.start()
    try:
        assert polling._ahead_thread is None
    finally:
        polling.stop()


def test_a_failing_callback_ends_only_the_thread() -> None:
    reading, writing = os.pipe()
    calls: list[int] = []

    def failing() -> bool:
        calls.append(1)
        raise RuntimeError("a bug in the ahead step")

    thread = AheadThread(reading, failing)
    thread.start()
    os.write(writing, b"event")
    thread._thread.join(WAIT_SECONDS)

    assert not thread._thread.is_alive()
    assert calls == [1]
    thread.stop()
    os.close(writing)


def test_thread_name_says_whose_it_is(workspace: Workspace) -> None:
    names = [thread.name for thread in threading.enumerate()]
    assert "reload_kernel: compile ahead" in names


class LibraryWarning(RuntimeWarning):
    """Like numpy's RankWarning, which numpy asks to be shown "always"."""


def test_filters_for_other_modules_or_other_warnings_do_not_matter() -> None:
    with warnings.catch_warnings():
        install_warning_filter()
        warnings.filterwarnings("always", module="numpy")
        warnings.filters.insert(0, ("always", None, Warning, "__main__", 0))  # as Python's own
        warnings.simplefilter("always", LibraryWarning)
        warnings.filterwarnings("ignore", message="numpy.ndarray size changed")

        assert warnings_become_errors("m.py")


@pytest.mark.parametrize(
    "category", [SyntaxWarning, DeprecationWarning, PendingDeprecationWarning, FutureWarning]
)
def test_a_filter_showing_a_warning_the_compiler_raises_stops_compiling_ahead(
    category: type[Warning],
) -> None:
    with warnings.catch_warnings():
        install_warning_filter()
        warnings.simplefilter("default", category)

        assert not warnings_become_errors("m.py")


def test_ignoring_every_warning_the_compiler_raises_is_as_good_as_our_filter() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        for category in (SyntaxWarning, DeprecationWarning, PendingDeprecationWarning):
            warnings.simplefilter("ignore", category)
        warnings.simplefilter("error", FutureWarning)

        assert warnings_become_errors("m.py")


def planned_ahead(workspace: Workspace) -> bool:
    """Wait until the ahead thread has also found the dependents of what it compiled."""
    reloader = workspace.reloader
    with reloader._ahead_changed:
        return reloader._ahead_changed.wait_for(
            lambda: reloader._dependents_memo is not None, timeout=WAIT_SECONDS
        )


def test_the_dependents_of_a_version_compiled_ahead_and_their_order_are_found_ahead_too(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, user = workspace.import_base_and_user()
    module = sys.modules[user]
    workspace.reload()
    workspace.reloader._dependents_memo = None
    workspace.save_by_rename("base.py", "LIMIT = 2\n")  # one event: nothing left to drain
    assert planned_ahead(workspace)

    def no_search(target: str) -> set[str]:
        raise AssertionError(f"the step searched for the importers of {target} again")

    def no_walk(*args: object) -> object:
        raise AssertionError("the step went through the modules' versions again")

    monkeypatch.setattr(workspace.reloader._importers, "suspects", no_search)
    monkeypatch.setattr(reloader_module.Reloader, "_newest_source", no_walk)
    report = workspace.reload()

    assert [entry.module for entry in report.reloaded] == [base, user]
    assert module.SEEN == 2


def test_a_module_imported_after_the_plan_is_still_found_as_a_dependent(
    workspace: Workspace,
) -> None:
    base, late = workspace.name("base"), workspace.name("late")
    workspace.write("base.py", "LIMIT = 1\n")
    workspace.import_("base")
    workspace.reload()
    workspace.reloader._dependents_memo = None
    workspace.save_by_rename("base.py", "LIMIT = 2\n")
    assert planned_ahead(workspace)
    workspace.write("late.py", f"from {base} import LIMIT\nSEEN = LIMIT\n")
    late_module = workspace.import_("late")  # after the plan, before the step: it reads 1
    assert late_module.SEEN == 1

    report = workspace.reload()

    assert [entry.module for entry in report.reloaded] == [base, late]
    assert late_module.SEEN == 2
