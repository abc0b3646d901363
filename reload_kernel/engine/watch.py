"""Which tracked files may have changed since the reloader last looked: O(1) when nothing did.

Polling every tracked file before every cell costs a ``stat`` per file (a few µs each: 0.1 s per
cell at 20,000 modules). On Linux, ``FileWatcher`` asks the kernel instead, through inotify
(called with ctypes: no dependency). inotify queues an event synchronously inside the system
call that changed the file, before that call returns to the writer. So a non-blocking read of
the queue at the start of a cell sees every write that completed before the cell was sent: the
guarantee "an edit saved before a cell is seen by that cell" holds without any debounce, and a
cell with no edit costs one ``read`` that returns EAGAIN.

How the guarantee is kept in every corner:

- A watch only reports what happens after it exists. Whenever a directory's watch is (re)made,
  every tracked file in it is reported once as a *suspect*, so the reloader compares it with
  what was loaded after the watch is in place; from then on, events cover it.
- The directory of every tracked file is watched for changes to its entries (write, truncate,
  attribute change, create, delete, rename in or out). Every ancestor directory is watched for
  entry changes too: renaming, deleting or re-creating any directory on a file's path (or
  re-pointing a symlink on it) is seen, and the watches below it are made again by path.
- When the event queue overflows, every watch is made again by path and every file is a suspect.
- Files in directories that cannot be watched (no inotify on this platform, the watch limit
  reached, a directory that does not exist at the moment) are polled: reported as suspects at
  every call, while their watch is retried.
- Network and host-shared filesystems (NFS, SMB/CIFS, 9p as used by WSL for Windows drives,
  virtiofs, FUSE such as sshfs, VirtualBox/VMware/Parallels shared folders) do not report
  writes made by other machines: files on them are always polled. ``RELOAD_KERNEL_POLL=1`` in
  the environment (or ``FileWatcher(poll=True)``) polls everything.

Known limit: a write made through a hard link that lives in another directory is not reported
by a watch on this file's directory (inotify reports changes per directory entry).

The reloader decides what a suspect's change is (stamps, racy stamps and contents, see
``detect``); this module only decides which files need that look. It is not thread-safe: the
``Reloader`` calls it under its lock. One exception: a thread waiting for saves (the reloader's
ahead thread) may take the queued events off an ``Inotify`` (``take_queued``) at any time, to
learn whether a save ended; they are handled at the next ``take_suspects``, in order.
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import struct
import sys
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field

#: Set to 1/true/yes to poll every file instead of using inotify (e.g. sources on NFS).
POLL_ENVIRONMENT_VARIABLE = "RELOAD_KERNEL_POLL"

# inotify event bits, from <sys/inotify.h> (the same on every Linux architecture).
IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_UNMOUNT = 0x00002000
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_MASK_ADD = 0x20000000

_ENTRY_CHANGES = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO
_SELF_GONE = IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED
#: For a directory holding tracked files: any change to a file in it.
_FILES_MASK = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | _ENTRY_CHANGES | IN_ONLYDIR
#: For an ancestor of such a directory: only its entries appearing, vanishing or being renamed.
_PATH_MASK = _ENTRY_CHANGES | IN_ONLYDIR
#: For every watched directory: itself gone, or its permissions (or owner) changed, which may
#: change whether the files below it can be read.
_SELF_MASK = IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB
#: What ends a save: the writer closed the file, or renamed the new version into place.
_SAVE_FINISHED = IN_CLOSE_WRITE | IN_MOVED_TO

_EVENT_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len; then `len` bytes of name
_READ_SIZE = 256 * 1024
#: Events taken off the queue wait for the next look, in memory; past this many bytes of them
#: (a log or a data file next to the modules, written on and on while the notebook is idle),
#: the thread that took them is told to have them handled (a few thousand events).
_TAKEN_LIMIT = 64 * 1024

#: Filesystem types whose files can change without a local system call (mountinfo names).
_REMOTE_FILESYSTEMS = frozenset(
    {
        "9p",
        "afs",
        "beegfs",
        "ceph",
        "cifs",
        "coda",
        "davfs",
        "drvfs",
        "glusterfs",
        "gpfs",
        "lustre",
        "ncpfs",
        "nfs",
        "nfs4",
        "prl_fs",
        "smb3",
        "smbfs",
        "vboxsf",
        "virtiofs",
        "vmhgfs",
    }
)


def poll_requested() -> bool:
    """True when the environment asks for polling instead of inotify."""
    value = os.environ.get(POLL_ENVIRONMENT_VARIABLE, "").strip().lower()
    return value in {"1", "true", "yes", "on"}


class Inotify:
    """A non-blocking inotify instance (Linux), through libc with ctypes."""

    def __init__(self) -> None:
        libc = _libc()
        self._add = libc.inotify_add_watch
        self._add.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self._add.restype = ctypes.c_int
        self._remove = libc.inotify_rm_watch
        self._remove.argtypes = [ctypes.c_int, ctypes.c_int]
        self._remove.restype = ctypes.c_int
        init = libc.inotify_init1
        init.argtypes = [ctypes.c_int]
        init.restype = ctypes.c_int
        self.fd = init(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise _os_error("inotify_init1")
        # Instances are few (fs.inotify.max_user_instances, often 128 per user): never leak one.
        self._finalizer = weakref.finalize(self, os.close, self.fd)
        # Asking whether anything is queued costs a quarter of a read failing with EAGAIN.
        self._poller = select.poll()
        self._poller.register(self.fd, select.POLLIN)
        self._taken: list[bytes] = []
        """Events another thread took off the queue (``take_queued``), not handled yet."""
        self._taken_size = 0
        self._queue_lock = threading.Lock()
        """Held while events move off the queue: ``_taken`` then holds all that left it."""

    def add_watch(self, path: str, mask: int) -> int:
        """Watch ``path`` (following symlinks); returns the watch descriptor of its inode."""
        wd: int = self._add(self.fd, os.fsencode(path), mask)
        if wd < 0:
            raise _os_error(path)
        return wd

    def remove_watch(self, wd: int) -> None:
        self._remove(self.fd, wd)  # EINVAL when the kernel already dropped it: fine

    def read_events(self) -> Iterator[tuple[int, int, str]]:
        """Every queued event as (wd, mask, name), those ``take_queued`` took first; returns at
        once when there is none."""
        with self._queue_lock:
            buffers, self._taken, self._taken_size = self._taken, [], 0
            if self._poller.poll(0):
                buffers.extend(_read_queue(self.fd))
        for buffer in buffers:
            for wd, mask, name in _events_in(buffer):
                yield wd, mask, os.fsdecode(name)

    def has_events(self) -> bool:
        """Whether an event is queued or taken but not read (one ``poll``, never blocking)."""
        with self._queue_lock:  # (else an event in the middle of moving would be missed)
            return bool(self._taken) or bool(self._poller.poll(0))

    def take_queued(self, descriptor: int) -> bool:
        """From another thread: take the events queued now, through ``descriptor`` (a duplicate
        of ours, owned by that thread), for ``read_events`` to give later. Whether the caller
        should read them now: one of them may end a save (see ``_SAVE_FINISHED``: else there
        is nothing whole to read yet), or too many wait (``_TAKEN_LIMIT``).

        An editor's save wakes a waiting thread at its first write: taking those events costs
        a tenth of handling them, which waits for the event that ends the save.
        """
        if self.fd < 0:
            return True  # closed or abandoned: the caller must find out
        with self._queue_lock:
            buffers = _read_queue(descriptor)
            self._taken.extend(buffers)
            self._taken_size += sum(map(len, buffers))
            too_many = self._taken_size > _TAKEN_LIMIT
        return too_many or any(
            mask & _SAVE_FINISHED for buffer in buffers for _, mask, _ in _events_in(buffer)
        )

    def close(self) -> None:
        self._finalizer()
        self.fd = -1

    def abandon(self) -> None:
        """Forget the descriptor without closing it: its number may belong to a file that
        someone else opened since ours was closed."""
        self._finalizer.detach()
        self.fd = -1


def _read_queue(descriptor: int) -> list[bytes]:
    """Everything queued on a non-blocking inotify descriptor, read to the end."""
    buffers = []
    while True:
        try:
            buffers.append(os.read(descriptor, _READ_SIZE))
        except BlockingIOError:
            return buffers


def _events_in(buffer: bytes) -> Iterator[tuple[int, int, bytes]]:
    """The events a read returned, as (wd, mask, name): a read returns whole events only."""
    offset = 0
    while offset < len(buffer):
        wd, mask, _cookie, length = _EVENT_HEADER.unpack_from(buffer, offset)
        offset += _EVENT_HEADER.size
        yield wd, mask, buffer[offset : offset + length].rstrip(b"\0")
        offset += length


def _libc() -> ctypes.CDLL:
    if not sys.platform.startswith("linux"):
        raise OSError(errno.ENOSYS, "inotify is Linux only")
    # The interpreter's own symbols include libc's. (ctypes.util.find_library would cost a
    # ``ldconfig -p`` subprocess and ~0.1 s of imports at every kernel start.)
    return ctypes.CDLL(None, use_errno=True)


def _os_error(what: str) -> OSError:
    number = ctypes.get_errno()
    return OSError(number, os.strerror(number), what)


@dataclass
class _Directory:
    """A directory on the path of at least one tracked file."""

    path: str
    files: set[str] = field(default_factory=set)
    """Names of the tracked files directly in it."""
    children: set[str] = field(default_factory=set)
    """Names of its subdirectories that are on the path of tracked files."""
    wd: int | None = None
    """The inotify watch on the directory its path named when last watched."""


class FileWatcher:
    """Tracks files; ``take_suspects()`` names those that may have changed since its last call.

    ``poll``: True polls every file; False uses inotify where possible; None (the default)
    reads ``RELOAD_KERNEL_POLL`` from the environment.
    """

    def __init__(self, *, poll: bool | None = None) -> None:
        self._files: dict[str, str] = {}  # tracked file → its directory
        self._directories: dict[str, _Directory] = {}
        self._paths_by_wd: dict[int, set[str]] = {}
        self._unwatched: set[str] = set()  # directories whose watch must be (re)made by path
        self._remote: set[str] = set()  # directories on filesystems inotify cannot see
        self._suspects: set[str] = set()
        self._saving_finished: set[str] = set()
        self.saved: set[str] = set()
        """Of the suspects the last ``take_suspects()`` named, the files whose save finished
        since the call before (the writer closed the file, or renamed it into place): they
        hold a whole version. A file still open for writing, or only polled, is not in it."""
        self._remote_roots: tuple[str, ...] | None = None
        self._inotify: Inotify | None = None
        self.closed = False
        if not (poll_requested() if poll is None else poll):
            try:
                self._inotify = Inotify()
            except (OSError, AttributeError):
                self._inotify = None  # not Linux, or no instance left (fs.inotify limits)

    @property
    def uses_inotify(self) -> bool:
        return self._inotify is not None

    @property
    def polled_files(self) -> list[str]:
        """Tracked files checked at every call because no watch covers them now."""
        if self._inotify is None:
            return list(self._files)
        polled_directories = self._unwatched | self._remote
        return [path for path, directory in self._files.items() if directory in polled_directories]

    def close(self) -> None:
        """Release the inotify instance; the watcher polls from now on."""
        self.closed = True
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None

    def events_descriptor(self) -> tuple[int, Inotify] | None:
        """For a thread that waits for writes: a descriptor that polls readable when events
        are queued (a duplicate of the inotify one, which the caller must close), and the
        inotify instance, for its ``take_queued`` and for ``delivers_to``. None while polling."""
        if self._inotify is None:
            return None
        return os.dup(self._inotify.fd), self._inotify

    def delivers_to(self, inotify: Inotify) -> bool:
        """Whether events still reach the descriptor ``events_descriptor`` gave with
        ``inotify``; once not, waiting on it would never wake (or never stop waking)."""
        return self._inotify is not None and self._inotify is inotify

    # --- what is tracked ------------------------------------------------------------------

    def add(self, path: str) -> None:
        """Track a file. It is a suspect at the next call (its watch may be younger than it)."""
        self._suspects.add(path)
        if path in self._files:
            return
        directory_path = self._files[path] = os.path.dirname(path)
        if self._inotify is None:
            return
        directory = self._ensure_directory(directory_path)
        widen = not directory.files
        directory.files.add(os.path.basename(path))
        if widen and directory_path not in self._remote:
            self._establish(directory)  # only an ancestor until now: add the file events

    def remove(self, path: str) -> None:
        """Stop tracking a file."""
        directory_path = self._files.pop(path, None)
        self._suspects.discard(path)
        self._saving_finished.discard(path)
        if directory_path is None or self._inotify is None:
            return
        directory = self._directories.get(directory_path)
        if directory is not None:
            directory.files.discard(os.path.basename(path))
            self._prune(directory)

    # --- what may have changed ------------------------------------------------------------

    def quiet(self) -> bool:
        """True when ``take_suspects()`` would name no file now: every directory is watched by
        inotify, no file is a suspect yet, and no event is queued (one system call)."""
        if self._inotify is None or self._suspects or self._unwatched or self._remote:
            return False
        return not self._inotify.has_events()

    def take_suspects(self) -> set[str]:
        """Tracked files to compare with what was loaded: every file that a write completed
        before this call may have changed since the previous call (and perhaps a few more)."""
        self.saved = set()
        if self._inotify is None:
            self._suspects.clear()
            return set(self._files)
        try:
            for wd, mask, name in self._inotify.read_events():
                self._handle(wd, mask, name)
        except OSError:
            # The descriptor was closed behind our back (a library closing every file
            # descriptor...): watch nothing, poll everything from now on.
            self._inotify.abandon()
            self._inotify = None
            self._suspects.clear()
            self._saving_finished.clear()
            return set(self._files)
        if self._unwatched:
            self._retry_unwatched()
        for directory_path in self._remote:
            self._suspect_files_of(self._directories[directory_path])
        suspects, self._suspects = self._suspects, set()
        self.saved, self._saving_finished = self._saving_finished, set()
        return suspects

    def _handle(self, wd: int, mask: int, name: str) -> None:
        if mask & IN_Q_OVERFLOW:
            # Events were dropped: nothing the watches said since the last call can be trusted.
            for every in self._directories.values():
                if every.path not in self._remote:
                    self._unwatched.add(every.path)
                self._suspect_files_of(every)
            return
        for directory_path in list(self._paths_by_wd.get(wd, ())):
            directory = self._directories.get(directory_path)
            if directory is None:
                continue
            if mask & _SELF_GONE:
                self._lose(directory)
            elif not name:  # (IN_ATTRIB of the directory itself)
                for below in self._subtree(directory):
                    self._suspect_files_of(below)
            elif name in directory.files:
                path = os.path.join(directory_path, name)
                self._suspects.add(path)
                if mask & _SAVE_FINISHED:
                    self._saving_finished.add(path)
            elif name in directory.children and mask & _ENTRY_CHANGES:
                # A directory on tracked paths appeared, vanished or was renamed: its path
                # may name another directory now, or nothing.
                child = self._directories.get(os.path.join(directory_path, name))
                if child is not None:
                    self._lose(child)

    # --- watches --------------------------------------------------------------------------

    def _ensure_directory(self, path: str) -> _Directory:
        directory = self._directories.get(path)
        if directory is not None:
            return directory
        directory = self._directories[path] = _Directory(path)
        parent_path = os.path.dirname(path)
        if parent_path != path:
            self._ensure_directory(parent_path).children.add(os.path.basename(path))
        if self._is_remote(path):
            self._remote.add(path)
        else:
            self._establish(directory)
        return directory

    def _establish(self, directory: _Directory) -> None:
        """Watch what the directory's path names now. When that is not the directory watched
        before (or nothing was), its files become suspects: the new watch is younger."""
        assert self._inotify is not None
        # IN_MASK_ADD: a directory reached by two paths (symlinks) keeps both paths' events.
        mask = (_FILES_MASK if directory.files else _PATH_MASK) | _SELF_MASK | IN_MASK_ADD
        try:
            wd = self._inotify.add_watch(directory.path, mask)
        except OSError:
            # Gone for now, or out of watches: its files are polled until a retry succeeds.
            self._unwatch(directory)
            self._unwatched.add(directory.path)
            self._suspect_files_of(directory)
            return
        self._unwatched.discard(directory.path)
        if wd == directory.wd:
            return  # the same directory: the watch never stopped
        self._unwatch(directory)
        directory.wd = wd
        self._paths_by_wd.setdefault(wd, set()).add(directory.path)
        self._suspect_files_of(directory)

    def _unwatch(self, directory: _Directory) -> None:
        if directory.wd is None:
            return
        paths = self._paths_by_wd.get(directory.wd, set())
        paths.discard(directory.path)
        if not paths:
            # Drop the watch, so that its inode (perhaps elsewhere now) reports nothing more.
            self._paths_by_wd.pop(directory.wd, None)
            assert self._inotify is not None
            self._inotify.remove_watch(directory.wd)
        directory.wd = None

    def _lose(self, directory: _Directory) -> None:
        """The directory's path may name another directory now, and so may every path below
        it: watch them again by path (parents first) before this call returns."""
        for lost in self._subtree(directory):
            if lost.path not in self._remote:
                self._unwatched.add(lost.path)
            self._suspect_files_of(lost)

    def _retry_unwatched(self) -> None:
        for path in sorted(self._unwatched, key=len):
            directory = self._directories.get(path)
            if directory is None:
                self._unwatched.discard(path)
            else:
                self._establish(directory)
        for path in self._unwatched:
            self._suspect_files_of(self._directories[path])

    def _suspect_files_of(self, directory: _Directory) -> None:
        self._suspects.update(os.path.join(directory.path, name) for name in directory.files)

    def _subtree(self, directory: _Directory) -> Iterator[_Directory]:
        pending = [directory]
        while pending:
            current = pending.pop()
            yield current
            for name in current.children:
                child = self._directories.get(os.path.join(current.path, name))
                if child is not None:
                    pending.append(child)

    def _prune(self, directory: _Directory) -> None:
        """Forget directories no longer on any tracked file's path (and their watches)."""
        while not directory.files and not directory.children:
            self._unwatch(directory)
            self._unwatched.discard(directory.path)
            self._remote.discard(directory.path)
            del self._directories[directory.path]
            parent = self._directories.get(os.path.dirname(directory.path))
            if parent is None or parent is directory:
                return
            parent.children.discard(os.path.basename(directory.path))
            directory = parent

    # --- filesystems ----------------------------------------------------------------------

    def _is_remote(self, path: str) -> bool:
        if self._remote_roots is None:
            self._remote_roots = _remote_mount_points()
        if not self._remote_roots:
            return False
        real = os.path.realpath(path)
        return any(
            real == root or real.startswith(root.rstrip("/") + "/") for root in self._remote_roots
        )


