"""What changed on disk since each module was loaded.

A file's *stamp* is its stat signature (mtime_ns, ctime_ns, size, inode). Any difference in the
stamp makes us read the file; only a difference in the bytes counts as a change. So a file
restored with an older mtime (``cp -p``, ``tar x``, ``git checkout``) is seen, and a save that
writes identical bytes is not.

Stamps alone cannot be trusted for a file written within the filesystem's timestamp
granularity of our last look: two same-size writes in one clock tick share a stamp. Like git's
"racily clean" index entries, a stamp taken less than ``RACY_WINDOW_NS`` after the file's mtime
is re-checked by content until the window has passed. This is what guarantees that no edit is
ever missed, whatever the filesystem's clock resolution.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import stat
import time
from typing import NamedTuple

#: Files modified this recently (relative to when we looked) are compared by content.
#: Two seconds covers filesystems with whole-second or two-second timestamps (FAT, some NFS).
RACY_WINDOW_NS = 2_000_000_000

#: How often to re-read a file that keeps changing while we read it before giving up.
_MAX_READ_ATTEMPTS = 5


class Stamp(NamedTuple):
    """A file's stat signature."""

    mtime_ns: int
    ctime_ns: int
    size: int
    inode: int

    @classmethod
    def of(cls, stat: os.stat_result) -> Stamp:
        return cls(stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size, stat.st_ino)


class SourceSnapshot(NamedTuple):
    """The bytes of a source file together with the stamp they were read under."""

    path: str
    data: bytes
    stamp: Stamp
    read_at_ns: int

    @property
    def is_racy(self) -> bool:
        """True when a later write could share this stamp (see the module docstring).

        The newer of mtime and ctime counts: a file restored with an old mtime (``cp -p``) has
        a fresh ctime, and on a filesystem with coarse timestamps a second restore within the
        same tick would otherwise leave every field of the stamp as it was.
        """
        newest_ns = max(self.stamp.mtime_ns, self.stamp.ctime_ns)
        return self.read_at_ns - newest_ns < RACY_WINDOW_NS


def stat_stamp(path: str) -> Stamp | None:
    """The file's stamp, or None when the file is gone."""
    try:
        return Stamp.of(os.stat(path))
    except (FileNotFoundError, NotADirectoryError):
        return None


def read_snapshot(path: str) -> SourceSnapshot:
    """Read a file so that the bytes returned match the stamp returned.

    The stamp is taken before and after reading, from the open file itself; if the file
    changed in between (an editor still writing it), read again. Raises OSError when the file
    cannot be read.
    """
    for _attempt in range(_MAX_READ_ATTEMPTS):
        read_at_ns = time.time_ns()
        before, data, after = _read_regular_file(path)
        if before == after:
            return SourceSnapshot(path, data, before, read_at_ns)
    # Still changing: return what we have under the *older* stamp so the next look re-reads.
    return SourceSnapshot(path, data, before, read_at_ns)


#: ``O_NONBLOCK``: opening a FIFO that has no writer would otherwise block forever, and the
#: kernel with it. It changes nothing for regular files.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def _read_regular_file(path: str) -> tuple[Stamp, bytes, Stamp]:
    """The file's stamp, its bytes, and its stamp after reading them; OSError("not a regular
    file") for a directory, FIFO, device...

    Both stamps are of the file opened (a file renamed over the path meanwhile is the next
    look's news: its stamp differs, and the watcher reports the rename)."""
    descriptor = os.open(path, _OPEN_FLAGS)
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        # One byte more than its size is asked for: getting fewer means the end was reached.
        data = os.read(descriptor, status.st_size + 1)
        if len(data) > status.st_size:
            chunks = [data]  # it grew since (or says size 0, as /proc files do): read to the end
            while chunk := os.read(descriptor, 1 << 16):
                chunks.append(chunk)
            data = b"".join(chunks)
        return Stamp.of(status), data, Stamp.of(os.fstat(descriptor))
    finally:
        os.close(descriptor)


class FileState:
    """What the reloader knows about one tracked file: what is loaded, what failed."""

    __slots__ = ("_verified_stamp", "failed_data", "loaded", "reported_problem")

    def __init__(self, loaded: SourceSnapshot) -> None:
        self.loaded = loaded
        self.failed_data: bytes | None = None
        """The bytes of the newest version that failed to load: retried only once they change."""
        self.reported_problem: str | None = None
        """The last problem shown for this file, so that each problem is shown once."""
        self._verified_stamp: Stamp | None = None if loaded.is_racy else loaded.stamp

    def __copy__(self) -> FileState:
        # (``copy.copy`` would otherwise take the pickling road, through ``copyreg``: a few
        # times slower, in every reload.)
        twin = FileState.__new__(FileState)
        twin.loaded = self.loaded
        twin.failed_data = self.failed_data
        twin.reported_problem = self.reported_problem
        twin._verified_stamp = self._verified_stamp
        return twin

    def mark_loaded(self, snapshot: SourceSnapshot) -> None:
        self.loaded = snapshot
        self.failed_data = None
        self.reported_problem = None
        self._verified_stamp = None if snapshot.is_racy else snapshot.stamp

    def stamp_is_trusted(self, stamp: Stamp) -> bool:
        """True when ``stamp`` proves the file still holds the loaded bytes."""
        return stamp == self._verified_stamp

    def confirm_unchanged(self, snapshot: SourceSnapshot) -> None:
        """The file was read again and still holds the loaded bytes."""
        if not snapshot.is_racy:
            self._verified_stamp = snapshot.stamp


def decode_source(data: bytes) -> str:
    """The text Python compiles from a source file's bytes, as ``importlib.util.decode_source``
    makes it (a coding cookie honoured, line ends made ``\\n``; raises what it raises).

    Most files are ASCII, name no encoding and end lines with ``\\n``: their text is their
    bytes, found without tokenize's search for a cookie (some 20 µs of Python a module).
    """
    if data.isascii() and b"\r" not in data and b"coding" not in data:
        return data.decode("ascii")
    return importlib.util.decode_source(data)
