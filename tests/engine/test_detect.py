"""Detecting edits: stamps confirmed by content, racy stamps, and which modules are tracked."""

from __future__ import annotations

import copy
import importlib.util
import os
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from reload_kernel.engine import FileMissing, ReloadMode, detect
from reload_kernel.engine.detect import FileState, Stamp, read_snapshot, stat_stamp

from .conftest import Workspace

AN_HOUR_NS = 3600 * 1_000_000_000


def age(path: Path, mtime_ns: int | None = None) -> int:
    """Set ``path``'s mtime an hour back (or to ``mtime_ns``); return it."""
    mtime_ns = time.time_ns() - AN_HOUR_NS if mtime_ns is None else mtime_ns
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return mtime_ns


class LaterClock:
    """``time`` as detect.py sees it, three seconds ahead: files look older than they are, as
    if the racy window had passed, without waiting for it."""

    @staticmethod
    def time_ns() -> int:
        return time.time_ns() + detect.RACY_WINDOW_NS + 1_000_000_000


@pytest.fixture
def later_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(detect, "time", LaterClock)


def reloaded(workspace: Workspace) -> list[tuple[str, ReloadMode]]:
    return [(entry.module, entry.mode) for entry in workspace.reload().reloaded]


# --- stamps and snapshots -------------------------------------------------------------------


def test_stamp_of_a_missing_file_is_none(tmp_path: Path) -> None:
    assert stat_stamp(str(tmp_path / "nothing.py")) is None


