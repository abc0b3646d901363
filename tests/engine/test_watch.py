"""Every way a source file can change is seen by the very next ``reload()``, watched or polled.

The reloader asks ``FileWatcher`` which files to look at. With inotify, an event is queued by the
system call that changed the file, before it returns: so no test here waits or sleeps between an
edit and the reload that must see it. Each scenario runs twice: with inotify (Linux) and with
polling (the fallback for other platforms, network filesystems and ``RELOAD_KERNEL_POLL=1``).
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import importlib.util
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from reload_kernel.engine import Reloader, Report, UserCodePolicy
from reload_kernel.engine import reloader as reloader_module
from reload_kernel.engine import watch as watch_module
from reload_kernel.engine.watch import FileWatcher

from .conftest import waiting_thread_descriptor

INOTIFY_AVAILABLE = FileWatcher(poll=False).uses_inotify
needs_inotify = pytest.mark.skipif(not INOTIFY_AVAILABLE, reason="inotify is Linux only")


class OnlyModulesNamed(UserCodePolicy):
    """User code limited to one test's modules (test files around are user code too)."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def source_path(self, module: ModuleType) -> str | None:
        if not getattr(module, "__name__", "").startswith(self.prefix):
            return None
        return super().source_path(module)


class Sources:
    """A directory of modules on ``sys.path`` (``root/<path entry>``), imported and reloaded."""

    def __init__(self, root: Path, *, poll: bool, entry: str = "src") -> None:
        self.root = root
        self.entry = root / entry
        self.entry.mkdir(parents=True)
        self.prefix = f"wt{uuid.uuid4().hex[:8]}_"
        self.reloader = Reloader(OnlyModulesNamed(self.prefix), poll=poll)

    def name(self, stem: str) -> str:
        return self.prefix + stem

    def path(self, relative: str) -> Path:
        return self.entry / (self.prefix + relative)

    def write(self, relative: str, text: str) -> Path:
        """Save by truncating and writing in place."""
        path = self.path(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def import_(self, stem: str) -> ModuleType:
        return importlib.import_module(self.name(stem))

    def reload(self) -> Report:
        return self.reloader.reload({})

    def value(self, stem: str) -> object:
        return sys.modules[self.name(stem)].VALUE


@contextlib.contextmanager
def started_sources(root: Path, *, poll: bool, entry: str = "src") -> Iterator[Sources]:
    """Sources on ``sys.path`` with a started reloader; all of it undone afterwards."""
    space = Sources(root, poll=poll, entry=entry)
    path_entry = str(space.entry)
    sys.path.insert(0, path_entry)
    importlib.invalidate_caches()
    space.reloader.start()
    try:
        yield space
    finally:
        space.reloader.stop()
        for name in [name for name in sys.modules if name.startswith(space.prefix)]:
            del sys.modules[name]
        sys.path.remove(path_entry)
        importlib.invalidate_caches()


@pytest.fixture(params=["inotify", "polling"])
def sources(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Sources]:
    if request.param == "inotify" and not INOTIFY_AVAILABLE:
        pytest.skip("inotify is Linux only")
    with started_sources(tmp_path, poll=request.param == "polling") as space:
        yield space


def loaded_module(sources: Sources, stem: str, value: str) -> Path:
    """Write ``stem.py`` holding ``VALUE = value``, import it and let the reloader track it."""
    path = sources.write(f"{stem}.py", f"VALUE = {value!r}\n")
    sources.import_(stem)
    assert not sources.reload()
    return path


def reloaded_names(report: Report) -> list[str]:
    return [entry.module for entry in report.reloaded]


# --- a cell with nothing to look at ------------------------------------------------------------


def test_an_idle_step_only_asks_the_watcher(
    sources: Sources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No import and no write since the last step: the step takes not even the interrupt
    guard (two ``sigaction`` calls). Polling looks at every file at every step, as always."""
    path = loaded_module(sources, "m", "1")
    guarded: list[bool] = []

    class CountingGuard(reloader_module.InterruptGuard):
        def __enter__(self) -> reloader_module.InterruptGuard:
            guarded.append(True)
            return super().__enter__()

    monkeypatch.setattr(reloader_module, "InterruptGuard", CountingGuard)
    polling = not sources.reloader._watcher.uses_inotify

    assert not sources.reload()
    assert len(guarded) == (1 if polling else 0)

    truncate_and_write(path, "VALUE = '2'\n")
    assert reloaded_names(sources.reload()) == [sources.name("m")]
    assert len(guarded) == (2 if polling else 1)


def test_a_module_imported_around_the_recorder_is_tracked_by_the_next_step(
    sources: Sources,
) -> None:
    """Loaded by hand (``spec_from_file_location``), not through the import system's finders:
    the step that follows finds it in ``sys.modules``, though it has nothing else to do."""
    loaded_module(sources, "m", "1")
    path = sources.write("by_hand.py", "VALUE = 1\n")
    spec = importlib.util.spec_from_file_location(sources.name("by_hand"), path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    sources.reload()

    truncate_and_write(path, "VALUE = 2\n")
    sources.reload()

    assert module.VALUE == 2


# --- ways an editor, a tool or a person saves a file ------------------------------------------


def truncate_and_write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def overwrite_in_place(path: Path, text: str) -> None:
    """Write over the old bytes without truncating first (same length here)."""
    with open(path, "r+b") as file:
        file.write(text.encode())


def append(path: Path, text: str) -> None:
    old = path.read_text(encoding="utf-8")
    assert text.startswith(old)
    with open(path, "a", encoding="utf-8") as file:
        file.write(text[len(old) :])


def rename_over(path: Path, text: str) -> None:
    """Editors' "safe write": a new file renamed over the old one."""
    temporary = path.with_name(path.name + ".swp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def delete_then_create(path: Path, text: str) -> None:
    path.unlink()
    path.write_text(text, encoding="utf-8")


def write_then_restore_old_mtime(path: Path, text: str) -> None:
    """``cp -p`` / ``tar x``: new bytes with an older modification time."""
    stat = path.stat()
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - 10_000_000_000))


def hard_link_swap(path: Path, text: str) -> None:
    """Write a new file elsewhere in the directory and hard-link it over the old name."""
    new = path.with_name(path.name + ".new")
    new.write_text(text, encoding="utf-8")
    backup = path.with_name(path.name + ".bak")
    os.link(path, backup)
    os.replace(new, path)


SAVES: list[Callable[[Path, str], None]] = [
    truncate_and_write,
    overwrite_in_place,
    append,
    rename_over,
    delete_then_create,
    write_then_restore_old_mtime,
    hard_link_swap,
]


@pytest.mark.parametrize("save", SAVES, ids=[save.__name__ for save in SAVES])
def test_every_kind_of_save_is_seen_by_the_next_reload(
    sources: Sources, save: Callable[[Path, str], None]
) -> None:
    path = loaded_module(sources, "m", "old")

    save(path, "VALUE = 'new'\n" if save is not append else "VALUE = 'old'\nVALUE = 'new'\n")
    report = sources.reload()

    assert reloaded_names(report) == [sources.name("m")]
    assert sources.value("m") == "new"


def test_same_size_edits_in_one_clock_tick_are_each_seen(sources: Sources) -> None:
    path = loaded_module(sources, "m", "v0")
    for version in ["v1", "v2", "v3", "v4"]:
        # Same length and usually the same mtime (the kernel's file clock is coarse): only the
        # bytes differ.
        truncate_and_write(path, f"VALUE = {version!r}\n")
        report = sources.reload()
        assert reloaded_names(report) == [sources.name("m")], version
        assert sources.value("m") == version


def test_edit_between_import_and_first_reload_is_seen(sources: Sources) -> None:
    path = sources.write("m.py", "VALUE = 'imported'\n")
    sources.import_("m")
    truncate_and_write(path, "VALUE = 'edited'\n")  # before the reloader ever looked

    report = sources.reload()

    assert reloaded_names(report) == [sources.name("m")]
    assert sources.value("m") == "edited"


def test_truncated_to_nothing_then_rewritten(sources: Sources) -> None:
    path = loaded_module(sources, "m", "old")

    with open(path, "r+b") as file:
        file.truncate(0)
    assert reloaded_names(sources.reload()) == [sources.name("m")]
    assert not hasattr(sys.modules[sources.name("m")], "VALUE")

    truncate_and_write(path, "VALUE = 'back'\n")
    assert reloaded_names(sources.reload()) == [sources.name("m")]
    assert sources.value("m") == "back"


def test_deleted_file_is_reported_missing_once_and_its_recreation_is_loaded(
    sources: Sources,
) -> None:
    path = loaded_module(sources, "m", "old")

    path.unlink()
    first = sources.reload()
    second = sources.reload()
    path.write_text("VALUE = 'recreated'\n", encoding="utf-8")
    third = sources.reload()

    assert [entry.module for entry in first.missing] == [sources.name("m")]
    assert not second
    assert reloaded_names(third) == [sources.name("m")]
    assert sources.value("m") == "recreated"


def test_change_found_but_interrupted_before_loading_is_loaded_next_time(
    sources: Sources,
) -> None:
    a, b = sources.name("a"), sources.name("b")
    a_path = sources.write("a.py", "VALUE = 'a'\n")
    b_path = sources.write("b.py", f"from {a} import VALUE as A\nVALUE = 'b'\n")
    sources.import_("b")
    assert not sources.reload()

    # The user interrupts while ``a`` (which goes first) runs: the step is abandoned.
    truncate_and_write(a_path, "import signal\nsignal.raise_signal(signal.SIGINT)\n")
    truncate_and_write(b_path, f"from {a} import VALUE as A\nVALUE = 'b2'\n")
    with pytest.raises(KeyboardInterrupt):
        sources.reload()
    assert sources.value("b") == "b"
    truncate_and_write(a_path, "VALUE = 'a'\n")  # back to the bytes that run

    report = sources.reload()

    assert reloaded_names(report) == [b]
    assert sources.value("b") == "b2"


def test_touch_without_new_bytes_reloads_nothing(sources: Sources) -> None:
    path = loaded_module(sources, "m", "same")

    os.utime(path)
    os.chmod(path, 0o644)

    assert not sources.reload()


def test_unrelated_files_in_the_directory_reload_nothing(sources: Sources) -> None:
    loaded_module(sources, "m", "same")

    (sources.entry / "notes.txt").write_text("hello", encoding="utf-8")
    (sources.entry / "notes.txt").unlink()

    assert not sources.reload()


# --- directories: renamed, deleted, re-created, re-pointed --------------------------------------


@pytest.fixture
def package_module(sources: Sources) -> Path:
    """``<prefix>pkg/sub/m.py`` (VALUE = 'old'), imported and tracked."""
    sources.write("pkg/__init__.py", "")
    sources.write("pkg/sub/__init__.py", "")
    path = sources.write("pkg/sub/m.py", "VALUE = 'old'\n")
    sources.import_("pkg.sub.m")
    assert not sources.reload()
    return path


def test_directory_renamed_away_and_replaced_by_a_new_one(
    sources: Sources, package_module: Path
) -> None:
    sub = package_module.parent
    sub.rename(sub.with_name("sub_old"))
    assert [entry.module for entry in sources.reload().missing] == [
        sources.name("pkg.sub"),
        sources.name("pkg.sub.m"),
    ]

    sub.mkdir()
    (sub / "__init__.py").write_text("", encoding="utf-8")
    package_module.write_text("VALUE = 'new directory'\n", encoding="utf-8")
    report = sources.reload()

    assert sources.name("pkg.sub.m") in reloaded_names(report)
    assert sources.value("pkg.sub.m") == "new directory"


def test_edit_in_the_renamed_directory_is_not_taken_for_the_module(
    sources: Sources, package_module: Path
) -> None:
    sub = package_module.parent
    moved = sub.with_name("sub_old")
    sub.rename(moved)
    sources.reload()
    shutil.copytree(moved, sub)
    assert not sources.reload().reloaded  # same bytes back at the path

    (moved / "m.py").write_text("VALUE = 'edited elsewhere'\n", encoding="utf-8")
    package_module.write_text("VALUE = 'edited here'\n", encoding="utf-8")
    report = sources.reload()

    assert reloaded_names(report) == [sources.name("pkg.sub.m")]
    assert sources.value("pkg.sub.m") == "edited here"


def test_directory_deleted_and_recreated(sources: Sources, package_module: Path) -> None:
    sub = package_module.parent
    shutil.rmtree(sub)
    assert sources.name("pkg.sub.m") in [entry.module for entry in sources.reload().missing]

    sub.mkdir()
    (sub / "__init__.py").write_text("", encoding="utf-8")
    package_module.write_text("VALUE = 'recreated'\n", encoding="utf-8")
    report = sources.reload()

    assert sources.name("pkg.sub.m") in reloaded_names(report)
    assert sources.value("pkg.sub.m") == "recreated"


def test_directory_renamed_away_and_back_then_edited(
    sources: Sources, package_module: Path
) -> None:
    sub = package_module.parent
    sub.rename(sub.with_name("sub_old"))
    sub.with_name("sub_old").rename(sub)
    assert not sources.reload().reloaded

    package_module.write_text("VALUE = 'after the round trip'\n", encoding="utf-8")
    report = sources.reload()

    assert reloaded_names(report) == [sources.name("pkg.sub.m")]
    assert sources.value("pkg.sub.m") == "after the round trip"


@pytest.mark.parametrize("poll", [False, True], ids=["inotify", "polling"])
def test_ancestor_of_the_path_entry_renamed_and_replaced(tmp_path: Path, poll: bool) -> None:
    """The files live under ``a/b``; ``a`` itself is renamed and a new ``a/b`` takes its place."""
    with started_sources(tmp_path, poll=poll, entry="a/b") as sources:
        path = loaded_module(sources, "m", "old")
        (tmp_path / "a").rename(tmp_path / "a_old")
        assert [entry.module for entry in sources.reload().missing] == [sources.name("m")]
        path.parent.mkdir(parents=True)
        path.write_text("VALUE = 'under a new ancestor'\n", encoding="utf-8")

        assert reloaded_names(sources.reload()) == [sources.name("m")]
        assert sources.value("m") == "under a new ancestor"
        (tmp_path / "a_old" / "b" / path.name).write_text("VALUE = 'moved'\n", encoding="utf-8")
        assert not sources.reload()
        assert sources.value("m") == "under a new ancestor"


@pytest.mark.parametrize("poll", [False, True], ids=["inotify", "polling"])
def test_symlinked_directory_repointed(tmp_path: Path, poll: bool) -> None:
    """``src/code`` is a symlink to ``v1``; it is atomically re-pointed to ``v2`` (a deploy)."""
    with started_sources(tmp_path, poll=poll) as sources:
        versions = [tmp_path / "v1", tmp_path / "v2"]
        for version in versions:
            version.mkdir()
            (version / "__init__.py").write_text("", encoding="utf-8")
            (version / "m.py").write_text(f"VALUE = {version.name!r}\n", encoding="utf-8")
        link = sources.path("code")
        link.symlink_to(versions[0])
        sources.import_("code.m")
        assert not sources.reload()

        new_link = link.with_name("new_link")
        new_link.symlink_to(versions[1])
        os.replace(new_link, link)
        report = sources.reload()

        assert reloaded_names(report) == [sources.name("code.m")]
        assert sources.value("code.m") == "v2"


# --- many files, and when the watcher cannot keep up --------------------------------------------


def test_two_hundred_modules_rewritten_at_once_reload_in_one_call(sources: Sources) -> None:
    paths = [loaded_module(sources, f"m{index}", "old") for index in range(200)]

    for path in paths:
        rename_over(path, "VALUE = 'new'\n")
    report = sources.reload()

    assert sorted(reloaded_names(report)) == sorted(sources.name(f"m{i}") for i in range(200))
    assert {sources.value(f"m{index}") for index in range(200)} == {"new"}


def max_queued_events() -> int:
    return int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())