def _remote_mount_points() -> tuple[str, ...]:
    """Mount points of network and host-shared filesystems, from /proc/self/mountinfo."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as mounts:
            lines = mounts.read().splitlines()
    except OSError:
        return ()
    types_by_mount_point: dict[str, str] = {}
    for line in lines:
        fields, _, after = line.partition(" - ")
        parts = fields.split()
        if len(parts) < 5 or not after:
            continue
        mount_point = _unescape_mount_path(parts[4])
        # A later line at the same mount point is mounted over the earlier one.
        types_by_mount_point.pop(mount_point, None)
        types_by_mount_point[mount_point] = after.split()[0]
    return tuple(
        mount_point
        for mount_point, filesystem in types_by_mount_point.items()
        if _is_remote_filesystem(filesystem)
    )


def _is_remote_filesystem(filesystem: str) -> bool:
    # FUSE covers sshfs, rclone, Docker Desktop's grpcfuse...: writes may come from elsewhere.
    return filesystem in _REMOTE_FILESYSTEMS or filesystem.startswith("fuse")


def _unescape_mount_path(text: str) -> str:
    """mountinfo writes space, tab, newline and backslash in octal (``\\040``)."""
    if "\\" not in text:
        return text
    return text.encode().decode("unicode_escape").encode("latin-1").decode(errors="surrogateescape")