def test_snapshot_holds_the_bytes_and_the_stamp_they_were_read_under(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_bytes(b"X = 1\n")

    snapshot = read_snapshot(str(path))

    assert snapshot.data == b"X = 1\n"
    assert snapshot.stamp == Stamp.of(path.stat())


def test_a_file_written_just_now_is_racy(tmp_path: Path) -> None:
    path = tmp_path / "fresh.py"
    path.write_text("X = 1\n")

    assert read_snapshot(str(path)).is_racy


def test_a_file_unchanged_for_longer_than_the_window_is_not_racy(
    tmp_path: Path, later_clock: None
) -> None:
    path = tmp_path / "old.py"
    path.write_text("X = 1\n")

    assert not read_snapshot(str(path)).is_racy


def test_file_restored_just_now_with_an_old_mtime_is_racy(tmp_path: Path) -> None:
    """``cp -p`` sets an old mtime but a fresh ctime: a same-size restore within the same
    coarse clock tick would share every field of the stamp, so the content must decide."""
    path = tmp_path / "restored.py"
    path.write_text("X = 1\n")
    age(path)  # utime itself sets ctime to now

    assert read_snapshot(str(path)).is_racy


def test_racy_stamp_is_never_trusted(tmp_path: Path) -> None:
    path = tmp_path / "fresh.py"
    path.write_text("X = 1\n")
    state = FileState(read_snapshot(str(path)))

    assert not state.stamp_is_trusted(Stamp.of(path.stat()))


def test_stamp_read_after_the_window_is_trusted(tmp_path: Path, later_clock: None) -> None:
    path = tmp_path / "old.py"
    path.write_text("X = 1\n")
    state = FileState(read_snapshot(str(path)))

    assert state.stamp_is_trusted(Stamp.of(path.stat()))


def test_a_copy_of_what_is_known_about_a_file_keeps_all_of_it(
    tmp_path: Path, later_clock: None
) -> None:
    """The reload step copies a file's record to put it back if the user interrupts it."""
    path = tmp_path / "m.py"
    path.write_text("X = 1\n")
    state = FileState(read_snapshot(str(path)))
    state.failed_data, state.reported_problem = b"X = (\n", "missing"

    saved = copy.copy(state)
    path.write_text("X = 2\n")
    state.mark_loaded(read_snapshot(str(path)))

    assert saved.loaded.data == b"X = 1\n" and state.loaded.data == b"X = 2\n"
    assert (saved.failed_data, saved.reported_problem) == (b"X = (\n", "missing")
    restored = copy.copy(saved)
    assert [getattr(restored, slot) for slot in FileState.__slots__] == [
        getattr(saved, slot) for slot in FileState.__slots__
    ]
    assert restored.stamp_is_trusted(saved.loaded.stamp)


def test_file_changing_while_read_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.py"
    path.write_text("X = 1\n")
    real_fstat = os.fstat
    calls = []

    def fstat_while_an_editor_writes(descriptor: int) -> os.stat_result:
        calls.append(descriptor)
        if len(calls) == 2:  # the stamp taken right after the first read
            path.write_text("X = 222\n")
        return real_fstat(descriptor)

    monkeypatch.setattr(detect.os, "fstat", fstat_while_an_editor_writes)
    snapshot = read_snapshot(str(path))

    assert snapshot.data == b"X = 222\n"
    assert snapshot.stamp == Stamp.of(os.stat(path))
    assert len(calls) == 4


# --- what counts as a change ----------------------------------------------------------------


def test_same_size_edits_sharing_one_mtime_are_each_seen(workspace: Workspace) -> None:
    mtime = time.time_ns() // 1_000_000_000 * 1_000_000_000  # a whole second, like FAT
    age(workspace.write("m.py", "X = 1\n"), mtime)
    module = workspace.import_("m")

    for value in (2, 3, 4):
        age(workspace.write("m.py", f"X = {value}\n"), mtime)
        workspace.reload()
        assert value == module.X


def test_file_restored_with_older_mtime_same_size_is_a_change(
    workspace: Workspace, later_clock: None
) -> None:
    old_mtime = age(workspace.write("m.py", "X = 1\n"))
    module = workspace.import_("m")
    assert workspace.reload().reloaded == []  # the stamp is trusted from here on

    age(workspace.write("m.py", "X = 2\n"), old_mtime)  # like ``cp -p`` of a backup

    assert reloaded(workspace) == [(workspace.name("m"), ReloadMode.RERUN)]
    assert module.X == 2


def test_save_with_identical_bytes_reloads_nothing(workspace: Workspace) -> None:
    workspace.write("m.py", "X = 1\n")
    workspace.import_("m")

    workspace.write("m.py", "X = 1\n")

    assert not workspace.reload()


def test_comment_only_edit_is_cosmetic_and_not_visible(workspace: Workspace) -> None:
    workspace.write("m.py", "X = 1\n")
    workspace.import_("m")

    workspace.write("m.py", "# note\nX = 1  # one\n")
    report = workspace.reload()

    assert [entry.mode for entry in report.reloaded] == [ReloadMode.COSMETIC]
    assert report.visible_reloads == []


def test_rename_over_save_is_seen(workspace: Workspace) -> None:
    age(workspace.write("m.py", "X = 1\n"))
    module = workspace.import_("m")
    workspace.reload()

    workspace.save_by_rename("m.py", "X = 2\n")
    workspace.reload()

    assert module.X == 2


def test_deleted_file_is_reported_once_and_module_kept(workspace: Workspace) -> None:
    path = workspace.write("m.py", "X = 1\n")
    module = workspace.import_("m")

    path.unlink()
    first, second = workspace.reload(), workspace.reload()

    assert first.missing == [FileMissing(workspace.name("m"), str(path))]
    assert not second
    assert module.X == 1


def test_file_emptied_then_written_ends_with_the_written_version(workspace: Workspace) -> None:
    """A truncate-then-write save caught half-way: the module ends as the full file says, and
    the classes the empty version removed come back as the same objects."""
    workspace.write("m.py", "class K:\n    def v(self):\n        return 1\n")
    module = workspace.import_("m")
    instance = module.K()

    workspace.write("m.py", "")
    workspace.reload()
    workspace.write("m.py", "class K:\n    def v(self):\n        return 2\n")
    workspace.reload()

    assert module.K().v() == 2
    assert type(instance) is module.K  # the class came back: the same object
    assert instance.v() == 2


# --- which modules are tracked --------------------------------------------------------------


def test_module_imported_before_the_reloader_started_is_tracked(workspace: Workspace) -> None:
    workspace.reloader.stop()
    workspace.write("early.py", "X = 1\n")
    module = workspace.import_("early")
    workspace.reloader.start()
    workspace.reload()

    workspace.write("early.py", "X = 2\n")
    workspace.reload()

    assert module.X == 2


def test_module_imported_by_a_thread_is_tracked(workspace: Workspace) -> None:
    workspace.write("threaded.py", "X = 1\n")
    worker = threading.Thread(target=workspace.import_, args=("threaded",))
    worker.start()
    worker.join()

    workspace.write("threaded.py", "X = 2\n")
    workspace.reload()

    assert sys.modules[workspace.name("threaded")].X == 2


def test_module_edited_after_import_before_first_reload_is_reloaded(
    workspace: Workspace,
) -> None:
    workspace.write("m.py", "X = 'imported'\n")
    module = workspace.import_("m")
    workspace.write("m.py", "X = 'edited'\n")  # before the reloader ever looked at it

    workspace.reload()

    assert module.X == "edited"


def test_sourceless_modules_are_never_tracked(workspace: Workspace) -> None:
    archive = workspace.root / f"{workspace.prefix}archive.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(f"{workspace.prefix}zipped.py", "X = 1\n")
    sys.path.append(str(archive))
    try:
        (workspace.root / f"{workspace.prefix}ns").mkdir()
        workspace.write("ns/inside.py", "X = 1\n")
        workspace.import_("zipped")
        workspace.import_("ns.inside")
        __import__("__hello__")
        workspace.reload()
    finally:
        sys.path.remove(str(archive))

    tracked = workspace.reloader.tracked_modules
    assert workspace.name("ns.inside") in tracked
    assert workspace.name("zipped") not in tracked
    assert workspace.name("ns") not in tracked
    assert "__hello__" not in tracked


# --- decoding a source as Python does ---------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"x = 1\n\ndef f():\n    return x\n", id="ascii"),
        pytest.param(b"x = 1\r\ny = 2\r\n", id="crlf"),
        pytest.param(b"x = 1\ry = 2\r", id="cr"),
        pytest.param("name = 'café'\n".encode(), id="utf-8"),
        pytest.param(b"\xef\xbb\xbfx = 1\n", id="bom"),
        pytest.param("# -*- coding: latin-1 -*-\nname = 'café'\n".encode("latin-1"), id="latin-1"),
        pytest.param(b"# coding: latin-1\nx = 1\n", id="ascii-with-a-cookie"),
        pytest.param(b"#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\nx = 1\n", id="vim"),
        pytest.param(b"decoding = 'the word alone'\n", id="the-word-coding"),
    ],
)
def test_a_source_is_decoded_as_importlib_decodes_it(data: bytes) -> None:
    assert detect.decode_source(data) == importlib.util.decode_source(data)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"# coding: no-such-codec\nx = 1\n", id="unknown-codec"),
        pytest.param(b"x = '\xff'\n", id="not-utf-8"),
    ],
)
def test_a_source_that_cannot_be_decoded_raises_as_importlib_does(data: bytes) -> None:
    with pytest.raises(Exception) as expected:
        importlib.util.decode_source(data)
    with pytest.raises(type(expected.value)):
        detect.decode_source(data)