@needs_inotify
def test_edit_lost_in_an_event_queue_overflow_is_still_seen(tmp_path: Path) -> None:
    if max_queued_events() > 70_000:
        pytest.skip("fs.inotify.max_queued_events is too large to overflow quickly")
    with started_sources(tmp_path, poll=False) as sources:
        path = loaded_module(sources, "m", "old")
        noise = sources.entry / "noise"
        for index in range(max_queued_events() + 10):
            os.close(os.open(f"{noise}{index}", os.O_CREAT | os.O_WRONLY, 0o644))
        truncate_and_write(path, "VALUE = 'after the overflow'\n")  # its event is dropped

        report = sources.reload()

        assert reloaded_names(report) == [sources.name("m")]
        assert sources.value("m") == "after the overflow"
        assert not sources.reload()


@needs_inotify
def test_directory_that_cannot_be_watched_is_polled_until_it_can(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real_add_watch = watch_module.Inotify.add_watch
    refused: set[str] = set()

    def add_watch(self: watch_module.Inotify, path: str, mask: int) -> int:
        if path in refused:
            raise OSError(errno.ENOSPC, "No space left on device (inotify watches)", path)
        return real_add_watch(self, path, mask)

    monkeypatch.setattr(watch_module.Inotify, "add_watch", add_watch)
    refused.add(str(tmp_path / "src"))
    with started_sources(tmp_path, poll=False) as sources:
        path = loaded_module(sources, "m", "old")
        assert sources.reloader._watcher.polled_files == [str(path)]

        truncate_and_write(path, "VALUE = 'polled'\n")
        assert reloaded_names(sources.reload()) == [sources.name("m")]

        refused.clear()  # watches free again: the next call watches the directory
        assert not sources.reload()
        assert sources.reloader._watcher.polled_files == []
        truncate_and_write(path, "VALUE = 'watched'\n")
        assert reloaded_names(sources.reload()) == [sources.name("m")]
        assert sources.value("m") == "watched"


@needs_inotify
def test_watcher_whose_descriptor_was_closed_behind_its_back_polls(tmp_path: Path) -> None:
    with started_sources(tmp_path, poll=False) as sources:
        path = loaded_module(sources, "m", "old")
        watcher = sources.reloader._watcher
        os.close(watcher._inotify.fd)  # e.g. a library closing every descriptor

        truncate_and_write(path, "VALUE = 'still seen'\n")
        report = sources.reload()

        assert reloaded_names(report) == [sources.name("m")]
        assert sources.value("m") == "still seen"
        assert not watcher.uses_inotify


def test_environment_variable_forces_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(watch_module.POLL_ENVIRONMENT_VARIABLE, "1")
    assert not FileWatcher().uses_inotify
    assert not FileWatcher(poll=True).uses_inotify


@needs_inotify
def test_network_filesystem_directories_are_polled(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    watched, remote = tmp_path / "local", tmp_path / "nfs"
    monkeypatch.setattr(watch_module, "_remote_mount_points", lambda: (str(remote),))
    watcher = FileWatcher(poll=False)
    for directory in (watched, remote):
        directory.mkdir()
        (directory / "m.py").write_text("", encoding="utf-8")
        watcher.add(str(directory / "m.py"))
    watcher.take_suspects()

    assert watcher.polled_files == [str(remote / "m.py")]
    assert watcher.take_suspects() == {str(remote / "m.py")}
    watcher.close()


def test_remote_filesystem_types_from_mountinfo() -> None:
    remote = ["nfs4", "cifs", "9p", "fuse.sshfs", "virtiofs", "smb3"]
    local = ["ext4", "xfs", "btrfs", "tmpfs", "overlay", "zfs"]
    assert [watch_module._is_remote_filesystem(kind) for kind in remote] == [True] * len(remote)
    assert [watch_module._is_remote_filesystem(kind) for kind in local] == [False] * len(local)


# --- the watcher itself: nothing to report when nothing changed, nothing kept when forgotten ----


@needs_inotify
def test_idle_watcher_names_no_suspects(tmp_path: Path) -> None:
    watcher = FileWatcher(poll=False)
    files = []
    for index in range(50):
        path = tmp_path / f"d{index % 5}" / f"m{index}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text("", encoding="utf-8")
        files.append(str(path))
        watcher.add(str(path))

    assert watcher.take_suspects() == set(files)  # each once: its watch is younger than it
    assert watcher.take_suspects() == set()
    (tmp_path / "d3" / "m13.py").write_text("x = 1", encoding="utf-8")
    assert watcher.take_suspects() == {str(tmp_path / "d3" / "m13.py")}
    watcher.close()


@needs_inotify
def test_events_beyond_one_read_are_all_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A queue holding more events than one read returns is read until it is empty."""
    monkeypatch.setattr(watch_module, "_READ_SIZE", 1024)  # (the largest event: 272 bytes)
    watcher = FileWatcher(poll=False)
    files = [tmp_path / f"module_with_a_long_name_{index:03d}.py" for index in range(60)]
    for path in files:
        path.write_text("", encoding="utf-8")
        watcher.add(str(path))
    watcher.take_suspects()

    for path in files:
        path.write_text("x = 1", encoding="utf-8")
    assert watcher.take_suspects() == {str(path) for path in files}
    watcher.close()


@needs_inotify
def test_a_file_is_saved_once_its_writer_closes_it_or_renames_it_into_place(
    tmp_path: Path,
) -> None:
    """What the compile-ahead thread waits for: a file still open for writing may hold half a
    version (an editor truncates it, then writes). It is a suspect all along."""
    path, other = tmp_path / "m.py", tmp_path / "n.py"
    path.write_text("x = 1", encoding="utf-8")
    other.write_text("y = 1", encoding="utf-8")
    watcher = FileWatcher(poll=False)
    watcher.add(str(path))
    watcher.add(str(other))
    watcher.take_suspects()

    with path.open("w", encoding="utf-8") as writer:
        writer.write("x = 2")
        writer.flush()
        assert (watcher.take_suspects(), watcher.saved) == ({str(path)}, set())
    assert (watcher.take_suspects(), watcher.saved) == ({str(path)}, {str(path)})
    assert (watcher.take_suspects(), watcher.saved) == (set(), set())

    replacement = tmp_path / "n.py.tmp"
    replacement.write_text("y = 2", encoding="utf-8")
    replacement.replace(other)
    path.chmod(0o600)  # (touched, not saved)
    assert (watcher.take_suspects(), watcher.saved) == ({str(path), str(other)}, {str(other)})
    watcher.close()


@needs_inotify
def test_events_taken_by_a_waiting_thread_are_still_news_to_the_next_look(
    tmp_path: Path,
) -> None:
    """The compile-ahead thread takes the queued events off the queue to learn whether a save
    ended; the watcher must not be quiet until it has handled them, and a save taken half way
    is whole news once it ends."""
    path = tmp_path / "m.py"
    path.write_text("x = 1", encoding="utf-8")
    watcher = FileWatcher(poll=False)
    watcher.add(str(path))
    watcher.take_suspects()

    with waiting_thread_descriptor(watcher) as (descriptor, inotify):
        with path.open("w", encoding="utf-8") as writer:
            writer.write("x = 2")
            writer.flush()
            assert not inotify.take_queued(descriptor)  # written, not saved yet
            assert not watcher.quiet()
        assert inotify.take_queued(descriptor)  # closed: the save ended
        assert not inotify.take_queued(descriptor)  # (nothing new since)
        assert not watcher.quiet()
        assert (watcher.take_suspects(), watcher.saved) == ({str(path)}, {str(path)})
        assert watcher.quiet()
        assert (watcher.take_suspects(), watcher.saved) == (set(), set())
    watcher.close()


@needs_inotify
def test_a_file_written_on_and_on_next_to_the_modules_has_its_events_handled_in_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log written line after line, never closed, in a watched folder: its events are taken
    while the notebook is idle, and must not pile up in memory until the next cell."""
    monkeypatch.setattr(watch_module, "_TAKEN_LIMIT", 1024)
    module = tmp_path / "m.py"
    module.write_text("x = 1", encoding="utf-8")
    watcher = FileWatcher(poll=False)
    watcher.add(str(module))
    watcher.take_suspects()

    answers = []
    with (
        waiting_thread_descriptor(watcher) as (descriptor, inotify),
        (tmp_path / "training.log").open("w", encoding="utf-8") as log,
    ):
        for step in range(200):
            log.write(f"step {step}\n")
            log.flush()
            answers.append(inotify.take_queued(descriptor))
    # (Each write queues one event of 32 bytes with this name: 32 of them pass the limit.)
    assert not any(answers[:30])
    assert any(answers)
    assert watcher.take_suspects() == set()
    watcher.close()


@needs_inotify
def test_events_taken_by_a_waiting_thread_keep_their_order(tmp_path: Path) -> None:
    """Events come out in the order they happened, whichever thread took them off the queue
    (a folder renamed away, then another made in its place, must be handled in that order)."""
    first, second = tmp_path / "first.py", tmp_path / "second.py"
    watcher = FileWatcher(poll=False)
    watcher.add(str(first))
    watcher.take_suspects()

    with waiting_thread_descriptor(watcher) as (descriptor, inotify):
        first.write_text("x = 1", encoding="utf-8")
        assert inotify.take_queued(descriptor)
        second.write_text("y = 1", encoding="utf-8")
        names = [name for _, _, name in inotify.read_events()]
    assert names[0] == "first.py" and names[-1] == "second.py"
    assert set(names) == {"first.py", "second.py"}
    watcher.close()


@needs_inotify
@pytest.mark.parametrize("changed", ["folder", "ancestor"])
def test_permissions_changed_on_a_directory_make_the_files_below_it_suspects(
    tmp_path: Path, changed: str
) -> None:
    """Taking away (or giving back) a directory's permissions changes whether its files can
    be read, though no file changed: a reader that read them before must read them again."""
    folder = tmp_path / "ancestor" / "folder"
    folder.mkdir(parents=True)
    module, other = folder / "m.py", tmp_path / "ancestor" / "elsewhere.txt"
    module.write_text("x = 1", encoding="utf-8")
    watcher = FileWatcher(poll=False)
    watcher.add(str(module))
    assert watcher.take_suspects() == {str(module)}

    other.write_text("unrelated", encoding="utf-8")
    other.chmod(0o600)  # (an ancestor's other entries do not matter)
    assert watcher.take_suspects() == set()
    directory = folder if changed == "folder" else folder.parent
    directory.chmod(0o700)
    try:
        assert watcher.take_suspects() == {str(module)}
    finally:
        directory.chmod(0o755)
        watcher.close()


@needs_inotify
def test_removed_files_leave_no_watches_behind(tmp_path: Path) -> None:
    watcher = FileWatcher(poll=False)
    paths = []
    for index in range(20):
        path = tmp_path / f"d{index}" / "m.py"
        path.parent.mkdir()
        path.write_text("", encoding="utf-8")
        paths.append(str(path))
        watcher.add(str(path))
    watcher.take_suspects()
    before = set(watcher._directories)

    for path in paths:
        watcher.remove(path)

    assert not set(watcher._directories) & {os.path.dirname(path) for path in paths}
    assert set(watcher._directories) < before
    assert watcher._paths_by_wd.keys() == {
        directory.wd for directory in watcher._directories.values()
    }
    watcher.close()
