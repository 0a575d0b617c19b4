"""Writing files so that an interrupted write never leaves one that looks complete, and
locks between processes.

Each file is written under a temporary name of its own next to it (``mkstemp``: unique per
process and thread), flushed to disk and renamed (``os.replace``, atomic on one file system);
a folder written file by file gets a completion marker last. :func:`file_lock` holds an
``flock`` on a lock file: the kernel releases it when its process ends, however it ends.
"""
import fcntl
import json
import os
import os.path as osp
import tempfile
import time
from contextlib import contextmanager
from typing import Any, Iterator, Optional

#: The file that marks a generated folder as complete.
COMPLETE = '.complete.json'


def fsync_path(path: str) -> None:
    """Flush ``path`` (a file or a folder) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str, mode: int = 0o644) -> Iterator[str]:
    """A temporary path to write ``path`` to, unique to this call: flushed to disk and
    renamed to ``path`` (with permissions ``mode``) when the block ends, removed when it
    raises."""
    folder, name = osp.split(osp.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{name}.', suffix='.part')
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, mode)
        fsync_path(tmp)
        os.replace(tmp, path)
        fsync_path(folder)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


@contextmanager
def file_lock(path: str, timeout: Optional[float] = None, poll: float = 0.1) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (created if needed) inside the block;
    waits for another process that holds it, at most ``timeout`` seconds (``TimeoutError``
    naming the file), or as long as it takes."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError(f'{path} stayed locked by another process for '
                                       f'{timeout:g} s') from None
                time.sleep(poll)
        yield
    finally:
        os.close(fd)  # releases the lock


def write_bytes(path: str, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    with atomic_path(path) as tmp, open(tmp, 'wb') as f:
        f.write(data)
    return path


def write_json(path: str, obj: Any) -> str:
    """Write ``obj`` as JSON to ``path`` atomically; returns ``path``."""
    return write_bytes(path, json.dumps(obj).encode())


def mark_incomplete(root: str) -> None:
    """Remove the completion marker of ``root`` (before writing into it)."""
    if osp.exists(osp.join(root, COMPLETE)):
        os.remove(osp.join(root, COMPLETE))


def mark_complete(root: str, **info: Any) -> None:
    """Write the completion marker of ``root`` (last), with ``info`` (what was generated)."""
    write_json(osp.join(root, COMPLETE), info)


def is_complete(root: str) -> bool:
    """Whether a generation of ``root`` finished (its marker exists)."""
    return osp.isfile(osp.join(root, COMPLETE))


def is_inside(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or below it, links resolved."""
    path, folder = osp.realpath(path), osp.realpath(folder)
    return osp.commonpath([path, folder]) == folder
